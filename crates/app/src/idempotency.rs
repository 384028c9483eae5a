//! `Idempotency-Key` bookkeeping: the first response to a POST is stored and
//! replayed for a retry with the same key and body.

use chrono::Duration;
use crm_store::queries::idempotency as q;
use crm_store::rows::IdempotencyKeyRow;
use uuid::Uuid;

use crate::error::AppError;
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
}

pub fn begin(app: &App, principal: &str, key: &str, request_hash: &str) -> Result<Begin, AppError> {
    let now = app.now();
    let result = app.write(|conn| {
        // Sweeping old keys on every request would double the cost of a keyed
        // POST; one request in a hundred does it for everyone.
        if rand::random::<u8>() < 3 {
            q::delete_expired(conn, now.naive_utc())?;
        }
        if let Some(existing) = q::find(conn, principal, key)?.filter(|e| e.expires_at > now.naive_utc()) {
            if existing.request_hash != request_hash {
                return Ok(Begin::Mismatch);
            }
            if existing.state == "done" {
                return Ok(Begin::Replay(StoredResponse {
                    status: existing.response_status.and_then(|s| u16::try_from(s).ok()).unwrap_or(200),
                    headers: existing.response_headers.unwrap_or_default(),
                    body: existing.response_body.unwrap_or_default(),
                }));
            }
            if now.naive_utc() - existing.created_at < Duration::seconds(ABANDONED_AFTER_SECS) {
                return Ok(Begin::InFlight);
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
                state: "in_flight".to_owned(),
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
    app.write(|conn| {
        q::complete(conn, record.into(), i32::from(response.status), &response.headers, &response.body)?;
        Ok(())
    })
}

/// Forgets a record whose request failed on our side, so a retry runs afresh.
pub fn abandon(app: &App, record: Uuid) -> Result<(), AppError> {
    app.write(|conn| {
        q::delete(conn, record.into())?;
        Ok(())
    })
}
