//! Routes of the parties area: clients, contacts, history, duplicates.

pub mod clients;
pub mod contacts;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(clients::configure).configure(contacts::configure);
}
