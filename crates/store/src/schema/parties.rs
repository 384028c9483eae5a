//! Tables of clients, contacts and what the duplicate check indexes.

use super::Uuid;

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
        founded_on -> Nullable<Date>,
        founded_md -> Nullable<Text>,
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
        birthday -> Nullable<Text>,
        birthday_md -> Nullable<Text>,
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
    client_dates (id) {
        id -> Uuid,
        client_id -> Uuid,
        title -> Text,
        date -> Text,
        md -> Text,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    date_reminders (kind, subject_id, year) {
        kind -> Text,
        subject_id -> Uuid,
        year -> Integer,
        reminded_at -> Timestamp,
    }
}
