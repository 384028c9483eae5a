//! Queries of the platform: the outbox and idempotency records.

pub mod idempotency;
pub mod outbox;
pub mod webhooks;
