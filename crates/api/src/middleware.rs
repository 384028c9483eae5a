//! Middleware every request passes: request ids, logs and metrics
//! (`observe`), and `Idempotency-Key` replay for POSTs (`idempotency`).

use std::time::Instant;

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::error::{ApiError, Problem};
use crate::extract::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const IDEMPOTENCY_KEY: &str = "idempotency-key";
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The id of the request being served, for logs and the response header.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A client's own request id is kept when it is short and plain; otherwise we make one.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        })
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = request_id(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let span = tracing::info_span!("request", request_id = %id, method = %method, path = %path);
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let result = next.call(req).instrument(span.clone()).await;
    let mut res = result?.map_into_boxed_body();
    let elapsed = started.elapsed();
    let status = res.status();
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    if let Some(state) = state {
        state.metrics.observe(&method, &route, status.as_u16(), elapsed.as_secs_f64());
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    span.in_scope(|| {
        let ms = elapsed.as_secs_f64() * 1000.0;
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), route = %route, elapsed_ms = ms, "request failed");
        } else {
            tracing::info!(status = status.as_u16(), route = %route, elapsed_ms = ms, "request served");
        }
    });
    Ok(res)
}

/// The longest request target (path and query) served: longer is 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names, values, `: ` and line ends) served: more is 431.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Refuses a request line or header section past the limits above with a
/// problem answer. (More than 96 header fields are refused by actix's parser
/// before any of this runs, with an empty 431.)
pub async fn bounded_request_head(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let uri = req.path().len() + req.query_string().len() + 1;
    if uri > MAX_URI_BYTES {
        let e = ApiError::problem(Problem::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            "The URI is too long",
            format!("the path and query are {uri} bytes; at most {MAX_URI_BYTES} are read (send long filters in a body where the operation takes one)"),
        ));
        return Ok(problem_response(req, e));
    }
    let headers: usize = req.headers().iter().map(|(n, v)| n.as_str().len() + v.len() + 4).sum();
    if headers > MAX_HEADER_BYTES {
        let e = ApiError::problem(Problem::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            "The request's header fields are too large",
            format!("the header fields are {headers} bytes; at most {MAX_HEADER_BYTES} are read"),
        ));
        return Ok(problem_response(req, e));
    }
    next.call(req).await
}

/// Refuses control characters in the path and the query string (400 naming
/// the parameter), so no handler and no SQL statement ever sees one.
pub async fn plain_request_line(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if let Err(e) = crate::extract::typed_request_line(req.request()) {
        return Ok(problem_response(req, e));
    }
    next.call(req).await
}

/// Operations whose reply is a secret (tokens): they ignore `Idempotency-Key`,
/// so no token is ever stored or replayed; a retried sign-in simply signs in
/// again, and a retried refresh goes through reuse detection like any other.
const IGNORES_IDEMPOTENCY: [&str; 2] = ["/api/v1/auth/login", "/api/v1/auth/refresh"];

/// Operations whose reply holds a secret shown once: the reply is stored and
/// replayed with this field set to null.
fn secret_field(path: &str) -> Option<&'static str> {
    let rotated = path.strip_prefix("/api/v1/webhooks/").is_some_and(|rest| rest.ends_with("/rotate-secret"));
    (path == "/api/v1/api-keys" || path == "/api/v1/webhooks" || rotated).then_some("secret")
}

/// The authenticated principal, kept for the handler's `Auth` extractor so
/// a keyed request is authenticated once.
#[derive(Debug, Clone)]
pub struct Authenticated(pub crm_app::Principal);

