//! Who is acting and what they may do: sign-in, users, departments, API keys,
//! the principal, the permission table and the policy every area asks about
//! visibility and assignment. Uses only `platform`.

pub mod api_keys;
pub mod auth;
pub mod bootstrap;
pub mod departments;
pub mod permissions;
pub mod policy;
pub mod principal;
pub mod users;
