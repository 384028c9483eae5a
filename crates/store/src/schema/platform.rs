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
