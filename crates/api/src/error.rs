//! Every error leaves as RFC 9457 `application/problem+json`.
//!
//! Use-case failures arrive as [`AppError`]; actix's own extractor failures
//! (JSON, query, path) are routed here by their config error handlers, and
//! any other error response is rewritten by [`problemize`]. Internal causes
//! are logged with the request id and never sent.

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use crm_app::{AppError, FieldError, Unmet};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Every problem `type` the server answers with (`urn:crm:problem:<slug>`),
/// its status and what a client does about it. Published in the spec as the
/// enum of `Problem.type` and as `x-problem-types`, and as the README's table;
/// a test finds every `Problem::new` in the source and checks it is here.
pub const PROBLEM_TYPES: &[(&str, u16, &str)] = &[
    ("validation", 400, "The request cannot be read into the operation's shape (JSON types, a missing or unknown field or parameter, a control character, a date out of range, a malformed id, cursor or filter value); `errors[]` names each field with a stable `code`."),
    ("malformed", 400, "The request cannot be read at all (bad JSON, bad path or header syntax)."),
    ("unauthenticated", 401, "No credentials, or invalid, expired or revoked ones. Sign in or refresh the token."),
    ("forbidden", 403, "Your role or your API key's scopes do not allow this operation."),
    ("not_found", 404, "No such resource, or one you may not see (the two are never told apart)."),
    ("no_route", 404, "No operation has this path."),
    ("method_not_allowed", 405, "The path exists but not with this method; `Allow` lists the methods."),
    ("conflict", 409, "Conflicts with the current state (a unique value is taken: `errors[].code` is `taken`)."),
    ("possible_duplicate", 409, "Looks like existing records (`candidates[]`); use one, or repeat with `confirm_new: true`."),
    ("idempotency_key_in_flight", 409, "The first request with this Idempotency-Key is still running; retry later."),
    ("idempotency_key_applied", 409, "The first request with this Idempotency-Key took effect but its reply was lost; read the resource."),
    ("cursor_expired", 410, "The feed cursor is older than the events kept; resync from the lists with `updated_since`."),
    ("stale_version", 412, "`If-Match` names a version that is no longer current; read again and retry."),
    ("too_large", 413, "The body is larger than `CRM_MAX_BODY_BYTES`."),
    ("uri_too_long", 414, "The path and query are longer than 8 KiB."),
    ("unsupported_media_type", 415, "The body's Content-Type is not one the operation takes."),
    ("invalid_fields", 422, "The request was read, but values break the operation's rules (a format, length or range, a checksum, a date against today, a sum, one field against another); `errors[]` names each field with a stable `code`."),
    ("rules_unmet", 422, "Business rules are not met; `unmet[]` lists every rule with a stable `check`."),
    ("idempotency_key_reused", 422, "This Idempotency-Key was used with another request body; use a new key."),
    ("rate_limited", 429, "Too many requests or sign-in attempts; wait `Retry-After` seconds."),
    ("headers_too_large", 431, "The request's header fields are larger than 32 KiB together."),
    ("internal", 500, "A fault on our side, logged with the request id (`x-request-id`)."),
    ("access_audit", 500, "The access a use case required differs from the one the spec publishes (only with `CRM_ACCESS_AUDIT=on`)."),
    ("delivery_failed", 502, "The mail server refused the message; the attempt is recorded (`Location`) and can be retried."),
    ("unavailable", 503, "The database could not be reached or did not answer in time; retry after `Retry-After`."),
    ("not_migrated", 503, "The database is not migrated to this version; run `crm-server migrate`."),
];

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemField {
    /// The field, as named in the request (`email`, `scopes[1]`, `limit`).
    #[schema(example = "email")]
    pub field: String,
    /// A stable, machine-readable reason.
    #[schema(example = "invalid_email")]
    pub code: String,
    #[schema(example = "\"ivan@\" is not an e-mail address")]
    pub message: String,
}

