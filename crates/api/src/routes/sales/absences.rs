//! Absences with a deputy.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use crm_app::sales::absences::{AbsenceView, NewAbsence};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::error::ApiError;
use crate::extract::{created, validate, AppState, Auth, Json, Page, PageParams};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/absences").get(list_absences).post(create_absence))
        .service(web::resource("/absences/{id}").get(get_absence).delete(cancel_absence));
}

/// Where an absence is in its life.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AbsenceStateDto {
    /// Not started yet.
    Planned,
    /// The deputy stands in now.
    Running,
    /// Over.
    Ended,
    /// Withdrawn.
    Cancelled,
}

impl AbsenceStateDto {
    fn of(s: &str) -> Self {
        match s {
            "running" => Self::Running,
            "ended" => Self::Ended,
            "cancelled" => Self::Cancelled,
            _ => Self::Planned,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4eb0", "user_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e5f",
    "deputy_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e61", "starts_at": "2026-12-14T06:00:00Z", "ends_at": "2026-12-28T06:00:00Z",
    "reason": "Annual leave", "state": "planned", "version": 1, "created_at": "2026-12-01T09:00:00Z", "updated_at": "2026-12-01T09:00:00Z"}))]
pub struct AbsenceDto {
    pub id: Uuid,
    /// Who is away.
    pub user_id: Uuid,
    /// Who stands in.
    pub deputy_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: Option<String>,
    pub state: AbsenceStateDto,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<AbsenceView> for AbsenceDto {
    fn from(a: AbsenceView) -> Self {
        Self {
            id: a.id,
            user_id: a.user_id,
            deputy_id: a.deputy_id,
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            reason: a.reason,
            state: AbsenceStateDto::of(&a.state),
            version: a.version,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"user_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e5f", "deputy_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e61",
    "from": "2026-12-14T06:00:00Z", "to": "2026-12-28T06:00:00Z", "reason": "Annual leave"}))]
pub struct CreateAbsenceRequest {
    /// Who is away: yourself, a person of your departments (heads), anyone (admins).
    pub user_id: Uuid,
    /// Who stands in: an active manager, head or admin you may hand work to.
    pub deputy_id: Uuid,
    /// When it starts (the timed job starts it).
    pub from: DateTime<Utc>,
    /// When it ends; after `from` and not already past.
    pub to: DateTime<Utc>,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// Plan an absence with a deputy.
///
/// From `from` to `to` (the timed job starts and ends it, and tells both
/// people), the deputy sees and works the absent user's interests, clients
/// and tasks; new leads and scenario-made tasks meant for the absent user go
/// to the deputy, and the deputy's board marks the cards (`standing_in`).
/// Refused with every unmet rule: the deputy may not hold the work or is the
/// user, the user is already away then, the deputy is away then.
#[utoipa::path(post, path = "/api/v1/absences", operation_id = "createAbsence", tag = "users",
    request_body = CreateAbsenceRequest,
    responses((status = 201, description = "Planned", body = AbsenceDto, headers(("Location" = String)))))]
pub async fn create_absence(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateAbsenceRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let input = NewAbsence {
        user_id: b.user_id,
        deputy_id: b.deputy_id,
        starts_at: b.from,
        ends_at: b.to,
        reason: b.reason,
    };
    let a = auth
        .run(&state, move |app, principal| crm_app::sales::absences::create_absence(app, principal, input))
        .await?;
    Ok(created(format!("/api/v1/absences/{}", a.id), &AbsenceDto::from(a), None))
}

/// Absences: your own and those you stand in for; a head's people's; all for admins.
#[utoipa::path(get, path = "/api/v1/absences", operation_id = "listAbsences", tag = "users",
    params(PageParams),
    responses((status = 200, description = "A page of absences", body = Page<AbsenceDto>)))]
pub async fn list_absences(
    state: web::Data<AppState>,
    auth: Auth,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = page.request()?;
    let found = auth
        .run(&state, move |app, principal| crm_app::sales::absences::list_absences(app, principal, page))
        .await?;
    Ok(HttpResponse::Ok().json(Page::<AbsenceDto>::of(found)))
}

/// One absence.
#[utoipa::path(get, path = "/api/v1/absences/{id}", operation_id = "getAbsence", tag = "users",
    params(("id" = Uuid, Path, description = "Absence id")),
    responses((status = 200, description = "The absence", body = AbsenceDto)))]
pub async fn get_absence(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let a = auth
        .run(&state, move |app, principal| crm_app::sales::absences::get_absence(app, principal, id))
        .await?;
    Ok(HttpResponse::Ok().json(AbsenceDto::from(a)))
}

/// Withdraw an absence: a planned one never starts; a running one ends now,
/// and the deputy's access with it. An ended or withdrawn one is 409.
#[utoipa::path(delete, path = "/api/v1/absences/{id}", operation_id = "cancelAbsence", tag = "users",
    params(("id" = Uuid, Path, description = "Absence id")),
    responses((status = 204, description = "Withdrawn")))]
pub async fn cancel_absence(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    auth.run(&state, move |app, principal| crm_app::sales::absences::cancel_absence(app, principal, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
