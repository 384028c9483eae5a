//! Queries of the identity area: sign-in, users, departments.

pub mod auth;
pub mod departments;
pub mod users;
