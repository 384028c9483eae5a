//! The people and companies we sell to: clients, contacts, the duplicate
//! check, the per-field history and the dates that come round every year. Uses `identity` and `platform`.

pub mod clients;
pub mod contacts;
pub mod dates;
pub mod duplicates;
pub mod history;
