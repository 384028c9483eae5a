//! The app state, running a use case, authentication, versions, cursors.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use base64::Engine;
use crm_app::{App, PageRequest, Principal};
use serde::Serialize;
use uuid::Uuid;

use super::*;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// Shared by every worker.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub metrics: Metrics,
    pub max_body_bytes: usize,
    /// The load balancers whose `X-Forwarded-For` is believed.
    pub proxies: TrustedProxies,
}

/// Runs a use case on the blocking pool (diesel is synchronous).
pub async fn run<T, F>(state: &web::Data<AppState>, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&App) -> Result<T, crm_app::AppError> + Send + 'static,
    T: Send + 'static,
{
    // A request guarded by an Idempotency-Key marks its record in the same
    // transaction as its change (see `crm_app::App::write`).
    let record = crate::middleware::IDEMPOTENCY_RECORD.try_with(|r| *r).ok();
    let app = state.app.with_idempotency(record);
    let (result, checked) = web::block(move || crm_app::identity::principal::recording_access(|| f(&app)))
        .await
        .map_err(|e| ApiError::App(crm_app::AppError::internal(format!("blocking pool: {e}"))))?;
    crate::access_audit::note(checked);
    result.map_err(ApiError::from)
}

/// The caller. Accepts `Authorization: Bearer <JWT or API key>` or
/// `X-Api-Key: <API key>`.
///
/// Extracting it checks what needs no database: that a credential is sent,
/// and a token's signature and times, so a missing or forged one is 401
/// before anything else is read. The rest — the session not signed out, the
/// user active, the key known and not revoked — is checked by [`Auth::run`]
/// on the blocking-pool thread that then runs the use case: one trip to that
/// pool per request, not one to authenticate and another to work.
#[must_use = "the caller is authenticated only when `Auth::run` runs"]
pub struct Auth(Caller);

enum Caller {
    /// Already authenticated before the handler (idempotency, rate limit).
    Known(Principal),
    /// A verified access token whose session and user are still to be read.
    Session(crm_app::identity::auth::SessionClaim),
    /// An API key, to be looked up.
    ApiKey(String),
}

impl Auth {
    /// Authenticates the caller and runs `f` as them, both on one trip to the
    /// blocking pool (see [`run`]).
    pub async fn run<T, F>(self, state: &web::Data<AppState>, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&App, &Principal) -> Result<T, crm_app::AppError> + Send + 'static,
        T: Send + 'static,
    {
        let caller = self.0;
        run(state, move |app| {
            let principal = match caller {
                Caller::Known(principal) => principal,
                Caller::Session(claim) => crm_app::identity::auth::authenticate_session(app, claim)?,
                Caller::ApiKey(key) => crm_app::identity::auth::authenticate_api_key(app, &key)?,
            };
            f(app, &principal)
        })
        .await
    }
}

/// The raw credential on a request, if any.
pub fn credential(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let value =
            value.to_str().map_err(|_| ApiError::unauthenticated("the Authorization header is not text"))?;
        let (scheme, token) = value
            .split_once(' ')
            .ok_or_else(|| ApiError::unauthenticated("use Authorization: Bearer <token>"))?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(ApiError::unauthenticated("use Authorization: Bearer <token>"));
        }
        return Ok(Some(token.trim().to_owned()));
    }
    if let Some(value) = req.headers().get("x-api-key") {
        let key =
            value.to_str().map_err(|_| ApiError::unauthenticated("the X-Api-Key header is not text"))?;
        if !key.starts_with(crm_app::identity::auth::API_KEY_PREFIX) {
            return Err(ApiError::unauthenticated("X-Api-Key must hold an API key"));
        }
        return Ok(Some(key.trim().to_owned()));
    }
    Ok(None)
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(caller(req).map(Auth))
    }
}

fn caller(req: &HttpRequest) -> Result<Caller, ApiError> {
    if let Some(known) = req.extensions().get::<crate::middleware::Authenticated>() {
        return Ok(Caller::Known(known.0.clone()));
    }
    let Some(cred) = credential(req)? else {
        return Err(ApiError::unauthenticated("sign in: send Authorization: Bearer <token>"));
    };
    if cred.starts_with(crm_app::identity::auth::API_KEY_PREFIX) {
        return Ok(Caller::ApiKey(cred));
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::App(crm_app::AppError::internal("state missing")))?;
    Ok(Caller::Session(crm_app::identity::auth::verify_access_token(&state.app, &cred)?))
}

