//! Rows of the outbox and the idempotency records.

use chrono::NaiveDateTime;
use crm_domain::status::IdempotencyState;
use diesel::prelude::*;

use crate::schema::*;
use crate::types::{DbUuid, DbWord};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = outbox_events)]
pub struct OutboxEventRow {
    pub id: DbUuid,
    pub kind: String,
    pub entity_type: String,
    pub entity_id: DbUuid,
    pub payload: String,
    pub occurred_at: NaiveDateTime,
    pub actor_kind: String,
    pub actor_id: Option<DbUuid>,
}

/// An outbox event as the change feed reads it, with its place in the feed.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox_events)]
pub struct FeedEventRow {
    pub id: DbUuid,
    pub kind: String,
    pub entity_type: String,
    pub entity_id: DbUuid,
    pub payload: String,
    pub occurred_at: NaiveDateTime,
    pub actor_kind: String,
    pub actor_id: Option<DbUuid>,
    pub seq: Option<i64>,
    pub tx_id: i64,
    pub data: Option<String>,
    pub changes: Option<String>,
    pub entity_version: Option<i64>,
    pub audience: Option<String>,
    pub prev_audience: Option<String>,
}

/// What rendering fills in on an event written in the current transaction.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = outbox_events, treat_none_as_null = true)]
pub struct EventSnapshot {
    pub data: Option<String>,
    pub changes: Option<String>,
    pub entity_version: Option<i64>,
    pub audience: Option<String>,
    pub prev_audience: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyKeyRow {
    pub id: DbUuid,
    pub principal: String,
    pub idem_key: String,
    pub request_hash: String,
    pub state: DbWord<IdempotencyState>,
    pub response_status: Option<i32>,
    pub response_headers: Option<String>,
    pub response_body: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}
