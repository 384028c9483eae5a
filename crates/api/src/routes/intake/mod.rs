//! Routes of the intake area: the lead inbox and wizard, channels and the provider webhooks.

pub mod leads;
pub mod providers;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(leads::configure).configure(providers::configure);
}
