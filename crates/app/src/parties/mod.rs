//! The people and companies we sell to: clients, contacts, the duplicate
//! check and the per-field history. Uses `identity` and `platform`.

pub mod clients;
pub mod contacts;
pub mod duplicates;
pub mod history;
