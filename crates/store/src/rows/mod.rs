//! Row structs as the tables hold them, a file per area; `*Form` structs are
//! what inserts and updates write.

mod documents;
mod identity;
mod intake;
mod parties;
mod platform;
mod sales;

pub use documents::*;
pub use identity::*;
pub use intake::*;
pub use parties::*;
pub use platform::*;
pub use sales::*;
