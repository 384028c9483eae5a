//! The CRM's HTTP face: actix-web routes, auth, problem+json errors, the
//! OpenAPI document and its reference page, health and metrics.
//!
//! Handlers are thin: they parse and validate, call a `crm_app` use case on
//! the blocking pool, and shape the result.

pub mod access_audit;
pub mod codes;
pub mod config;
pub mod conformance;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod rate_limit;
pub mod routes;
pub mod startup;
pub mod webhooks;

pub use config::Config;
pub use startup::{Application, StartError};
