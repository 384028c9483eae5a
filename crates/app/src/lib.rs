//! Use cases of the CRM. Each one checks the actor's permission, runs in one
//! transaction (the change, its outbox events and, later, rule effects commit
//! together or not at all) and returns plain views for the API to shape.
//!
//! This is the only crate that begins transactions. Inside, one folder per
//! business area; an area uses only the areas below it (checked by
//! `tests/layers.rs`, which fails on any use upward or sideways):
//!
//! ```text
//!   feed/  analytics/   the change feed | sales reports over the stage-move log
//!         |             (side by side: neither uses the other)
//! documents/  intake/   catalog, quotes, orders, payments, shipments, invoices… | leads, channels, providers
//!      \       /        (side by side: neither uses the other)
//!       sales/          scenarios, interests, the board, interactions, tasks
//!         |
//!      parties/         clients, contacts, duplicates, history
//!         |
//!     identity/         auth, users, departments, API keys, principal, permissions, policy
//!         |
//!     platform/         error, page, clock, actor, outbox, idempotency, health
//! ```
//!
//! Where a lower area needs something an upper one owns, it asks through a
//! port: sales reads order coverage with a query of its own, and the board
//! takes the lead inbox as a function the caller passes in. Who may see or be
//! handed what is written once, in `identity::policy`.

pub mod analytics;
pub mod documents;
pub mod feed;
pub mod identity;
pub mod intake;
pub mod parties;
pub mod platform;
pub mod sales;

use std::sync::Arc;
use std::time::Duration;

pub use identity::principal::Principal;
pub use platform::clock::{Clock, ManualClock, SystemClock};
pub use platform::error::{AppError, FieldError, Unmet};
pub use platform::page::{Page, PageRequest};

use crm_domain::TimeZoneName;
use crm_store::{DbConnection, Pool, PooledConnection};
use uuid::Uuid;

/// Settings the use cases need (the API crate reads them from the environment).
#[derive(Clone)]
pub struct Settings {
    pub jwt_secret: Vec<u8>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub default_time_zone: TimeZoneName,
    /// Failed logins per account inside `login_window` before it is throttled.
    pub login_max_failures_per_account: usize,
    /// Failed logins per client address inside `login_window` before it is throttled.
    pub login_max_failures_per_address: usize,
    pub login_window: Duration,
    pub pool_timeout: Duration,
    pub mail: MailSettings,
    /// The VAT rates the organisation charges (`CRM_VAT_RATES`); any other
    /// rate on a product or a line is refused.
    pub vat_rates: Vec<crm_domain::VatRate>,
    /// How long the change feed keeps events (`CRM_EVENTS_RETENTION`).
    pub events_retention: Duration,
    /// Whether webhooks may target plain `http` and private addresses
    /// (`CRM_WEBHOOKS_ALLOW_PRIVATE`: tests, receivers on the same network).
    pub webhooks_allow_private: bool,
    /// When and for whom clients' yearly dates are announced.
    pub date_reminders: DateReminders,
}

/// How clients' dates are announced (`CRM_DATE_REMINDER_DAYS`,
/// `CRM_CONGRATULATE_STATUSES`).
#[derive(Debug, Clone)]
pub struct DateReminders {
    /// How many days ahead the responsible is reminded (3).
    pub days_before: u32,
    /// Client statuses whose dates also get a "Congratulate …" task (`active`).
    pub task_for: Vec<crm_domain::status::ClientStatus>,
}

impl Default for DateReminders {
    fn default() -> Self {
        Self { days_before: 3, task_for: vec![crm_domain::status::ClientStatus::Active] }
    }
}

impl Settings {
    /// A rate as given, if it parses and is one the organisation charges.
    pub fn vat_rate(
        &self,
        p: &mut crate::platform::error::Problems,
        field: &str,
        raw: &str,
    ) -> Option<crm_domain::VatRate> {
        let rate = p.check(field, crm_domain::VatRate::parse(raw))?;
        if self.vat_rates.contains(&rate) {
            Some(rate)
        } else {
            let list: Vec<String> = self.vat_rates.iter().map(ToString::to_string).collect();
            p.push(
                field,
                "vat_rate_not_charged",
                format!("{rate} is not a rate the organisation charges; use one of {}", list.join(", ")),
            );
            None
        }
    }
}

