//! Queries of the parties area.

pub mod clients;
pub mod dates;
