//! Queries, one module per area. Each takes a connection (usually inside a
//! transaction opened by `app`) and returns rows.

pub mod auth;
pub mod catalog;
pub mod clients;
pub mod departments;
pub mod documents;
pub mod idempotency;
pub mod leads;
pub mod orders;
pub mod outbox;
pub mod sales;
pub mod users;

use crate::types::DbUuid;

/// Keyset page request: rows after `after` in id order, at most `limit`.
#[derive(Debug, Clone, Copy)]
pub struct PageQuery {
    pub after: Option<DbUuid>,
    pub limit: i64,
}
