//! Routes grouped by resource; handlers are thin: parse, call `app`, shape.

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
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .configure(identity::configure)
            .configure(sales::configure)
            .configure(parties::configure)
            .configure(intake::configure)
            .configure(documents::configure)
            .configure(feed::configure)
            .configure(webhooks::configure),
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
