//! Tables of leads, channels, deliveries and form rate limits.

use super::Uuid;

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
