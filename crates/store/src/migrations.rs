//! Embedded migrations for both backends, applied at start and by `crm-server migrate`.

use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::db::{DbConnection, StoreError};

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// The key of the advisory lock instances take while migrating ("crm migrations").
const MIGRATION_LOCK: i64 = 0x63_72_6d_5f_6d_69_67;

/// Applies every pending migration; returns the versions applied.
///
/// On PostgreSQL several instances may start at once on an empty database:
/// each takes a session advisory lock first, so one migrates while the
/// others wait and then find nothing pending (without it, two would create
/// the same tables and one would fail to start).
pub fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    let applied = match conn {
        DbConnection::Pg(c) => {
            use diesel::RunQueryDsl;
            let lock = |c: &mut diesel::PgConnection, sql: &str| {
                diesel::sql_query(sql)
                    .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
                    .execute(c)
                    .map_err(|e| StoreError::Migration(format!("migration lock: {e}")))
            };
            lock(c, "SELECT pg_advisory_lock($1)")?;
            let result =
                c.run_pending_migrations(POSTGRES).map(|v| v.iter().map(ToString::to_string).collect());
            // Released whatever happened; a lost connection releases it too.
            let unlocked = lock(c, "SELECT pg_advisory_unlock($1)");
            let result = result.map_err(|e| StoreError::Migration(e.to_string()));
            return match (result, unlocked) {
                (Ok(v), Ok(_)) => Ok(v),
                (Err(e), _) | (Ok(_), Err(e)) => Err(e),
            };
        }
        DbConnection::Sqlite(c) => {
            c.run_pending_migrations(SQLITE).map(|v| v.iter().map(ToString::to_string).collect())
        }
    };
    applied.map_err(|e| StoreError::Migration(e.to_string()))
}

/// Reverts the latest applied migration; returns its version. Only tests
/// call it, to prove a migration's backfill: revert, then `run_pending`.
pub fn revert_last(conn: &mut DbConnection) -> Result<String, StoreError> {
    let reverted = match conn {
        DbConnection::Pg(c) => c.revert_last_migration(POSTGRES),
        DbConnection::Sqlite(c) => c.revert_last_migration(SQLITE),
    };
    reverted.map(|v| v.to_string()).map_err(|e| StoreError::Migration(e.to_string()))
}

/// Whether the database lacks a migration this build knows (for `/readyz`).
pub fn has_pending(conn: &mut DbConnection) -> Result<bool, StoreError> {
    let pending = match conn {
        DbConnection::Pg(c) => c.has_pending_migration(POSTGRES),
        DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE),
    };
    pending.map_err(|e| StoreError::Migration(e.to_string()))
}
