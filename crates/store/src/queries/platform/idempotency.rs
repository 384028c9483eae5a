//! Stored responses for `Idempotency-Key`.

use chrono::NaiveDateTime;
use crm_domain::status::IdempotencyState;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::rows::IdempotencyKeyRow;
use crate::schema::idempotency_keys;
use crate::types::DbUuid;

pub fn insert(conn: &mut DbConnection, row: &IdempotencyKeyRow) -> QueryResult<()> {
    diesel::insert_into(idempotency_keys::table).values(row).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConnection, principal: &str, key: &str) -> QueryResult<Option<IdempotencyKeyRow>> {
    idempotency_keys::table
        .filter(idempotency_keys::principal.eq(principal))
        .filter(idempotency_keys::idem_key.eq(key))
        .select(IdempotencyKeyRow::as_select())
        .first(conn)
        .optional()
}

pub fn complete(
    conn: &mut DbConnection,
    id: DbUuid,
    status: i32,
    headers: &str,
    body: &str,
) -> QueryResult<usize> {
    diesel::update(idempotency_keys::table.find(id))
        .set((
            idempotency_keys::state.eq(IdempotencyState::Done.as_str()),
            idempotency_keys::response_status.eq(Some(status)),
            idempotency_keys::response_headers.eq(Some(headers)),
            idempotency_keys::response_body.eq(Some(body)),
        ))
        .execute(conn)
}

/// Marks a record whose request has committed its change (in that change's
/// transaction); a record already applied or done stays as it is.
pub fn mark_applied(conn: &mut DbConnection, id: DbUuid) -> QueryResult<usize> {
    diesel::update(
        idempotency_keys::table
            .find(id)
            .filter(idempotency_keys::state.eq(IdempotencyState::InFlight.as_str())),
    )
    .set(idempotency_keys::state.eq(IdempotencyState::Applied.as_str()))
    .execute(conn)
}

/// Forgets a record only while nothing it guards has committed.
pub fn delete_unapplied(conn: &mut DbConnection, id: DbUuid) -> QueryResult<usize> {
    diesel::delete(
        idempotency_keys::table
            .find(id)
            .filter(idempotency_keys::state.eq(IdempotencyState::InFlight.as_str())),
    )
    .execute(conn)
}

pub fn delete(conn: &mut DbConnection, id: DbUuid) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.find(id)).execute(conn)
}

pub fn delete_expired(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::expires_at.lt(now))).execute(conn)
}
