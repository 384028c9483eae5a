//! Persistence for the CRM: one diesel code path over SQLite and PostgreSQL.
//!
//! This crate knows SQL and nothing of HTTP or business rules. `app` opens the
//! transactions (through [`db::write_transaction`]) and calls the queries here.

pub mod db;
pub mod migrations;
pub mod queries;
pub mod rows;
pub mod schema;
pub mod types;

pub use db::{
    build_pool, read_transaction, write_transaction, Backend, ConnectionManager, DbConnection, Pool,
    PooledConnection, StoreError,
};
pub use types::{DbUuid, DbWord};
