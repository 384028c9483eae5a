//! Rows of the outbox and the idempotency records.

use chrono::NaiveDateTime;
use crm_domain::status::{DeliveryStatus, IdempotencyState};
use diesel::prelude::*;

use crate::schema::*;
use crate::types::{DbUuid, DbWord};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = outbox_events, treat_none_as_default_value = false)]
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
#[derive(Debug, Clone, AsChangeset, Insertable)]
#[diesel(table_name = outbox_events, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct EventSnapshot {
    pub data: Option<String>,
    pub changes: Option<String>,
    pub entity_version: Option<i64>,
    pub audience: Option<String>,
    pub prev_audience: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys, treat_none_as_default_value = false)]
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

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = webhooks, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct WebhookRow {
    pub id: DbUuid,
    pub url: String,
    pub types: String,
    pub description: Option<String>,
    pub secret: String,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub dead_run: i32,
    pub feed_tx_id: i64,
    pub feed_seq: i64,
    pub created_by: Option<DbUuid>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries, treat_none_as_default_value = false)]
pub struct WebhookDeliveryRow {
    pub id: DbUuid,
    pub webhook_id: DbUuid,
    pub event_id: DbUuid,
    pub event_type: String,
    pub event_tx_id: i64,
    pub event_seq: i64,
    pub entity_key: String,
    pub status: DbWord<DeliveryStatus>,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub leased_until: Option<NaiveDateTime>,
    pub last_status: Option<i32>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_attempts, treat_none_as_default_value = false)]
pub struct WebhookAttemptRow {
    pub id: DbUuid,
    pub delivery_id: DbUuid,
    pub attempted_at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
}
