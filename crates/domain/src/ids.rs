//! Ids are UUIDv7: unique without coordination and ordered by creation time,
//! which keeps keyset pagination stable and index inserts local.

use uuid::Uuid;

/// A fresh, time-ordered id.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_fresh_version_7_and_ordered() {
        let (a, b) = (super::new_id(), super::new_id());
        assert_ne!(a, b);
        assert_eq!(a.get_version_num(), 7);
        assert!(a < b);
    }
}
