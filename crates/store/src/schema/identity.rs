//! Tables of departments, users, sessions, tokens, API keys, sign-in attempts, calendar feeds, absences.

use super::Uuid;

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
    calendar_feeds (user_id) {
        user_id -> Uuid,
        token_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    absences (id) {
        id -> Uuid,
        user_id -> Uuid,
        deputy_id -> Uuid,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        reason -> Nullable<Text>,
        state -> Text,
        created_by -> Nullable<Uuid>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}
