//! The CRM's business vocabulary: entities, value types that cannot hold a bad
//! value, and their invariants. No IO, no framework types.

pub mod contact_data;
pub mod documents;
pub mod duplicates;
pub mod health;
pub mod ids;
pub mod money;
pub mod org;
pub mod pricing;
#[macro_use]
pub mod status;
pub mod events;
pub mod text;
pub mod values;
pub mod words;
pub mod yearly;

pub use contact_data::{Phone, TaxId};
pub use health::Health;
pub use ids::new_id;
pub use money::{Money, TooLarge};
pub use org::{Role, Scope};
pub use pricing::{Quantity, VatRate};
pub use values::{Currency, Email, PersonName, TimeZoneName, ValueError};
pub use yearly::YearlyDate;
