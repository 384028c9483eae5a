//! Table definitions shared by both backends (kept in step with `migrations/`).

pub use crate::types::SqlUuid as Uuid;

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    departments (id) {
        id -> Uuid,
        name -> Text,
        name_key -> Text,
        head_id -> Nullable<Uuid>,
        parent_id -> Nullable<Uuid>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    users (id) {
        id -> Uuid,
        email -> Text,
        name -> Text,
        role -> Text,
        department_id -> Nullable<Uuid>,
        time_zone -> Text,
        active -> Bool,
        password_hash -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        default_service_type -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    refresh_tokens (id) {
        id -> Uuid,
        session_id -> Uuid,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    api_keys (id) {
        id -> Uuid,
        name -> Text,
        prefix -> Text,
        secret_hash -> Text,
        scopes -> Text,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    login_attempts (id) {
        id -> Uuid,
        email -> Text,
        address -> Text,
        succeeded -> Bool,
        attempted_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    outbox_events (id) {
        id -> Uuid,
        kind -> Text,
        entity_type -> Text,
        entity_id -> Uuid,
        payload -> Text,
        occurred_at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    idempotency_keys (id) {
        id -> Uuid,
        principal -> Text,
        idem_key -> Text,
        request_hash -> Text,
        state -> Text,
        response_status -> Nullable<Integer>,
        response_headers -> Nullable<Text>,
        response_body -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    scenarios (id) {
        id -> Uuid,
        name -> Text,
        name_key -> Text,
        definition -> Text,
        is_default -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    loss_reasons (id) {
        id -> Uuid,
        name -> Text,
        name_key -> Text,
        active -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    interests (id) {
        id -> Uuid,
        scenario_id -> Uuid,
        stage -> Text,
        state -> Text,
        pending_stage -> Nullable<Text>,
        title -> Text,
        potential_minor -> Nullable<BigInt>,
        currency -> Text,
        service_type -> Nullable<Text>,
        client_id -> Nullable<Uuid>,
        contact_id -> Nullable<Uuid>,
        responsible_id -> Uuid,
        loss_reason_id -> Nullable<Uuid>,
        loss_comment -> Nullable<Text>,
        loss_approver_id -> Nullable<Uuid>,
        stage_entered_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    interactions (id) {
        id -> Uuid,
        interest_id -> Uuid,
        kind -> Text,
        status -> Text,
        subject -> Text,
        planned_at -> Nullable<Timestamp>,
        completed_at -> Nullable<Timestamp>,
        result -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    tasks (id) {
        id -> Uuid,
        interest_id -> Nullable<Uuid>,
        title -> Text,
        task_kind -> Text,
        assignee_id -> Uuid,
        due_at -> Timestamp,
        status -> Text,
        rule_stage -> Nullable<Text>,
        rule -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        completed_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    notifications (id) {
        id -> Uuid,
        user_id -> Uuid,
        interest_id -> Nullable<Uuid>,
        text -> Text,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    timeline_entries (id) {
        id -> Uuid,
        interest_id -> Uuid,
        kind -> Text,
        actor_kind -> Text,
        actor_id -> Nullable<Uuid>,
        occurred_at -> Timestamp,
        summary -> Text,
        payload -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    clients (id) {
        id -> Uuid,
        name -> Text,
        name_key -> Text,
        kind -> Text,
        tax_id -> Nullable<Text>,
        address -> Nullable<Text>,
        responsible_id -> Nullable<Uuid>,
        status -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    contacts (id) {
        id -> Uuid,
        client_id -> Nullable<Uuid>,
        name -> Text,
        name_key -> Text,
        position -> Nullable<Text>,
        telegram -> Nullable<Text>,
        vk -> Nullable<Text>,
        whatsapp -> Nullable<Text>,
        responsible_id -> Nullable<Uuid>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    contact_points (id) {
        id -> Uuid,
        owner_kind -> Text,
        owner_id -> Uuid,
        kind -> Text,
        value -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    name_tokens (id) {
        id -> Uuid,
        owner_kind -> Text,
        owner_id -> Uuid,
        token -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    entity_history (id) {
        id -> Uuid,
        entity_type -> Text,
        entity_id -> Uuid,
        field -> Text,
        old_value -> Nullable<Text>,
        new_value -> Nullable<Text>,
        actor_kind -> Text,
        actor_id -> Nullable<Uuid>,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    leads (id) {
        id -> Uuid,
        channel -> Text,
        source -> Nullable<Text>,
        external_id -> Nullable<Text>,
        thread_key -> Nullable<Text>,
        status -> Text,
        received_at -> Timestamp,
        name -> Nullable<Text>,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        contact_as_given -> Nullable<Text>,
        subject -> Nullable<Text>,
        body -> Nullable<Text>,
        client_id -> Nullable<Uuid>,
        contact_id -> Nullable<Uuid>,
        assignee_id -> Nullable<Uuid>,
        interest_id -> Nullable<Uuid>,
        reject_reason -> Nullable<Text>,
        reject_comment -> Nullable<Text>,
        raw_payload -> Nullable<Text>,
        parse_note -> Nullable<Text>,
        processed_by -> Nullable<Uuid>,
        processed_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    channels (id) {
        id -> Uuid,
        kind -> Text,
        name -> Text,
        address -> Text,
        secret_hash -> Nullable<Text>,
        confirmation -> Nullable<Text>,
        assignee_id -> Nullable<Uuid>,
        allowed_origins -> Text,
        active -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    rate_limit_hits (id) {
        id -> Uuid,
        bucket -> Text,
        hit_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    intake_deliveries (id) {
        id -> Uuid,
        channel -> Text,
        external_id -> Text,
        lead_id -> Nullable<Uuid>,
        received_at -> Timestamp,
    }
}

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

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(interests -> scenarios (scenario_id));
diesel::joinable!(orders -> interests (interest_id));
diesel::joinable!(order_lines -> orders (order_id));
diesel::joinable!(order_instalments -> orders (order_id));
diesel::joinable!(interests -> users (responsible_id));
diesel::joinable!(interactions -> interests (interest_id));
diesel::joinable!(timeline_entries -> interests (interest_id));

diesel::allow_tables_to_appear_in_same_query!(
    departments,
    users,
    sessions,
    refresh_tokens,
    api_keys,
    login_attempts,
    outbox_events,
    idempotency_keys,
    scenarios,
    loss_reasons,
    interests,
    interactions,
    tasks,
    notifications,
    timeline_entries,
    clients,
    contacts,
    contact_points,
    name_tokens,
    entity_history,
    leads,
    channels,
    rate_limit_hits,
    intake_deliveries,
    products,
    organization_settings,
    document_numbers,
    orders,
    order_lines,
    payments,
    shipments,
    shipment_lines,
    quotes,
    quote_variants,
    quote_lines,
    agreements,
    order_instalments,
    invoice_sendings,
    related_documents,
);
