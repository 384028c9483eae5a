//! The ground floor: errors, paging, the clock, the outbox, idempotency and
//! health. No business words live here; every area may use it.

pub mod actor;
pub mod clock;
pub mod error;
pub mod health;
pub mod idempotency;
pub mod outbox;
pub mod page;
