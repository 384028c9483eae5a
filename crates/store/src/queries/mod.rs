//! Queries, a folder per area (as crm-app's), a file per resource. Each takes a connection (usually inside a
//! transaction opened by `app`) and returns rows.

pub mod documents;
pub mod identity;
pub mod intake;
pub mod parties;
pub mod platform;
pub mod sales;

// Resource modules by their short names, as the use cases call them.
pub use documents::{catalog, orders};
pub use identity::{auth, departments, users};
pub use intake::leads;
pub use parties::clients;
pub use platform::{idempotency, outbox, webhooks};

use crate::types::DbUuid;

/// Keyset page request: rows after `after` in id order, at most `limit`.
#[derive(Debug, Clone, Copy)]
pub struct PageQuery {
    pub after: Option<DbUuid>,
    pub limit: i64,
}
