//! Routes of the parties area: clients, contacts, history, duplicates, yearly dates.

pub mod clients;
pub mod contacts;
pub mod dates;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(clients::configure).configure(contacts::configure).configure(dates::configure);
}
