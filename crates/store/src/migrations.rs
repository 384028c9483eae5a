//! Embedded migrations for both backends, applied at start and by `crm-server migrate`.

use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::db::{DbConnection, StoreError};

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Applies every pending migration; returns the versions applied.
pub fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    let applied = match conn {
        DbConnection::Pg(c) => {
            c.run_pending_migrations(POSTGRES).map(|v| v.iter().map(ToString::to_string).collect())
        }
        DbConnection::Sqlite(c) => {
            c.run_pending_migrations(SQLITE).map(|v| v.iter().map(ToString::to_string).collect())
        }
    };
    applied.map_err(|e| StoreError::Migration(e.to_string()))
}

/// Whether the database lacks a migration this build knows (for `/readyz`).
pub fn has_pending(conn: &mut DbConnection) -> Result<bool, StoreError> {
    let pending = match conn {
        DbConnection::Pg(c) => c.has_pending_migration(POSTGRES),
        DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE),
    };
    pending.map_err(|e| StoreError::Migration(e.to_string()))
}
