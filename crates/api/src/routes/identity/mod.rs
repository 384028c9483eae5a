//! Routes of the identity area: sign-in, users, departments, API keys.

pub mod api_keys;
pub mod auth;
pub mod departments;
pub mod users;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(auth::configure)
        .configure(users::configure)
        .configure(departments::configure)
        .configure(api_keys::configure);
}