/// One business rule the request did not meet.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemUnmet {
    #[schema(example = "head_role")]
    pub check: String,
    #[schema(example = "a department head needs the head or admin role")]
    pub message: String,
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:crm:problem:validation",
    "title": "The request has invalid fields",
    "status": 400,
    "detail": "1 field is invalid",
    "errors": [{"field": "email", "code": "invalid_email", "message": "\"ivan@\" is not an e-mail address"}]
}))]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Invalid fields (validation problems).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// Every unmet business rule (422 problems).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmet: Vec<ProblemUnmet>,
    /// Existing records the request looks like (409 on a possible duplicate).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<crate::routes::parties::clients::CandidateDto>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        debug_assert!(
            PROBLEM_TYPES.iter().any(|(s, code, _)| *s == slug && *code == status.as_u16()),
            "problem type {slug} ({status}) is not in PROBLEM_TYPES"
        );
        Self {
            kind: format!("urn:crm:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            unmet: Vec::new(),
            candidates: Vec::new(),
        }
    }

    pub fn response(&self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        HttpResponse::build(status).content_type(PROBLEM_JSON).json(self)
    }
}

/// The API's error: a use-case error, or a problem decided at the HTTP edge.
#[derive(Debug)]
pub enum ApiError {
    App(AppError),
    Http { problem: Box<Problem>, headers: Vec<(header::HeaderName, String)> },
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::App(e) => write!(f, "{e}"),
            ApiError::Http { problem, .. } => write!(f, "{}: {}", problem.title, problem.detail),
        }
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError::App(e)
    }
}

impl ApiError {
    pub fn problem(problem: Problem) -> Self {
        ApiError::Http { problem: Box::new(problem), headers: Vec::new() }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::problem(Problem::new(StatusCode::BAD_REQUEST, "malformed", "The request is malformed", detail))
    }

    /// 400 naming the fields at fault.
    /// A request that does not fit the operation's schema (400). Rules
    /// the schema cannot state come from the use cases as `AppError::Validation` (422).
    pub fn fields(fields: Vec<FieldError>) -> Self {
        Self::problem(field_problem(false, &fields))
    }

    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::fields(vec![FieldError::new(field, code, message)])
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        ApiError::App(AppError::Unauthenticated(detail.into()))
    }

    pub(crate) fn to_problem(&self) -> (Problem, Vec<(header::HeaderName, String)>) {
        let e = match self {
            ApiError::Http { problem, headers } => return ((**problem).clone(), headers.clone()),
            ApiError::App(e) => e,
        };
        let mut headers = Vec::new();
        let problem = match e {
            AppError::Validation(fields) => field_problem(true, fields),
            AppError::Malformed(fields) => field_problem(false, fields),
            AppError::Unauthenticated(why) => {
                headers.push((header::WWW_AUTHENTICATE, "Bearer realm=\"crm\"".to_owned()));
                Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "Authentication is required",
                    why.clone(),
                )
            }
            AppError::Forbidden(why) => {
                Problem::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed", why.clone())
            }
            AppError::NotFound(what) => Problem::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "Not found",
                format!("the {what} does not exist or is not visible to you"),
            ),
            AppError::Conflict { message, field } => {
                let mut p = Problem::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    "Conflicts with the current state",
                    message.clone(),
                );
                if let Some(field) = field {
                    p.errors.push(ProblemField {
                        field: field.clone(),
                        code: "taken".to_owned(),
                        message: message.clone(),
                    });
                }
                p
            }
            AppError::Duplicates(found) => {
                let mut p = Problem::new(
                    StatusCode::CONFLICT,
                    "possible_duplicate",
                    "Possible duplicate",
                    "records with the same phone, e-mail or tax id exist; use one of them, or repeat with \"confirm_new\": true",
                );
                p.candidates =
                    found.iter().cloned().map(crate::routes::parties::clients::CandidateDto::from).collect();
                p
            }
            AppError::PreconditionFailed { .. } => Problem::new(
                StatusCode::PRECONDITION_FAILED,
                "stale_version",
                "The resource has changed",
                format!("{e}; read it again and retry with its current ETag"),
            ),
            AppError::Rules(unmet) => {
                let mut p = Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "rules_unmet",
                    "Business rules are not met",
                    unmet.iter().map(|u| u.message.as_str()).collect::<Vec<_>>().join("; "),
                );
                p.unmet = unmet
                    .iter()
                    .map(|Unmet { check, message }| ProblemUnmet {
                        check: check.clone(),
                        message: message.clone(),
                    })
                    .collect();
                p
            }
            AppError::RateLimited { retry_after } => {
                headers.push((header::RETRY_AFTER, retry_after.as_secs().max(1).to_string()));
                Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "Too many attempts",
                    format!("try again in {} seconds", retry_after.as_secs().max(1)),
                )
            }
            AppError::CursorExpired => Problem::new(
                StatusCode::GONE,
                "cursor_expired",
                "The cursor is older than the events kept",
                "events after this cursor were pruned (CRM_EVENTS_RETENTION); resync from the lists with updated_since, then follow the feed again from a cursor read now",
            ),
            AppError::Unavailable => {
                headers.push((header::RETRY_AFTER, "1".to_owned()));
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "The database is unavailable",
                    "the database could not be reached or did not answer in time; retry shortly",
                )
            }
            AppError::DeliveryFailed { message, attempt, path } => {
                headers.push((header::LOCATION, format!("/api/v1/{path}/{attempt}")));
                Problem::new(
                    StatusCode::BAD_GATEWAY,
                    "delivery_failed",
                    "The message could not be delivered",
                    format!("{message}; the attempt {attempt} is recorded and can be retried"),
                )
            }
            AppError::Internal(cause) => {
                tracing::error!(cause = %cause, "internal error");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "something went wrong on our side; it has been logged",
                )
            }
        };
        (problem, headers)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        let (p, _) = self.to_problem();
        StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let (problem, headers) = self.to_problem();
        if problem.status < 500 {
            tracing::info!(status = problem.status, kind = %problem.kind, detail = %problem.detail, "request refused");
        }
        let mut res = problem.response();
        for (name, value) in headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                res.headers_mut().insert(name, v);
            }
        }
        res
    }
}

