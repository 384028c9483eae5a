//! Connections, the r2d2 pool and transactions over both backends.
//!
//! The backend is chosen from the URL scheme by our own manager rather than by
//! the derived `establish`, which tries each backend in turn and so hides the
//! driver's real error (a wrong password would read as "invalid URL").

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, QueryResult, RunQueryDsl};
use parking_lot::{FairMutex, FairMutexGuard};

/// A connection to whichever database the URL named.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// The connection pool, and on SQLite the queue its writers wait in.
///
/// SQLite lets one writer in at a time. Left to itself, every other writer
/// sleeps in SQLite's busy handler and retries on a timer, so whoever wakes
/// first wins and an unlucky request waits for many others (a p99 of
/// 220–320 ms at 8 writers). Here writers of this process queue first come,
/// first served (a fair mutex hands the lock to the longest waiter) before
/// `BEGIN IMMEDIATE`; readers never queue. The busy handler stays for
/// writers in other processes (the command line, a second server).
#[derive(Clone)]
pub struct Pool {
    inner: r2d2::Pool<ConnectionManager>,
    backend: Backend,
    writers: Option<Arc<FairMutex<()>>>,
}

/// A writer's turn on SQLite (nothing on PostgreSQL, whose row locks suffice).
pub type WriteTurn<'a> = Option<FairMutexGuard<'a, ()>>;

impl Pool {
    /// A connection, waiting up to the pool's timeout for one to come free.
    pub fn get(&self) -> Result<PooledConnection, r2d2::Error> {
        self.inner.get()
    }

    pub fn state(&self) -> r2d2::State {
        self.inner.state()
    }

    pub fn max_size(&self) -> u32 {
        self.inner.max_size()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Waits, in arrival order, for this process's turn to write; `None` when
    /// the turn did not come within `timeout` (the caller answers 503).
    pub fn write_turn(&self, timeout: Duration) -> Option<WriteTurn<'_>> {
        match &self.writers {
            None => Some(None),
            Some(queue) => queue.try_lock_for(timeout).map(Some),
        }
    }
}

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Sqlite => "sqlite",
        }
    }
}

/// Failures of the storage layer that callers tell apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("no database connection available within {0:?}")]
    PoolTimeout(Duration),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("cannot create the directory for the SQLite file {path}: {source}")]
    Directory { path: String, source: std::io::Error },
}

impl DbConnection {
    pub fn backend(&self) -> Backend {
        match self {
            Self::Pg(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Where a database URL points, parsed once.
#[derive(Debug, Clone)]
enum Target {
    Postgres(String),
    Sqlite(String),
}

fn parse_url(url: &str) -> Result<Target, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres(url.to_owned()));
    }
    if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        if rest.is_empty() {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        }
        return Ok(Target::Sqlite(rest.to_owned()));
    }
    Err(StoreError::UnsupportedUrl(url.to_owned()))
}

/// The backend a URL selects, or why it selects none.
pub fn backend_of(url: &str) -> Result<Backend, StoreError> {
    Ok(match parse_url(url)? {
        Target::Postgres(_) => Backend::Postgres,
        Target::Sqlite(_) => Backend::Sqlite,
    })
}

/// How long a SQLite writer waits for the lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// An r2d2 manager that picks the backend by URL scheme.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    target: Target,
}

impl ConnectionManager {
    pub fn new(url: &str) -> Result<Self, StoreError> {
        let target = parse_url(url)?;
        if let Target::Sqlite(path) = &target {
            if path != ":memory:" {
                if let Some(parent) = Path::new(path).parent() {
                    if !parent.as_os_str().is_empty() {
                        std::fs::create_dir_all(parent)
                            .map_err(|source| StoreError::Directory { path: path.clone(), source })?;
                    }
                }
            }
        }
        Ok(Self { target })
    }

