//! Operations endpoints: liveness, readiness and metrics.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::extract::{run, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    #[schema(value_type = crate::routes::words::HealthStatusDto)]
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ok")]
    #[schema(value_type = crate::routes::words::HealthStatusDto)]
    pub status: String,
    #[schema(example = "sqlite")]
    pub database: String,
    pub migrated: bool,
}

/// The process is up.
///
/// Answers without touching the database: a liveness probe. Readiness is `/readyz`.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "operations",
    responses((status = 200, description = "Up", body = Health)), security(()))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok".to_owned() })
}

/// The database is reachable and carries every migration.
///
/// 503 when either is not so; a load balancer should then send no traffic here.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "operations",
    responses((status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Database unreachable or not migrated", body = crate::error::Problem, content_type = "application/problem+json")),
    security(()))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let r = run(&state, crm_app::platform::health::readiness).await?;
    if !r.migrated {
        return Err(ApiError::problem(crate::error::Problem::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "not_migrated",
            "The database is not migrated",
            "run `crm-server migrate`",
        )));
    }
    Ok(HttpResponse::Ok().json(Readiness {
        status: "ok".to_owned(),
        database: r.database.to_owned(),
        migrated: true,
    }))
}

/// Prometheus metrics (text exposition format).
///
/// Requests by method, route and status with their durations, and the
/// database pool's open, idle and maximum connections.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "operations",
    responses((status = 200, description = "Metrics", body = String, content_type = "text/plain; version=0.0.4")),
    security(()))]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let pool = crm_app::platform::health::pool_state(&state.app);
    let text = state.metrics.render(pool).map_err(|e| ApiError::App(crm_app::AppError::internal(e)))?;
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(text))
}
