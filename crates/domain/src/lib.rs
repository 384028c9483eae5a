//! The CRM's business vocabulary: entities, value types that cannot hold a bad
//! value, and their invariants. No IO, no framework types.

pub mod ids;
pub mod org;
pub mod values;

pub use ids::new_id;
pub use org::{Role, Scope};
pub use values::{Email, PersonName, TimeZoneName, ValueError};
