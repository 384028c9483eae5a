//! Routes grouped by resource; handlers are thin: parse, call `app`, shape.

pub mod analytics;
pub mod documents;
pub mod feed;
pub mod health;
pub mod identity;
pub mod intake;
pub mod parties;
pub mod sales;
pub mod webhooks;
pub mod words;

use actix_web::web;

/// Everything under `/api/v1`.
/// The API under `/api/v1`. With `cors_origins`, browsers on those sites may
/// call it (preflights answered, credentials allowed, our headers exposed);
/// without, no CORS header is sent and browsers keep other sites out.
pub fn configure_api(cfg: &mut web::ServiceConfig, cors_origins: &[String]) {
    // Registered first: the router takes the first match, and this path's
    // cross-site rules are the form's own.
    cfg.configure(intake::providers::configure_forms);
    cfg.service(
        web::scope("/api/v1")
            .wrap(actix_web::middleware::Condition::new(!cors_origins.is_empty(), cors(cors_origins)))
            .configure(identity::configure)
            .configure(sales::configure)
            .configure(parties::configure)
            .configure(intake::configure)
            .configure(documents::configure)
            .configure(feed::configure)
            .configure(webhooks::configure)
            .configure(analytics::configure),
    );
}

/// Deserialises a field that may be absent (`None`), null (`Some(None)`) or set.
pub(crate) fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(d).map(Some)
}

/// The CORS layer for the API's origins (actix-cors: preflight, `Vary`,
/// credentials and exposed headers as the Fetch standard has them).
fn cors(origins: &[String]) -> actix_cors::Cors {
    use actix_web::http::header;
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            header::HeaderName::from_static("idempotency-key"),
            header::HeaderName::from_static("x-api-key"),
            crate::middleware::REQUEST_ID,
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            crate::middleware::REQUEST_ID,
            crate::rate_limit::LIMIT,
            crate::rate_limit::REMAINING,
            crate::rate_limit::RESET,
            header::HeaderName::from_static("idempotent-replayed"),
        ])
        .supports_credentials()
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}