/// The version a client expects (`If-Match: "3"`); `None` when absent or `*`.
pub struct IfMatch(pub Option<i64>);

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(parse_if_match(req.headers().get(header::IF_MATCH)))
    }
}

pub(crate) fn parse_if_match(value: Option<&HeaderValue>) -> Result<IfMatch, ApiError> {
    let Some(value) = value else {
        return Ok(IfMatch(None));
    };
    let malformed = || {
        ApiError::field(
            "If-Match",
            "malformed",
            "send the ETag as it came, in quotes (If-Match: \"3\"), a list of them, or *",
        )
    };
    let text = value.to_str().map_err(|_| malformed())?.trim();
    if text == "*" {
        return Ok(IfMatch(None));
    }
    // RFC 9110 `If-Match = "*" / #entity-tag`: an empty list is well formed
    // and names no version, so nothing can match it.
    if text.is_empty() {
        return Ok(IfMatch(Some(-1)));
    }
    // RFC 9110: a comma-separated list of entity tags, each `"…"` or `W/"…"`.
    let mut version = None;
    for tag in text.split(',').map(str::trim) {
        let (weak, opaque) = match tag.strip_prefix("W/") {
            Some(rest) => (true, rest),
            None => (false, tag),
        };
        let inner = opaque.strip_prefix('"').and_then(|t| t.strip_suffix('"')).ok_or_else(malformed)?;
        if inner.contains('"') {
            return Err(malformed());
        }
        if !weak && version.is_none() {
            version = inner.parse::<i64>().ok();
        }
    }
    // A weak or foreign tag can never match a strong version tag: it is stale by definition.
    Ok(IfMatch(Some(version.unwrap_or(-1))))
}

pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// 200 with the body and its `ETag`, or 304 when `If-None-Match` already names it.
pub fn versioned<T: Serialize>(req: &HttpRequest, body: &T, version: i64) -> HttpResponse {
    let tag = etag(version);
    let cacheable =
        req.method() == actix_web::http::Method::GET || req.method() == actix_web::http::Method::HEAD;
    let matches = cacheable
        && req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t == tag || t.strip_prefix("W/") == Some(tag.as_str()))
        });
    if matches {
        return HttpResponse::NotModified().insert_header((header::ETAG, tag)).finish();
    }
    HttpResponse::Ok().insert_header((header::ETAG, tag)).json(body)
}

/// 201 with `Location`, `ETag` and the created body.
pub fn created<T: Serialize>(location: String, body: &T, version: Option<i64>) -> HttpResponse {
    let mut res = HttpResponse::Created();
    res.insert_header((header::LOCATION, location));
    if let Some(v) = version {
        res.insert_header((header::ETAG, etag(v)));
    }
    res.json(body)
}

/// Turns `limit` and `cursor` query values into a page request, refusing
/// out-of-range limits and cursors this server did not issue.
pub fn page_request(limit: Option<u32>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
    let limit = limit.unwrap_or(crm_app::platform::page::DEFAULT_LIMIT);
    if limit == 0 || limit > crm_app::platform::page::MAX_LIMIT {
        return Err(ApiError::field(
            "limit",
            "out_of_range",
            format!("must be between 1 and {}", crm_app::platform::page::MAX_LIMIT),
        ));
    }
    let bad =
        || ApiError::field("cursor", "invalid", "not a cursor this server issued; start again without it");
    let (after, after_key) = match cursor {
        None | Some("") => (None, None),
        Some(c) => match decode_cursor(c) {
            Some(id) => (Some(id), None),
            None => (None, Some(decode_sync_cursor(c).ok_or_else(bad)?)),
        },
    };
    Ok(PageRequest { after, limit, after_key })
}

const SYNC_CURSOR_VERSION: &str = "s1:";

/// A sync read's cursor: the last row's `updated_at` (microseconds) and id.
pub fn encode_sync_cursor(at: chrono::DateTime<chrono::Utc>, id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{SYNC_CURSOR_VERSION}{}:{id}", at.timestamp_micros()))
}

fn decode_sync_cursor(cursor: &str) -> Option<(chrono::DateTime<chrono::Utc>, Uuid)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (micros, id) = text.strip_prefix(SYNC_CURSOR_VERSION)?.split_once(':')?;
    Some((chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?, Uuid::parse_str(id).ok()?))
}

pub(crate) const CURSOR_VERSION: &str = "v1:";

pub fn encode_cursor(after: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{CURSOR_VERSION}{after}"))
}

pub(crate) fn decode_cursor(cursor: &str) -> Option<Uuid> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    Uuid::parse_str(text.strip_prefix(CURSOR_VERSION)?).ok()
}
