//! Tables of products, the organisation, numbering, quotes, agreements, orders, payments, shipments, invoices.

use super::Uuid;

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    products (id) {
        id -> Uuid,
        sku -> Text,
        name -> Text,
        unit -> Text,
        price_minor -> BigInt,
        currency -> Text,
        vat_rate -> Text,
        price_includes_vat -> Bool,
        active -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    organization_settings (id) {
        id -> Integer,
        name -> Text,
        tax_id -> Nullable<Text>,
        kpp -> Nullable<Text>,
        bank -> Nullable<Text>,
        bik -> Nullable<Text>,
        account -> Nullable<Text>,
        correspondent_account -> Nullable<Text>,
        address -> Nullable<Text>,
        version -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    document_numbers (kind, year) {
        kind -> Text,
        year -> Integer,
        last_number -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    orders (id) {
        id -> Uuid,
        number -> Text,
        interest_id -> Uuid,
        status -> Text,
        currency -> Text,
        net_minor -> BigInt,
        vat_minor -> BigInt,
        total_minor -> BigInt,
        paid_minor -> BigInt,
        confirmed_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        quote_id -> Nullable<Uuid>,
        agreement_id -> Nullable<Uuid>,
        issued_snapshot -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    order_lines (id) {
        id -> Uuid,
        order_id -> Uuid,
        position -> Integer,
        product_id -> Nullable<Uuid>,
        description -> Text,
        quantity -> BigInt,
        unit_price_minor -> BigInt,
        discount_bp -> Integer,
        vat_rate -> Text,
        price_includes_vat -> Bool,
        net_minor -> BigInt,
        vat_minor -> BigInt,
        total_minor -> BigInt,
        shipped_quantity -> BigInt,
        quote_line_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    payments (id) {
        id -> Uuid,
        order_id -> Uuid,
        amount_minor -> BigInt,
        paid_on -> Timestamp,
        external_ref -> Nullable<Text>,
        payer -> Nullable<Text>,
        comment -> Nullable<Text>,
        status -> Text,
        overpaid -> Bool,
        created_by -> Nullable<Uuid>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    shipments (id) {
        id -> Uuid,
        number -> Text,
        order_id -> Uuid,
        kind -> Text,
        shipped_on -> Timestamp,
        status -> Text,
        route_sheet -> Nullable<Text>,
        notes -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    shipment_lines (id) {
        id -> Uuid,
        shipment_id -> Uuid,
        order_line_id -> Uuid,
        quantity -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    quotes (id) {
        id -> Uuid,
        number -> Text,
        interest_id -> Uuid,
        status -> Text,
        currency -> Text,
        valid_until -> Timestamp,
        comment -> Nullable<Text>,
        approved_variant_id -> Nullable<Uuid>,
        decided_at -> Nullable<Timestamp>,
        created_by -> Nullable<Uuid>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    quote_variants (id) {
        id -> Uuid,
        quote_id -> Uuid,
        position -> Integer,
        name -> Text,
        net_minor -> BigInt,
        vat_minor -> BigInt,
        total_minor -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    quote_lines (id) {
        id -> Uuid,
        variant_id -> Uuid,
        position -> Integer,
        product_id -> Nullable<Uuid>,
        description -> Text,
        quantity -> BigInt,
        unit_price_minor -> BigInt,
        discount_bp -> Integer,
        vat_rate -> Text,
        price_includes_vat -> Bool,
        net_minor -> BigInt,
        vat_minor -> BigInt,
        total_minor -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    agreements (id) {
        id -> Uuid,
        number -> Text,
        client_id -> Uuid,
        title -> Text,
        signed_on -> Timestamp,
        valid_until -> Nullable<Timestamp>,
        currency -> Text,
        payment_terms -> Text,
        status -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    order_instalments (id) {
        id -> Uuid,
        order_id -> Uuid,
        position -> Integer,
        amount_minor -> BigInt,
        due_trigger -> Text,
        days_offset -> Integer,
        due_on -> Nullable<Timestamp>,
        due_checked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    invoice_sendings (id) {
        id -> Uuid,
        order_id -> Uuid,
        recipient -> Text,
        status -> Text,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        message_id -> Nullable<Text>,
        requested_by -> Nullable<Uuid>,
        sent_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    related_documents (id) {
        id -> Uuid,
        order_id -> Uuid,
        kind -> Text,
        number -> Text,
        document_date -> Timestamp,
        status -> Text,
        amount_minor -> Nullable<BigInt>,
        external_id -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}
