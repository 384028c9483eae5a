//! Routes grouped by resource; handlers are thin: parse, call `app`, shape.

pub mod api_keys;
pub mod auth;
pub mod catalog;
pub mod clients;
pub mod departments;
pub mod documents;
pub mod health;
pub mod intake;
pub mod interests;
pub mod leads;
pub mod orders;
pub mod scenarios;
pub mod users;
pub mod work;

use actix_web::web;

/// Everything under `/api/v1`.
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .configure(auth::configure)
            .configure(users::configure)
            .configure(departments::configure)
            .configure(api_keys::configure)
            .configure(scenarios::configure)
            .configure(interests::configure)
            .configure(work::configure)
            .configure(clients::configure)
            .configure(leads::configure)
            .configure(intake::configure)
            .configure(catalog::configure)
            .configure(orders::configure)
            .configure(documents::configure),
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
