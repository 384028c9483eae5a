//! Leads: inbound requests in the inbox, and the acceptance wizard that turns
//! one into an interest (or links it to an existing one) after a duplicate check.

mod accept;
pub(crate) mod inbox;
mod reject;
mod wizard;

pub use accept::*;
pub use inbox::*;
pub use reject::*;
pub use wizard::*;
