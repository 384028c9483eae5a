//! Quotes (КП): one or more variants of priced lines offered to the client;
//! the client approves one variant, and orders are made from it.

mod approve;
mod crud;
mod orders;
mod view;

pub use approve::*;
pub use crud::*;
pub use orders::*;
pub use view::*;