/// Where outgoing mail goes: an SMTP server, or `.eml` files in a folder.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `smtp://`, `smtps://` URL as lettre reads it; `None`: write files to `dir`.
    pub smtp_url: Option<String>,
    pub dir: std::path::PathBuf,
    /// The From: mailbox (`Sales <sales@example.com>`).
    pub from: String,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("jwt_secret", &"<redacted>")
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .finish_non_exhaustive()
    }
}

/// Everything a use case needs: the pool, the clock and the settings.
#[derive(Clone)]
pub struct App {
    pool: Pool,
    clock: Arc<dyn Clock>,
    settings: Arc<Settings>,
    /// The `Idempotency-Key` record of the request this use case serves: its
    /// write transactions mark it applied as they commit (see `write`).
    idempotency: Option<Uuid>,
    /// How the API renders entities for the change feed (none in use-case tests).
    renderer: Option<Arc<dyn feed::snapshots::Render>>,
}

impl App {
    pub fn new(pool: Pool, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        Self { pool, clock, settings: Arc::new(settings), idempotency: None, renderer: None }
    }

    /// This context serving a request guarded by the idempotency record `record`.
    pub fn with_idempotency(&self, record: Option<Uuid>) -> Self {
        Self { idempotency: record, ..self.clone() }
    }

    /// This context with the API's renderer, so events carry the entity as GET returns it.
    pub fn with_renderer(self, renderer: Arc<dyn feed::snapshots::Render>) -> Self {
        Self { renderer: Some(renderer), ..self }
    }

    pub(crate) fn renderer(&self) -> Option<&dyn feed::snapshots::Render> {
        self.renderer.as_deref()
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The current time, to the microsecond: what both databases store, so a
    /// value reads back the same on SQLite and PostgreSQL.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        use chrono::SubsecRound;
        self.clock.now().trunc_subsecs(6)
    }

    /// A connection from the pool, or `Unavailable` when none comes within the pool timeout.
    pub fn conn(&self) -> Result<PooledConnection, AppError> {
        self.pool.get().map_err(|e| {
            tracing::warn!(error = %e, "no database connection available");
            AppError::Unavailable
        })
    }

    /// Runs `f` in one write transaction on a pooled connection. When the
    /// request carries an `Idempotency-Key`, its record is marked applied in
    /// the same transaction: the change and the mark commit together, so a
    /// retry after a crash between the commit and the stored reply finds the
    /// change made and does not make it again.
    pub fn write<T>(&self, f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>) -> Result<T, AppError> {
        // The turn comes before the connection: a writer waiting in line
        // holds no connection that readers could use.
        let _turn = self.pool.write_turn(self.settings.pool_timeout).ok_or_else(|| {
            tracing::warn!("no turn to write within the pool timeout");
            AppError::Unavailable
        })?;
        let mut conn = self.conn()?;
        let record = self.idempotency;
        let mut events = platform::outbox::collect();
        crm_store::write_transaction(&mut conn, |conn| {
            let out = f(conn)?;
            feed::snapshots::render_pending(conn, self, events.take())?;
            if let Some(record) = record {
                crm_store::queries::idempotency::mark_applied(conn, record.into())?;
            }
            Ok(out)
        })
    }

    /// Runs `f` on a pooled connection outside any transaction: for a read
    /// that is one statement, which sees one snapshot by itself, so the
    /// round trips of `BEGIN` and `COMMIT` would buy nothing.
    pub fn query<T>(&self, f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>) -> Result<T, AppError> {
        f(&mut *self.conn()?)
    }

    /// Runs `f` in one read transaction on a pooled connection.
    pub fn read<T>(&self, f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>) -> Result<T, AppError> {
        let mut conn = self.conn()?;
        crm_store::read_transaction(&mut conn, f)
    }
}

pub use crm_store::StoreError;

/// Refuses a database URL that names no supported backend.
pub fn check_database_url(url: &str) -> Result<(), StoreError> {
    crm_store::db::backend_of(url).map(|_| ())
}

/// Connects (reporting the driver's own error), builds the pool and applies
/// pending migrations. Returns the pool and the migrations applied.
pub fn open_database(url: &str, size: u32, timeout: Duration) -> Result<(Pool, Vec<String>), StoreError> {
    let pool = crm_store::build_pool(url, size, timeout)?;
    let mut conn = pool.get().map_err(|_| StoreError::PoolTimeout(timeout))?;
    let applied = crm_store::migrations::run_pending(&mut conn)?;
    drop(conn);
    Ok((pool, applied))
}
pub use crm_scenario as scenario;