    pub fn backend(&self) -> Backend {
        match self.target {
            Target::Postgres(_) => Backend::Postgres,
            Target::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Opens one connection, reporting the driver's own error.
    pub fn connect(&self) -> Result<DbConnection, StoreError> {
        match &self.target {
            Target::Postgres(url) => Ok(DbConnection::Pg(PgConnection::establish(url)?)),
            Target::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)?;
                // WAL lets readers run beside the writer; busy_timeout makes a
                // writer wait for the lock instead of failing at once.
                conn.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
                ))
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = StoreError;

    fn connect(&self) -> Result<DbConnection, StoreError> {
        ConnectionManager::connect(self)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), StoreError> {
        conn.batch_execute("SELECT 1").map_err(StoreError::from)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        match conn {
            DbConnection::Pg(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
            DbConnection::Sqlite(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
        }
    }
}

/// Builds the pool after one direct connection, so that a wrong password or a
/// server that is down is reported with the driver's message at start.
///
/// Connections are not tested on checkout: that is a `SELECT 1` round trip
/// before every use. A connection that broke shows it by its first failed
/// statement (the driver then marks its transaction manager broken, which
/// `has_broken` reads), that request is answered 503, and the pool drops it.
pub fn build_pool(url: &str, size: u32, timeout: Duration) -> Result<Pool, StoreError> {
    let manager = ConnectionManager::new(url)?;
    let backend = manager.backend();
    drop(manager.connect()?);
    let inner = r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .test_on_check_out(false)
        .connection_timeout(timeout)
        .build(manager)
        .map_err(|_| StoreError::PoolTimeout(timeout))?;
    let writers = (backend == Backend::Sqlite).then(|| Arc::new(FairMutex::new(())));
    Ok(Pool { inner, backend, writers })
}

/// Runs `f` in a transaction that may write.
///
/// On SQLite it begins `IMMEDIATE`, taking the write lock up front: a deferred
/// transaction that reads and then writes can fail with `SQLITE_BUSY` when
/// another writer got there between the read and the write.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?
        }
        DbConnection::Pg(_) => <DbConnection as Connection>::TransactionManager::begin_transaction(conn)?,
    }
    finish(conn, f)
}

/// Runs `f` inside the current transaction as a savepoint: when `f` fails
/// (a unique key lost to a racing insert, say) only its own work is undone
/// and the transaction can go on — on PostgreSQL, where an error otherwise
/// aborts the whole transaction, as on SQLite.
pub fn savepoint<T, F>(conn: &mut DbConnection, f: F) -> QueryResult<T>
where
    F: FnOnce(&mut DbConnection) -> QueryResult<T>,
{
    conn.transaction(f)
}

/// Runs `f` in a read-only snapshot (a plain deferred transaction).
pub fn read_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    <DbConnection as Connection>::TransactionManager::begin_transaction(conn)?;
    finish(conn, f)
}

fn finish<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    type Tm = <DbConnection as Connection>::TransactionManager;
    match f(conn) {
        Ok(value) => match Tm::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(e) => {
                // A failed COMMIT leaves the transaction open on some drivers.
                let _ = Tm::rollback_transaction(conn);
                Err(e.into())
            }
        },
        Err(e) => {
            Tm::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// Whether an error is a unique-constraint violation (a racing duplicate).
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(err, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}

/// Whether an error means the database went away or would not answer (the
/// server closed the connection, was shut down, the connection is broken,
/// SQLite stayed locked past its busy timeout): a retry later may succeed,
/// so callers answer 503, not 500.
pub fn is_connection_lost(err: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match err {
        Error::BrokenTransactionManager => true,
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        Error::DatabaseError(_, info) => {
            let m = info.message().to_ascii_lowercase();
            [
                "server closed the connection",
                "terminating connection",
                "no connection to the server",
                "connection to server",
                "could not receive data from server",
                "could not send data to server",
                "the database system is shutting down",
                "the database system is starting up",
                "database is locked",
            ]
            .iter()
            .any(|needle| m.contains(needle))
        }
        // A failed ROLLBACK after a lost connection surfaces like this.
        Error::RollbackErrorOnCommit { rollback_error, .. } => is_connection_lost(rollback_error),
        _ => false,
    }
}

/// Executes one SQL statement that returns nothing (used for DDL in tests and tools).
pub fn execute_sql(conn: &mut DbConnection, sql: &str) -> Result<usize, diesel::result::Error> {
    diesel::sql_query(sql).execute(conn)
}
