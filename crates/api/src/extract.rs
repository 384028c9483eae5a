//! Request-side machinery every endpoint shares: the state, the auth
//! extractor, `If-Match`, pagination parameters, extractor error handlers,
//! and running a use case on the blocking pool.

use std::future::Future;
use std::pin::Pin;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use base64::Engine;
use crm_app::{App, PageRequest, Principal};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::metrics::Metrics;

/// Shared by every worker.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub metrics: Metrics,
    pub max_body_bytes: usize,
    /// Trust `X-Forwarded-For` for the client address (behind a load balancer).
    pub trust_proxy: bool,
}

/// Runs a use case on the blocking pool (diesel is synchronous).
pub async fn run<T, F>(state: &web::Data<AppState>, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&App) -> Result<T, crm_app::AppError> + Send + 'static,
    T: Send + 'static,
{
    let app = state.app.clone();
    web::block(move || f(&app))
        .await
        .map_err(|e| ApiError::App(crm_app::AppError::internal(format!("blocking pool: {e}"))))?
        .map_err(ApiError::from)
}

/// The authenticated caller. Accepts `Authorization: Bearer <JWT or API key>`
/// or `X-Api-Key: <API key>`.
pub struct Auth(pub Principal);

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
        if !key.starts_with(crm_app::auth::API_KEY_PREFIX) {
            return Err(ApiError::unauthenticated("X-Api-Key must hold an API key"));
        }
        return Ok(Some(key.trim().to_owned()));
    }
    Ok(None)
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let cred = credential(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::App(crm_app::AppError::internal("state missing")))?;
            let Some(cred) = cred? else {
                return Err(ApiError::unauthenticated("sign in: send Authorization: Bearer <token>"));
            };
            let principal = run(&state, move |app| crm_app::auth::authenticate_bearer(app, &cred)).await?;
            Ok(Auth(principal))
        })
    }
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

fn parse_if_match(value: Option<&HeaderValue>) -> Result<IfMatch, ApiError> {
    let Some(value) = value else {
        return Ok(IfMatch(None));
    };
    let text = value.to_str().map_err(|_| ApiError::bad_request("If-Match is not text"))?.trim();
    if text == "*" {
        return Ok(IfMatch(None));
    }
    // A weak or foreign tag can never match a strong version tag: it is stale by definition.
    Ok(IfMatch(Some(parse_etag(text).unwrap_or(-1))))
}

/// `"3"` → 3.
fn parse_etag(text: &str) -> Option<i64> {
    text.strip_prefix('"')?.strip_suffix('"')?.parse().ok()
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
    let limit = limit.unwrap_or(crm_app::page::DEFAULT_LIMIT);
    if limit == 0 || limit > crm_app::page::MAX_LIMIT {
        return Err(ApiError::field(
            "limit",
            "out_of_range",
            format!("must be between 1 and {}", crm_app::page::MAX_LIMIT),
        ));
    }
    let after = match cursor {
        None | Some("") => None,
        Some(c) => Some(decode_cursor(c).ok_or_else(|| {
            ApiError::field("cursor", "invalid", "not a cursor this server issued; start again without it")
        })?),
    };
    Ok(PageRequest { after, limit })
}

const CURSOR_VERSION: &str = "v1:";

pub fn encode_cursor(after: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{CURSOR_VERSION}{after}"))
}

fn decode_cursor(cursor: &str) -> Option<Uuid> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    Uuid::parse_str(text.strip_prefix(CURSOR_VERSION)?).ok()
}

/// The client's address for rate limits: the peer, or the first
/// `X-Forwarded-For` hop when a trusted proxy sits in front.
pub fn client_address(req: &HttpRequest, trust_proxy: bool) -> String {
    if trust_proxy {
        if let Some(ip) = req.connection_info().realip_remote_addr() {
            return ip.to_owned();
        }
    }
    req.peer_addr().map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string())
}

/// JSON bodies: size-limited, `application/json` only, errors as problems.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default().limit(limit).error_handler(|err, _req| json_error(err).into())
}

fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { length, limit } => ApiError::problem(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "The request body is too large",
            format!("the body has {length} bytes; at most {limit} are accepted"),
        )),
        JsonPayloadError::Overflow { limit } => ApiError::problem(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "The request body is too large",
            format!("at most {limit} bytes are accepted"),
        )),
        JsonPayloadError::ContentType => ApiError::problem(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported content type",
            "send the body as Content-Type: application/json",
        )),
        JsonPayloadError::Deserialize(e) => serde_problem(&e),
        other => ApiError::bad_request(format!("the body could not be read: {other}")),
    }
}

/// A JSON syntax or shape error, naming the field when serde tells it.
pub fn serde_problem(e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let msg = e.to_string();
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::bad_request(format!("the body is not valid JSON: {msg}"))
        }
        Category::Data => {
            let quoted = msg.split('`').nth(1).map(str::to_owned);
            if msg.starts_with("unknown field") {
                let field = quoted.unwrap_or_default();
                ApiError::field(&field, "unknown_field", format!("{field} is not a field of this request"))
            } else if msg.starts_with("missing field") {
                let field = quoted.unwrap_or_default();
                ApiError::field(&field, "required", format!("{field} is required"))
            } else {
                // Strip serde's "at line L column C" suffix: the field path is what helps.
                let clean = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
                ApiError::field("body", "invalid_value", clean)
            }
        }
    }
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        let detail = match &err {
            QueryPayloadError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        let field = detail.split('`').nth(1).unwrap_or("query").to_owned();
        ApiError::field(&field, "invalid_query", detail).into()
    })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, req| {
        let detail = match &err {
            PathError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        ApiError::field(
            "id",
            "invalid_id",
            format!("{} is not a valid id: {detail}", req.path().rsplit('/').next().unwrap_or("")),
        )
        .into()
    })
}

/// Bodies read by anything other than the JSON extractor.
pub fn payload_config(limit: usize) -> web::PayloadConfig {
    web::PayloadConfig::new(limit)
}

/// Converts `validator` failures into field errors.
pub fn validate<T: validator::Validate>(value: &T) -> Result<(), ApiError> {
    value.validate().map_err(|errors| {
        let mut fields = Vec::new();
        for (field, errs) in errors.field_errors() {
            for e in errs {
                let message = e.message.as_ref().map_or_else(|| describe(e), ToString::to_string);
                fields.push(crm_app::FieldError::new(field.to_string(), e.code.to_string(), message));
            }
        }
        fields.sort_by(|a, b| a.field.cmp(&b.field));
        ApiError::fields(fields)
    })
}

fn describe(e: &validator::ValidationError) -> String {
    let param = |k: &str| e.params.get(k).map(ToString::to_string);
    match e.code.as_ref() {
        "length" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be {min} to {max} characters long"),
            (Some(min), None) => format!("must be at least {min} characters long"),
            (None, Some(max)) => format!("must be at most {max} characters long"),
            _ => "has the wrong length".to_owned(),
        },
        "range" => "is out of range".to_owned(),
        other => format!("is invalid ({other})"),
    }
}

/// An optional JSON body (action endpoints): empty means the defaults; when
/// sent, it is checked like any other body.
pub fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| serde_problem(&e))
}
