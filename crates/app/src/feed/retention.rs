//! Keeps the change feed to its retention (`CRM_EVENTS_RETENTION`): the
//! timed job deletes older events and remembers where it cut, so a cursor
//! from before the cut is told to resync instead of silently missing events.

use crate::platform::error::AppError;
use crate::App;

/// Deletes the events older than the retention; returns how many went.
pub fn prune(app: &App) -> Result<usize, AppError> {
    let keep = chrono::Duration::from_std(app.settings().events_retention).map_err(AppError::internal)?;
    let before = app.now() - keep;
    app.write(|conn| Ok(crm_store::queries::outbox::prune_before(conn, before.naive_utc())?))
}
