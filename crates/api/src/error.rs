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
    pub fn fields(fields: Vec<FieldError>) -> Self {
        ApiError::App(AppError::Validation(fields))
    }

    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        ApiError::App(AppError::field(field, code, message))
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
            AppError::Validation(fields) => {
                let n = fields.len();
                let mut p = Problem::new(
                    StatusCode::BAD_REQUEST,
                    "validation",
                    "The request has invalid fields",
                    if n == 1 { "1 field is invalid".to_owned() } else { format!("{n} fields are invalid") },
                );
                p.errors = fields
                    .iter()
                    .map(|f| ProblemField {
                        field: f.field.clone(),
                        code: f.code.clone(),
                        message: f.message.clone(),
                    })
                    .collect();
                p
            }
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
            AppError::DeliveryFailed { message, attempt } => {
                headers.push((header::LOCATION, format!("/api/v1/invoice-sendings/{attempt}")));
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
    let (slug, title, detail) = match status {
        StatusCode::NOT_FOUND => (
            "no_route",
            "Not found",
            format!("no resource at {} {}", res.request().method(), res.request().path()),
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "Method not allowed",
            format!("{} is not allowed on {}", res.request().method(), res.request().path()),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => {
            ("too_large", "The request body is too large", "the body exceeds the size limit".to_owned())
        }
        s if s.is_server_error() => {
            ("internal", "Internal error", "something went wrong on our side; it has been logged".to_owned())
        }
        s => ("error", s.canonical_reason().unwrap_or("Error"), s.to_string()),
    };
    let problem = Problem::new(status, slug, title, detail);
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

/// Type of `ErrorHandlers` responses, for the app's type signature.
pub type ProblemBody<B> = EitherBody<B, BoxBody>;