/// Whose key this is. The credential is verified first (signature, digest,
/// revocation) and the scope is the principal's id: knowing a key's public
/// prefix, or holding an expired token, gives no access to its replies.
/// `Err(())`: no credential where one is needed, or one that does not
/// authenticate; the handler answers 401.
async fn idempotency_scope(req: &ServiceRequest, state: &web::Data<AppState>) -> Result<String, ()> {
    // Already authenticated by the rate limiter: the same principal, not a second lookup.
    if let Some(Authenticated(principal)) = req.extensions().get::<Authenticated>() {
        return Ok(principal_key(principal));
    }
    let cred = match crate::extract::credential(req.request()) {
        Ok(Some(cred)) => cred,
        // Callers without a credential (website forms, messenger webhooks)
        // are told apart by address, where the operation takes them at all.
        Ok(None) if takes_anonymous(req.path()) => {
            return Ok(format!("anonymous:{}", crate::extract::client_address(req.request(), &state.proxies)))
        }
        // Anywhere else the handler answers 401; nothing is stored or replayed.
        Ok(None) => return Err(()),
        Err(_) => return Err(()),
    };
    let principal =
        crate::extract::run(state, move |app| crm_app::identity::auth::authenticate_bearer(app, &cred))
            .await
            .map_err(|_| ())?;
    let scope = principal_key(&principal);
    req.extensions_mut().insert(Authenticated(principal));
    Ok(scope)
}

/// The POSTs that take no credential of ours: the messengers' webhooks
/// (checked by their own secrets) and website forms.
fn takes_anonymous(path: &str) -> bool {
    matches!(path, "/api/v1/intake/telegram" | "/api/v1/intake/vk")
        || path.starts_with("/api/v1/intake/forms/")
}

/// Who a principal is, as idempotency records and rate limits key it.
pub(crate) fn principal_key(principal: &crm_app::Principal) -> String {
    match principal {
        crm_app::Principal::User(u) => format!("user:{}", u.id),
        crm_app::Principal::ApiKey(k) => format!("key:{}", k.id),
    }
}

tokio::task_local! {
    /// The idempotency record of the request being served, for `extract::run`.
    pub static IDEMPOTENCY_RECORD: uuid::Uuid;
}

pub(crate) fn problem_response(req: ServiceRequest, err: ApiError) -> ServiceResponse<BoxBody> {
    let res = actix_web::ResponseError::error_response(&err);
    req.into_response(res)
}

pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if req.method() != Method::POST
        || !req.headers().contains_key(IDEMPOTENCY_KEY)
        || IGNORES_IDEMPOTENCY.contains(&req.path())
    {
        return next.call(req).await;
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
    };
    let key = match req.headers().get(IDEMPOTENCY_KEY).and_then(|v| v.to_str().ok()) {
        Some(k) if !k.is_empty() && k.len() <= 255 && k.chars().all(|c| c.is_ascii_graphic()) => k.to_owned(),
        _ => {
            return Ok(problem_response(
                req,
                ApiError::field("Idempotency-Key", "invalid", "must be 1 to 255 visible ASCII characters"),
            ))
        }
    };
    // Credentials that do not authenticate: the handler refuses them; nothing to store.
    let Ok(scope) = idempotency_scope(&req, &state).await else {
        return next.call(req).await;
    };

    let mut payload = req.take_payload();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > state.max_body_bytes {
            return Ok(problem_response(
                req,
                ApiError::problem(Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "The request body is too large",
                    format!("at most {} bytes are accepted", state.max_body_bytes),
                )),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str());
    hasher.update([0]);
    hasher.update(req.uri().to_string());
    hasher.update([0]);
    hasher.update(&body);
    let hash = hex::encode(hasher.finalize());

    let begin = {
        let (scope, key) = (scope.clone(), key.clone());
        crate::extract::run(&web::Data::clone(&state), move |app| {
            crm_app::platform::idempotency::begin(app, &scope, &key, &hash)
        })
        .await
    };
    let record = match begin {
        Err(e) => return Ok(problem_response(req, e)),
        Ok(crm_app::platform::idempotency::Begin::Mismatch) => {
            return Ok(problem_response(
                req,
                ApiError::problem(Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_reused",
                    "Idempotency-Key reused for another request",
                    "this Idempotency-Key was used with a different request; use a new key",
                )),
            ))
        }
        Ok(crm_app::platform::idempotency::Begin::InFlight) => {
            return Ok(problem_response(
                req,
                ApiError::problem(Problem::new(
                    StatusCode::CONFLICT,
                    "idempotency_key_in_flight",
                    "The first request with this Idempotency-Key is still running",
                    "retry after it finishes",
                )),
            ))
        }
        Ok(crm_app::platform::idempotency::Begin::Replay(stored)) => {
            return Ok(req.into_response(replay(&stored)));
        }
        Ok(crm_app::platform::idempotency::Begin::AppliedWithoutReply) => {
            return Ok(problem_response(
                req,
                ApiError::problem(Problem::new(
                    StatusCode::CONFLICT,
                    "idempotency_key_applied",
                    "The first request with this Idempotency-Key took effect, but its reply was lost",
                    "the change was made once and is not made again; read the resource to see it",
                )),
            ))
        }
        Ok(crm_app::platform::idempotency::Begin::Proceed(record)) => record,
    };

    let secret_field = secret_field(req.path());
    req.set_payload(actix_web::dev::Payload::from(body));
    // The use cases this request runs mark the record applied in their own
    // write transactions (`extract::run` hands the record to the `App`).
    let res = match IDEMPOTENCY_RECORD.scope(record, next.call(req)).await {
        Ok(res) => res,
        Err(e) => {
            // No reply to keep: an applied record stays applied (a retry gets 409, never a rerun).
            let _ = crate::extract::run(&state, move |app| {
                crm_app::platform::idempotency::abandon(app, record, None)
            })
            .await;
            return Err(e);
        }
    };
    let status = res.status();
    let (http_req, response) = res.into_parts();
    let (head, body) = response.into_parts();
    let bytes = body::to_bytes(body).await.map_err(|_| actix_web::error::ErrorInternalServerError("body"))?;
    let mut kept = serde_json::Map::new();
    for name in
        [header::CONTENT_TYPE, header::LOCATION, header::ETAG, header::RETRY_AFTER, header::WWW_AUTHENTICATE]
    {
        if let Some(v) = head.headers().get(&name).and_then(|v| v.to_str().ok()) {
            kept.insert(name.as_str().to_owned(), serde_json::Value::String(v.to_owned()));
        }
    }
    let body_text = String::from_utf8_lossy(&bytes).into_owned();
    let stored = crm_app::platform::idempotency::StoredResponse {
        status: status.as_u16(),
        headers: serde_json::Value::Object(kept).to_string(),
        body: match secret_field {
            Some(field) => without_field(&body_text, field),
            None => body_text,
        },
    };
    let outcome = if status.is_server_error()
        || status == StatusCode::UNAUTHORIZED
        || status == StatusCode::TOO_MANY_REQUESTS
    {
        // Not an answer to the request itself (our failure, credentials,
        // throttling): forgotten so that the retry runs it again — unless a
        // change of it committed, and then this is its answer.
        crate::extract::run(&state, move |app| {
            crm_app::platform::idempotency::abandon(app, record, Some(&stored))
        })
        .await
    } else {
        crate::extract::run(&state, move |app| crm_app::platform::idempotency::complete(app, record, &stored))
            .await
    };
    if let Err(e) = outcome {
        tracing::warn!(error = %e, "could not store the idempotent response");
    }
    let response = head.set_body(bytes).map_into_boxed_body();
    Ok(ServiceResponse::new(http_req, response))
}

/// A JSON body with one top-level field set to null (a secret not to store).
fn without_field(body: &str, field: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut map)) => {
            if map.contains_key(field) {
                map.insert(field.to_owned(), serde_json::Value::Null);
            }
            serde_json::Value::Object(map).to_string()
        }
        // Not an object (an error page): nothing secret in it.
        _ => body.to_owned(),
    }
}

fn replay(stored: &crm_app::platform::idempotency::StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut res = HttpResponse::build(status);
    if let Ok(serde_json::Value::Object(headers)) = serde_json::from_str::<serde_json::Value>(&stored.headers)
    {
        for (name, value) in headers {
            if let (Ok(name), Some(value)) = (HeaderName::try_from(name.as_str()), value.as_str()) {
                if let Ok(value) = HeaderValue::from_str(value) {
                    res.insert_header((name, value));
                }
            }
        }
    }
    res.insert_header((REPLAYED, HeaderValue::from_static("true")));
    res.body(stored.body.clone())
}
