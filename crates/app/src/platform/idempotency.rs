//! `Idempotency-Key` bookkeeping: the first response to a POST is stored and
//! replayed for a retry with the same key and body.
//!
//! A record goes `in_flight` → `applied` (in the transaction that commits the
//! request's change, see `App::write`) → `done` (the reply stored). Keys are
//! scoped by the authenticated principal's id, never by an unverified
//! credential. Replies that carry secrets are not stored: sign-in and token
//! refresh ignore the header, and a created API key's reply is stored
//! without its secret.

use chrono::Duration;
use crm_domain::status::IdempotencyState;
use crm_store::queries::idempotency as q;
use crm_store::rows::IdempotencyKeyRow;
use uuid::Uuid;

use crate::platform::error::AppError;
use crate::App;

/// How long a stored response is replayed.
pub const RETENTION_HOURS: i64 = 24;
/// A request still "in flight" after this long is taken to have died with its
/// process; a retry may then run it again.
pub const ABANDONED_AFTER_SECS: i64 = 60;

#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub status: u16,
    /// JSON object of the headers worth replaying (content type, location, ETag).
    pub headers: String,
    pub body: String,
}

#[derive(Debug, Clone)]
pub enum Begin {
    /// First time: run the request, then `complete` or `abandon` this record.
    Proceed(Uuid),
    /// Seen and finished: answer with the stored response.
    Replay(StoredResponse),
    /// The same key came with another request body or target.
    Mismatch,
    /// The first request with this key is still running.
    InFlight,
    /// The first request's change committed but its reply was never stored
    /// (the process stopped in between): it is not run again.
    AppliedWithoutReply,
}

pub fn begin(app: &App, principal: &str, key: &str, request_hash: &str) -> Result<Begin, AppError> {
    let now = app.now();
    let result = app.with_idempotency(None).write(|conn| {
        // Sweeping old keys on every request would double the cost of a keyed
        // POST; one request in a hundred does it for everyone.
        if rand::random::<u8>() < 3 {
            q::delete_expired(conn, now.naive_utc())?;
        }
        if let Some(existing) = q::find(conn, principal, key)?.filter(|e| e.expires_at > now.naive_utc()) {
            if existing.request_hash != request_hash {
                return Ok(Begin::Mismatch);
            }
            if existing.state == IdempotencyState::Done {
                return Ok(Begin::Replay(StoredResponse {
                    status: existing.response_status.and_then(|s| u16::try_from(s).ok()).unwrap_or(200),
                    headers: existing.response_headers.unwrap_or_default(),
                    body: existing.response_body.unwrap_or_default(),
                }));
            }
            if now.naive_utc() - existing.created_at < Duration::seconds(ABANDONED_AFTER_SECS) {
                return Ok(Begin::InFlight);
            }
            if existing.state == IdempotencyState::Applied {
                return Ok(Begin::AppliedWithoutReply);
            }
        }
        // An expired or abandoned record makes way for this request.
        if let Some(stale) = q::find(conn, principal, key)? {
            q::delete(conn, stale.id)?;
        }
        let id = crm_domain::new_id();
        q::insert(
            conn,
            &IdempotencyKeyRow {
                id: id.into(),
                principal: principal.to_owned(),
                idem_key: key.to_owned(),
                request_hash: request_hash.to_owned(),
                state: IdempotencyState::InFlight.into(),
                response_status: None,
                response_headers: None,
                response_body: None,
                created_at: now.naive_utc(),
                expires_at: (now + Duration::hours(RETENTION_HOURS)).naive_utc(),
            },
        )?;
        Ok(Begin::Proceed(id))
    });
    match result {
        // Two first requests raced on the unique key: the loser sees it in flight.
        Err(AppError::Conflict { .. }) => Ok(Begin::InFlight),
        other => other,
    }
}

pub fn complete(app: &App, record: Uuid, response: &StoredResponse) -> Result<(), AppError> {
    app.with_idempotency(None).write(|conn| {
        q::complete(conn, record.into(), i32::from(response.status), &response.headers, &response.body)?;
        Ok(())
    })
}

/// A request that failed on our side (or for its credentials, or throttled):
/// forgotten so a retry runs afresh — unless its change already committed,
/// in which case its reply (when there is one) is what a retry gets; with
/// none, the record stays applied and a retry learns the change was made.
pub fn abandon(app: &App, record: Uuid, response: Option<&StoredResponse>) -> Result<(), AppError> {
    app.with_idempotency(None).write(|conn| {
        if q::delete_unapplied(conn, record.into())? == 0 {
            if let Some(r) = response {
                q::complete(conn, record.into(), i32::from(r.status), &r.headers, &r.body)?;
            }
        }
        Ok(())
    })
}
