//! The change feed: every change's events, rendered as the entity's GET
//! returns it, read gap-free in commit order and filtered to what the reader
//! may see (with tombstones for what left their view). The top area: it
//! loads the entities of every area below.

pub mod dispatch;
pub mod events;
pub mod retention;
pub mod snapshots;
pub mod webhooks;
