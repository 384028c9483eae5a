//! Holds every request to the operation the spec publishes for its path,
//! before routing: a method the path does not have is 405 with `Allow`, and
//! a query parameter the operation does not declare is 400, as an unknown
//! body field already is. The table is read from the spec itself, so what is
//! refused and what is documented cannot drift apart.

use std::collections::BTreeSet;
use std::sync::Arc;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web;

use crm_app::FieldError;

use crate::error::{ApiError, Problem};

/// One path template of the spec, split into segments (`None` is a `{param}`),
/// and what each of its methods declares.
struct Template {
    segments: Vec<Option<String>>,
    methods: Vec<(Method, Declared)>,
}

/// An operation's query parameters and the media types its body may have.
struct Declared {
    query: BTreeSet<String>,
    bodies: BTreeSet<String>,
}

/// The spec's paths, for matching a request before routing.
#[derive(Clone)]
pub struct Operations(Arc<Vec<Template>>);

impl Operations {
    pub fn from_spec(spec: &serde_json::Value) -> Self {
        let mut templates = Vec::new();
        let paths = spec.get("paths").and_then(|p| p.as_object());
        for (path, item) in paths.into_iter().flatten() {
            let segments = path
                .trim_start_matches('/')
                .split('/')
                .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_owned()))
                .collect();
            let mut methods = Vec::new();
            for (method, op) in item.as_object().into_iter().flatten() {
                let Ok(m) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else { continue };
                let query = op
                    .get("parameters")
                    .and_then(|p| p.as_array())
                    .into_iter()
                    .flatten()
                    .filter(|p| p.get("in").and_then(|i| i.as_str()) == Some("query"))
                    .filter_map(|p| p.get("name").and_then(|n| n.as_str()).map(str::to_owned))
                    .collect();
                let bodies = op
                    .pointer("/requestBody/content")
                    .and_then(|c| c.as_object())
                    .into_iter()
                    .flatten()
                    .map(|(media, _)| media.to_ascii_lowercase())
                    .collect();
                methods.push((m, Declared { query, bodies }));
            }
            templates.push(Template { segments, methods });
        }
        Operations(Arc::new(templates))
    }

    /// The template a path matches; where several do (`/payments/batch` and
    /// `/payments/{id}`), the one with more literal segments, as the router
    /// prefers.
    fn find(&self, path: &str) -> Option<&Template> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        self.0
            .iter()
            .filter(|t| {
                t.segments.len() == parts.len()
                    && t.segments.iter().zip(&parts).all(|(seg, part)| match seg {
                        Some(lit) => lit == part,
                        None => !part.is_empty(),
                    })
            })
            .max_by_key(|t| t.segments.iter().filter(|s| s.is_some()).count())
    }
}

fn refuse(req: ServiceRequest, e: ApiError, allow: Option<String>) -> ServiceResponse<BoxBody> {
    let mut res = crate::middleware::problem_response(req, e);
    if let Some(allow) = allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
        res.headers_mut().insert(header::ALLOW, allow);
    }
    res
}

pub async fn conform(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(ops) = req.app_data::<web::Data<Operations>>().cloned() else {
        return next.call(req).await;
    };
    let Some(template) = ops.find(req.path()) else {
        // Not a published path: the documentation UI, or a 404 from the router.
        return next.call(req).await;
    };
    // A CORS preflight is answered by the CORS layer (or the website form's
    // own handler), which knows the origins; it never reaches an operation.
    if req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
        return next.call(req).await;
    }
    let declared = template.methods.iter().find(|(m, _)| m == req.method()).map(|(_, d)| d);
    let Some(Declared { query, bodies }) = declared else {
        let allow: Vec<&str> = template.methods.iter().map(|(m, _)| m.as_str()).collect();
        let allow = allow.join(", ");
        let e = ApiError::problem(Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method not allowed",
            format!("{} is not allowed here; use {allow}", req.method()),
        ));
        return Ok(refuse(req, e, Some(allow)));
    };
    // An unreadable query string is left to the handler's own extractor.
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let unknown: BTreeSet<String> =
        pairs.into_iter().map(|(k, _)| k).filter(|k| !query.contains(k)).collect();
    if !unknown.is_empty() {
        let takes = if query.is_empty() {
            "this operation takes no query parameters".to_owned()
        } else {
            format!("this operation takes {}", query.iter().cloned().collect::<Vec<_>>().join(", "))
        };
        let fields = unknown
            .iter()
            .map(|k| {
                FieldError::new(k.clone(), "unknown_parameter", format!("{k} is not a parameter; {takes}"))
            })
            .collect();
        return Ok(refuse(req, ApiError::fields(fields), None));
    }
    // A body in a media type the operation does not take is 415, before any
    // extractor reads it: `text/json` and `application/merge-patch+json` are
    // not `application/json` (actix would take any `*/json` or `+json`).
    if let Some(sent) = req.headers().get(header::CONTENT_TYPE) {
        let essence = sent.to_str().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if !bodies.is_empty() && !bodies.contains(&essence) {
            let takes: Vec<&str> = bodies.iter().map(String::as_str).collect();
            let e = ApiError::problem(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported content type",
                format!("send the body as {}", takes.join(" or ")),
            ));
            return Ok(refuse(req, e, None));
        }
    }
    next.call(req).await
}
