//! Webhooks, their deliveries and each delivery's attempts.

use chrono::NaiveDateTime;
use crm_domain::status::DeliveryStatus;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::queries::outbox::FeedPosition;
use crate::queries::PageQuery;
use crate::rows::{WebhookAttemptRow, WebhookDeliveryRow, WebhookRow};
use crate::schema::{webhook_attempts, webhook_deliveries, webhooks};
use crate::types::{DbUuid, DbWord};

pub fn insert_webhook(conn: &mut DbConnection, row: &WebhookRow) -> QueryResult<()> {
    diesel::insert_into(webhooks::table).values(row).execute(conn).map(|_| ())
}

pub fn find_webhook(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<WebhookRow>> {
    webhooks::table.find(id).select(WebhookRow::as_select()).first(conn).optional()
}

pub fn list_webhooks(conn: &mut DbConnection, page: PageQuery) -> QueryResult<Vec<WebhookRow>> {
    let mut q = webhooks::table.select(WebhookRow::as_select()).into_boxed();
    if let Some(after) = page.after {
        q = q.filter(webhooks::id.gt(after));
    }
    q.order(webhooks::id.asc()).limit(page.limit).load(conn)
}

/// Writes `row` if it is still at `expected` version; returns rows changed.
pub fn update_webhook(conn: &mut DbConnection, row: &WebhookRow, expected: i64) -> QueryResult<usize> {
    diesel::update(webhooks::table.find(row.id).filter(webhooks::version.eq(expected))).set(row).execute(conn)
}

pub fn delete_webhook(conn: &mut DbConnection, id: DbUuid) -> QueryResult<usize> {
    diesel::delete(webhooks::table.find(id)).execute(conn)
}

/// The active webhooks no other dispatcher is turning the feed into
/// deliveries for right now, locked (PostgreSQL: `FOR UPDATE SKIP LOCKED`).
pub fn claim_active(conn: &mut DbConnection) -> QueryResult<Vec<WebhookRow>> {
    macro_rules! q {
        () => {
            webhooks::table
                .filter(webhooks::active.eq(true))
                .order(webhooks::id.asc())
                .select(WebhookRow::as_select())
        };
    }
    match conn {
        DbConnection::Pg(pg) => q!().for_update().skip_locked().load(pg),
        DbConnection::Sqlite(c) => q!().load(c),
    }
}

/// Adds deliveries; one already there for the same (webhook, event) stays as it is.
pub fn insert_deliveries(conn: &mut DbConnection, rows: &[WebhookDeliveryRow]) -> QueryResult<usize> {
    let mut n = 0;
    for row in rows {
        let q = || {
            diesel::insert_into(webhook_deliveries::table)
                .values(row)
                .on_conflict((webhook_deliveries::webhook_id, webhook_deliveries::event_id))
                .do_nothing()
        };
        n += match conn {
            DbConnection::Pg(pg) => q().execute(pg)?,
            DbConnection::Sqlite(c) => q().execute(c)?,
        };
    }
    Ok(n)
}

/// Pending deliveries due by `now` and not leased to another dispatcher, in
/// feed order, locked (PostgreSQL: `FOR UPDATE SKIP LOCKED`).
pub fn claim_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<WebhookDeliveryRow>> {
    macro_rules! q {
        () => {
            webhook_deliveries::table
                .filter(webhook_deliveries::status.eq(DbWord(DeliveryStatus::Pending)))
                .filter(webhook_deliveries::next_attempt_at.le(now))
                .filter(
                    webhook_deliveries::leased_until.is_null().or(webhook_deliveries::leased_until.le(now)),
                )
                .order((webhook_deliveries::event_tx_id.asc(), webhook_deliveries::event_seq.asc()))
                .limit(limit)
                .select(WebhookDeliveryRow::as_select())
        };
    }
    match conn {
        DbConnection::Pg(pg) => q!().for_update().skip_locked().load(pg),
        DbConnection::Sqlite(c) => q!().load(c),
    }
}

/// Whether an earlier delivery of the same entity to the same webhook is
/// still pending: deliveries of one entity go one after another, in order.
pub fn earlier_pending(conn: &mut DbConnection, d: &WebhookDeliveryRow) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        webhook_deliveries::table
            .filter(webhook_deliveries::webhook_id.eq(d.webhook_id))
            .filter(webhook_deliveries::entity_key.eq(&d.entity_key))
            .filter(webhook_deliveries::status.eq(DbWord(DeliveryStatus::Pending)))
            .filter(
                webhook_deliveries::event_tx_id.lt(d.event_tx_id).or(webhook_deliveries::event_tx_id
                    .eq(d.event_tx_id)
                    .and(webhook_deliveries::event_seq.lt(d.event_seq))),
            ),
    ))
    .get_result(conn)
}

