//! Handing a user's work to a colleague.

use actix_web::{web, HttpResponse};
use crm_app::sales::handover::{Handover, HandoverRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::error::ApiError;
use crate::extract::{validate, AppState, Auth, Json};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/users/{id}/handover").post(hand_over));
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to_user_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e61", "client_ids": ["0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e70"]}))]
pub struct HandoverRequestDto {
    /// Who takes the work: an active manager, head or admin you may hand work to.
    pub to_user_id: Uuid,
    /// Only these clients of the user (1 to 500), each with the user's open
    /// interests of it and those interests' open tasks. Without it:
    /// everything the user holds — their clients, their contacts of no
    /// client, their open interests and their open tasks.
    #[validate(length(min = 1, max = 500))]
    #[schema(min_items = 1, max_items = 500)]
    pub client_ids: Option<Vec<Uuid>>,
}

/// What moved to the new holder.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"from_user_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e5f", "to_user_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e61",
    "clients": ["0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e70"], "contacts": [], "interests": ["0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e71"],
    "tasks": ["0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e72"], "planned_interactions": 1}))]
pub struct HandoverDto {
    pub from_user_id: Uuid,
    pub to_user_id: Uuid,
    pub clients: Vec<Uuid>,
    /// Contacts of no client that the user looked after.
    pub contacts: Vec<Uuid>,
    pub interests: Vec<Uuid>,
    pub tasks: Vec<Uuid>,
    /// Planned interactions of the moved interests (they go with their interest).
    pub planned_interactions: usize,
}

impl From<Handover> for HandoverDto {
    fn from(h: Handover) -> Self {
        Self {
            from_user_id: h.from_user_id,
            to_user_id: h.to_user_id,
            clients: h.clients,
            contacts: h.contacts,
            interests: h.interests,
            tasks: h.tasks,
            planned_interactions: h.planned_interactions,
        }
    }
}

/// Hand a user's work to a colleague.
///
/// Moves, in one transaction, the user's clients (all, or the listed ones)
/// with their open interests, those interests' open tasks and planned
/// interactions to `to_user_id`. Every moved interest and task gets a
/// timeline entry, every client and contact a history entry, both people a
/// notification; the change feed carries each change. Heads hand over the
/// work of the people of their departments, to someone they may hand work
/// to; admins anyone's. Refused with every unmet rule: the target does not
/// exist, is deactivated, cannot hold sales work, is out of your reach, is
/// the user themselves, or a listed client is not the user's.
#[utoipa::path(post, path = "/api/v1/users/{id}/handover", operation_id = "handOverWork", tag = "users",
    params(("id" = Uuid, Path, description = "The user whose work is handed over")),
    request_body = HandoverRequestDto,
    responses((status = 200, description = "What moved", body = HandoverDto)))]
pub async fn hand_over(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<HandoverRequestDto>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let from = id.into_inner();
    let request = HandoverRequest { to_user_id: b.to_user_id, client_ids: b.client_ids };
    let done = auth
        .run(&state, move |app, principal| crm_app::sales::handover::hand_over(app, principal, from, request))
        .await?;
    Ok(HttpResponse::Ok().json(HandoverDto::from(done)))
}
