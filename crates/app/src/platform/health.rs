//! Readiness: the database answers and carries every migration this build knows.

use crate::platform::error::AppError;
use crate::App;

#[derive(Debug, Clone)]
pub struct Readiness {
    pub database: &'static str,
    pub migrated: bool,
}

/// Any failure to ask is "unavailable" (503), never a 500: a probe must be
/// able to tell a database that is down from a server that is broken.
pub fn readiness(app: &App) -> Result<Readiness, AppError> {
    let mut conn = app.conn()?;
    let pending = crm_store::migrations::has_pending(&mut conn).map_err(|e| {
        tracing::warn!(error = %e, "readiness: the database did not answer");
        AppError::Unavailable
    })?;
    Ok(Readiness { database: conn.backend().name(), migrated: !pending })
}

/// Pool gauges for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct PoolState {
    pub connections: u32,
    pub idle: u32,
    pub max_size: u32,
}

pub fn pool_state(app: &App) -> PoolState {
    let state = app.pool().state();
    PoolState {
        connections: state.connections,
        idle: state.idle_connections,
        max_size: app.pool().max_size(),
    }
}