pub fn lease(conn: &mut DbConnection, id: DbUuid, until: NaiveDateTime) -> QueryResult<()> {
    diesel::update(webhook_deliveries::table.find(id))
        .set(webhook_deliveries::leased_until.eq(Some(until)))
        .execute(conn)
        .map(|_| ())
}

pub fn find_delivery(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<WebhookDeliveryRow>> {
    webhook_deliveries::table.find(id).select(WebhookDeliveryRow::as_select()).first(conn).optional()
}

/// Records where a delivery stands after an attempt (or a redelivery).
pub fn set_outcome(
    conn: &mut DbConnection,
    id: DbUuid,
    status: DeliveryStatus,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    last_status: Option<i32>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::status.eq(DbWord(status)),
            webhook_deliveries::attempts.eq(attempts),
            webhook_deliveries::next_attempt_at.eq(next_attempt_at),
            webhook_deliveries::leased_until.eq(None::<NaiveDateTime>),
            webhook_deliveries::last_status.eq(last_status),
            webhook_deliveries::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn insert_attempt(conn: &mut DbConnection, row: &WebhookAttemptRow) -> QueryResult<()> {
    diesel::insert_into(webhook_attempts::table).values(row).execute(conn).map(|_| ())
}

pub fn attempts_of(conn: &mut DbConnection, deliveries: &[DbUuid]) -> QueryResult<Vec<WebhookAttemptRow>> {
    webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(deliveries))
        .order((webhook_attempts::attempted_at.asc(), webhook_attempts::id.asc()))
        .select(WebhookAttemptRow::as_select())
        .load(conn)
}

/// A webhook's deliveries, newest first is not kept: in id (creation) order.
pub fn list_deliveries(
    conn: &mut DbConnection,
    webhook: DbUuid,
    status: Option<DeliveryStatus>,
    page: PageQuery,
) -> QueryResult<Vec<WebhookDeliveryRow>> {
    let mut q = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook))
        .select(WebhookDeliveryRow::as_select())
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(webhook_deliveries::status.eq(DbWord(s)));
    }
    if let Some(after) = page.after {
        q = q.filter(webhook_deliveries::id.gt(after));
    }
    q.order(webhook_deliveries::id.asc()).limit(page.limit).load(conn)
}

/// Replay: every delivery of the webhook after `after` goes again from now.
pub fn reset_after(
    conn: &mut DbConnection,
    webhook: DbUuid,
    after: FeedPosition,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(webhook_deliveries::table.filter(webhook_deliveries::webhook_id.eq(webhook)).filter(
        webhook_deliveries::event_tx_id.gt(after.tx_id).or(
            webhook_deliveries::event_tx_id.eq(after.tx_id).and(webhook_deliveries::event_seq.gt(after.seq)),
        ),
    ))
    .set((
        webhook_deliveries::status.eq(DbWord(DeliveryStatus::Pending)),
        webhook_deliveries::attempts.eq(0),
        webhook_deliveries::next_attempt_at.eq(now),
        webhook_deliveries::leased_until.eq(None::<NaiveDateTime>),
        webhook_deliveries::updated_at.eq(now),
    ))
    .execute(conn)
}

/// Moves how far the feed has been enqueued for a webhook (not a change an
/// admin made: its version stays).
pub fn set_position(conn: &mut DbConnection, id: DbUuid, to: FeedPosition) -> QueryResult<()> {
    diesel::update(webhooks::table.find(id))
        .set((webhooks::feed_tx_id.eq(to.tx_id), webhooks::feed_seq.eq(to.seq)))
        .execute(conn)
        .map(|_| ())
}

/// Records a webhook's run of dead deliveries and whether it is still on;
/// switching off is a change of its state, so its version moves.
pub fn set_health(
    conn: &mut DbConnection,
    id: DbUuid,
    dead_run: i32,
    active: bool,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let row = diesel::update(webhooks::table.find(id)).set((
        webhooks::dead_run.eq(dead_run),
        webhooks::active.eq(active),
        webhooks::disabled_reason.eq(reason),
    ));
    row.execute(conn)?;
    if !active {
        diesel::update(webhooks::table.find(id))
            .set((webhooks::version.eq(webhooks::version + 1), webhooks::updated_at.eq(now)))
            .execute(conn)?;
    }
    Ok(())
}