/// Rewrites any error response that is not already problem+json (actix's
/// 404/405, a panic's 500, a body-limit 413…) into one, keeping its status.
pub fn problemize<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with(PROBLEM_JSON));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let request = format!("{} {}", res.request().method(), res.request().path());
    let mut problem = match status {
        StatusCode::NOT_FOUND => {
            Problem::new(StatusCode::NOT_FOUND, "no_route", "Not found", format!("no resource at {request}"))
        }
        StatusCode::METHOD_NOT_ALLOWED => Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method not allowed",
            format!("{} is not allowed on {}", res.request().method(), res.request().path()),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "The request body is too large",
            "the body exceeds the size limit",
        ),
        s if s.is_server_error() => Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "something went wrong on our side; it has been logged",
        ),
        // Any other refusal from the framework (a bad header, a URI it cannot
        // read): the request could not be read; its own status is kept below.
        s => Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed",
            "The request is malformed",
            s.canonical_reason().unwrap_or("the request cannot be read").to_owned(),
        ),
    };
    problem.status = status.as_u16();
    let (req, mut old) = res.into_parts();
    let mut new = problem.response();
    // Keep headers such as `Allow` that tell the client what to do.
    for (name, value) in old.headers_mut().drain() {
        if let Some(name) = name {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                new.headers_mut().insert(name, value);
            }
        }
    }
    let res = ServiceResponse::new(req, new).map_into_boxed_body().map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}

/// A problem listing invalid fields: 400 when the request does not fit the
/// schema, 422 when it does but its values break a rule.
fn field_problem(fits_schema: bool, fields: &[FieldError]) -> Problem {
    let n = fields.len();
    let detail = if n == 1 { "1 field is invalid".to_owned() } else { format!("{n} fields are invalid") };
    let mut p = if fits_schema {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_fields", "Some fields break a rule", detail)
    } else {
        Problem::new(StatusCode::BAD_REQUEST, "validation", "The request has invalid fields", detail)
    };
    p.errors = fields
        .iter()
        .map(|f| ProblemField { field: f.field.clone(), code: f.code.clone(), message: f.message.clone() })
        .collect();
    p
}

