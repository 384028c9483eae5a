//! Tables of the outbox and idempotency records.

use super::Uuid;

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
        /// Numbered by the database as written (never null once written).
        seq -> Nullable<BigInt>,
        /// The writing transaction (PostgreSQL); 0 on SQLite.
        tx_id -> BigInt,
        /// The entity as its GET returned it at this change (JSON); NULL
        /// only inside the writing transaction, until rendered.
        data -> Nullable<Text>,
        /// `{field: {from, to}}` against the entity's previous event (JSON).
        changes -> Nullable<Text>,
        entity_version -> Nullable<BigInt>,
        /// Who could see the entity at this change (JSON), and at its previous event.
        audience -> Nullable<Text>,
        prev_audience -> Nullable<Text>,
    }
}

diesel::table! {
    feed_horizon (id) {
        id -> Integer,
        tx_id -> BigInt,
        seq -> BigInt,
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
    webhooks (id) {
        id -> Uuid,
        url -> Text,
        /// The feed's type patterns, as JSON (`[]`: every type).
        types -> Text,
        description -> Nullable<Text>,
        secret -> Text,
        active -> Bool,
        disabled_reason -> Nullable<Text>,
        /// Dead deliveries in a row; a run of them disables the endpoint.
        dead_run -> Integer,
        /// How far the feed has been turned into deliveries for it.
        feed_tx_id -> BigInt,
        feed_seq -> BigInt,
        created_by -> Nullable<Uuid>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    webhook_deliveries (id) {
        id -> Uuid,
        webhook_id -> Uuid,
        event_id -> Uuid,
        event_type -> Text,
        event_tx_id -> BigInt,
        event_seq -> BigInt,
        /// `entity_type:entity_id`: deliveries of one entity go in feed order.
        entity_key -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        /// Claimed by a dispatcher until then.
        leased_until -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    webhook_attempts (id) {
        id -> Uuid,
        delivery_id -> Uuid,
        attempted_at -> Timestamp,
        status_code -> Nullable<Integer>,
        latency_ms -> BigInt,
        error -> Nullable<Text>,
        response_excerpt -> Nullable<Text>,
    }
}
