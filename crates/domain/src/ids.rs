//! Ids are UUIDv7: unique without coordination and ordered by creation time,
//! which keeps keyset pagination stable and index inserts local.

use uuid::Uuid;

/// A fresh, time-ordered id.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}