/// Type of `ErrorHandlers` responses, for the app's type signature.
pub type ProblemBody<B> = EitherBody<B, BoxBody>;

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(dir: &std::path::Path, found: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }

    /// Every `Problem::new(StatusCode::X, "slug", …)` in the source, as (file, status name, slug).
    fn constructed() -> Vec<(String, String, String)> {
        let mut files = Vec::new();
        sources(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
        let mut found = Vec::new();
        for (file, text) in files {
            // Only the server's code: a test module quotes the call.
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (at, _) in text.match_indices("Problem::new(") {
                let args: String = text[at + "Problem::new(".len()..]
                    .chars()
                    .take(300)
                    .filter(|c| !c.is_whitespace())
                    .collect();
                // The definition itself (`status: StatusCode, slug: &str`) is not a use.
                if args.starts_with("status:") {
                    continue;
                }
                let (status, rest) = args.split_once(',').unwrap();
                let slug = rest.strip_prefix('"').and_then(|r| r.split_once('"')).map(|(s, _)| s.to_owned());
                let slug =
                    slug.unwrap_or_else(|| panic!("{file}: Problem::new without a literal slug: {args}"));
                let name = status.rsplit("::").next().unwrap().to_owned();
                found.push((file.clone(), name, slug));
            }
        }
        found
    }

    #[test]
    fn every_problem_the_server_builds_is_catalogued_with_its_status() {
        let found = constructed();
        assert!(found.len() >= 20, "the scan found only {} problems", found.len());
        for (file, status, slug) in &found {
            let entry = PROBLEM_TYPES.iter().find(|(s, _, _)| s == slug);
            let (_, code, _) = entry.unwrap_or_else(|| panic!("{file}: {slug} is not in PROBLEM_TYPES"));
            let reason = StatusCode::from_u16(*code).unwrap().canonical_reason().unwrap();
            let expected = reason.to_uppercase().replace([' ', '-'], "_");
            assert_eq!(status, &expected, "{file}: {slug} is built with {status}, catalogued as {code}");
        }
        // And nothing is catalogued that the server never builds.
        for (slug, _, _) in PROBLEM_TYPES {
            assert!(found.iter().any(|(_, _, s)| s == slug), "{slug} is catalogued but never built");
        }
    }

    /// (slug, title) of every `Problem::new` whose title is a literal.
    fn titles() -> Vec<(String, String)> {
        let mut files = Vec::new();
        sources(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
        let literal = |text: &str| -> Option<(String, usize)> {
            let body = text.strip_prefix('"')?;
            let end = body.find('"')?;
            Some((body[..end].to_owned(), end + 2))
        };
        let mut found = Vec::new();
        for (_, text) in files {
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (at, _) in text.match_indices("Problem::new(") {
                let rest = &text[at + "Problem::new(".len()..];
                let Some(comma) = rest.find(',') else { continue };
                let rest = rest[comma + 1..].trim_start();
                let Some((slug, used)) = literal(rest) else { continue };
                let rest = rest[used..].trim_start().strip_prefix(',').unwrap_or_default().trim_start();
                if let Some((title, _)) = literal(rest) {
                    found.push((slug, title));
                }
            }
        }
        found
    }

    /// The spec's problem examples are of catalogued types, one for each,
    /// with a title the server really gives that type.
    #[test]
    fn the_problem_examples_carry_titles_the_server_gives() {
        let titles = titles();
        assert!(titles.len() >= 20, "the scan found only {} titles", titles.len());
        let examples = crate::openapi::PROBLEM_EXAMPLES;
        for (slug, _, _) in PROBLEM_TYPES {
            assert!(examples.iter().any(|(s, ..)| s == slug), "{slug} has no example");
        }
        for (slug, title, _, extra) in examples {
            assert!(PROBLEM_TYPES.iter().any(|(s, _, _)| s == slug), "{slug} is not catalogued");
            assert!(
                titles.iter().any(|(s, t)| s == slug && t == title),
                "{slug}: the server never titles it {title:?}"
            );
            assert!(serde_json::from_str::<serde_json::Value>(extra).unwrap().is_object(), "{slug}");
        }
    }

    #[test]
    fn the_readme_table_lists_the_catalogue() {
        let readme =
            std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
                .unwrap();
        for (slug, status, meaning) in PROBLEM_TYPES {
            let row = format!("| `{slug}` | {status} | {meaning} |");
            assert!(readme.contains(&row), "README lacks the row {row}");
        }
    }
}
