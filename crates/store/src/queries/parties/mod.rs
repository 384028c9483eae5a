//! Queries of the parties area.

pub mod clients;
