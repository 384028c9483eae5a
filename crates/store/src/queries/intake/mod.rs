//! Queries of the intake area.

pub mod leads;
