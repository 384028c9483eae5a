//! Queries of the identity area: sign-in, users, departments, absences.

pub mod absences;
pub mod auth;
pub mod departments;
pub mod users;
