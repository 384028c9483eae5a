//! Interests: list, create, read, change, move along the scenario, decide a
//! loss, the timeline.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use crm_app::sales::interests::{
    InterestChanges, InterestListFilter, InterestView, LossDecision, NewInterest, NextStep, Transition,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::error::ApiError;
use crate::extract::{created, validate, versioned, AppState, Auth, IfMatch, Json, Page, PageParams};
use crate::routes::double_option;
use crate::routes::sales::scenarios::StageKindDto;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/interests").get(list_interests).post(create_interest))
        .service(web::resource("/interests/{id}").get(get_interest).patch(update_interest))
        .service(web::resource("/interests/{id}/transitions").post(move_interest))
        .service(web::resource("/interests/{id}/loss-decision").post(decide_loss))
        .service(web::resource("/interests/{id}/timeline").get(timeline));
}

pub(crate) fn kind_dto(k: crm_app::scenario::StageKind) -> StageKindDto {
    match k {
        crm_app::scenario::StageKind::Open => StageKindDto::Open,
        crm_app::scenario::StageKind::Won => StageKindDto::Won,
        crm_app::scenario::StageKind::Lost => StageKindDto::Lost,
    }
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthDto {
    /// Nothing overdue, nothing due today.
    Green,
    /// Something is due today.
    Yellow,
    /// A task or planned interaction is overdue.
    Red,
}

pub(crate) fn health_dto(h: crm_domain::Health) -> HealthDto {
    match h {
        crm_domain::Health::Green => HealthDto::Green,
        crm_domain::Health::Yellow => HealthDto::Yellow,
        crm_domain::Health::Red => HealthDto::Red,
    }
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InterestStateDto {
    Active,
    AwaitingLossApproval,
    Won,
    Lost,
}

pub(crate) fn state_dto(s: crm_app::scenario::InterestState) -> InterestStateDto {
    use crm_app::scenario::InterestState as S;
    match s {
        S::Active => InterestStateDto::Active,
        S::AwaitingLossApproval => InterestStateDto::AwaitingLossApproval,
        S::Won => InterestStateDto::Won,
        S::Lost => InterestStateDto::Lost,
    }
}

/// One stage of the progress bar.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageProgressDto {
    #[schema(example = "proposal")]
    pub code: String,
    #[schema(example = "Proposal")]
    pub name: String,
    pub kind: StageKindDto,
    pub current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NextInteractionDto {
    pub id: Uuid,
    #[serde(rename = "type")]
    #[schema(example = "call")]
    #[schema(value_type = crate::routes::sales::work::InteractionTypeDto)]
    pub kind: String,
    pub subject: String,
    pub planned_at: Option<DateTime<Utc>>,
}

pub(crate) fn next_dto(n: Option<crm_app::sales::interests::NextInteraction>) -> Option<NextInteractionDto> {
    n.map(|n| NextInteractionDto { id: n.id, kind: n.kind, subject: n.subject, planned_at: n.planned_at })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InterestDto {
    pub id: Uuid,
    pub scenario_id: Uuid,
    #[schema(example = "request")]
    pub stage: String,
    pub state: InterestStateDto,
    /// The lost stage a pending loss request asks for.
    pub pending_stage: Option<String>,
    #[schema(example = "Supply of 40 office chairs")]
    pub title: String,
    /// Decimal string, in `currency`.
    #[schema(example = "480000.00")]
    pub potential_amount: Option<String>,
    #[schema(example = "RUB")]
    pub currency: String,
    pub service_type: Option<String>,
    pub client_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub responsible_id: Uuid,
    pub loss_reason_id: Option<Uuid>,
    pub loss_comment: Option<String>,
    /// Who decides a pending loss; null: any admin.
    pub loss_approver_id: Option<Uuid>,
    pub stage_entered_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// When the deal should close (the forecast's month); the responsible's date.
    #[schema(example = "2026-12-31")]
    pub expected_close_on: NaiveDate,
    /// The current stage's chance, in percent, of being won (the scenario's figure).
    #[schema(minimum = 0, maximum = 100, example = 30)]
    pub probability: u8,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The scenario's stages, the current one marked.
    pub stages: Vec<StageProgressDto>,
    pub health: HealthDto,
    pub next_interaction: Option<NextInteractionDto>,
}

impl From<InterestView> for InterestDto {
    fn from(v: InterestView) -> Self {
        Self {
            id: v.id,
            scenario_id: v.scenario_id,
            stage: v.stage,
            state: state_dto(v.state),
            pending_stage: v.pending_stage,
            title: v.title,
            potential_amount: v.potential_amount.map(|m| m.to_string()),
            currency: v.currency,
            service_type: v.service_type,
            client_id: v.client_id,
            contact_id: v.contact_id,
            responsible_id: v.responsible_id,
            loss_reason_id: v.loss_reason_id,
            loss_comment: v.loss_comment,
            loss_approver_id: v.loss_approver_id,
            stage_entered_at: v.stage_entered_at,
            closed_at: v.closed_at,
            expected_close_on: v.expected_close_on,
            probability: v.probability,
            version: v.version,
            created_at: v.created_at,
            updated_at: v.updated_at,
            stages: v
                .stages
                .into_iter()
                .map(|s| StageProgressDto {
                    code: s.code,
                    name: s.name,
                    kind: kind_dto(s.kind),
                    current: s.current,
                })
                .collect(),
            health: health_dto(v.health),
            next_interaction: next_dto(v.next_interaction),
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Supply of 40 office chairs", "potential_amount": "480000.00", "currency": "RUB"}))]
pub struct CreateInterestRequest {
    pub id: Option<Uuid>,
    #[validate(length(min = 1, max = 200))]
    #[schema(example = "Supply of 40 office chairs", min_length = 1, max_length = 200)]
    pub title: String,
    /// Default: the default scenario ("Typical sale").
    pub scenario_id: Option<Uuid>,
    #[schema(example = "480000.00")]
    pub potential_amount: Option<String>,
    /// ISO 4217; default RUB.
    #[schema(example = "RUB")]
    pub currency: Option<String>,
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    pub service_type: Option<String>,
    pub client_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    /// Default: the caller. Managers may name only themselves, heads their people.
    pub responsible_id: Option<Uuid>,
    /// When the deal should close: today or later, at most ten years ahead.
    /// Default: today + the scenario's `cycle_days`.
    #[schema(example = "2026-12-31")]
    pub expected_close_on: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"potential_amount": "500000.00", "service_type": "Office furniture"}))]
pub struct UpdateInterestRequest {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable, example = "500000.00")]
    pub potential_amount: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub service_type: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub client_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub contact_id: Option<Option<Uuid>>,
    /// Heads and admins only.
    pub responsible_id: Option<Uuid>,
    /// Today or later (the responsible's date), at most ten years ahead.
    #[schema(example = "2026-12-31")]
    pub expected_close_on: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListInterestsQuery {
    pub scenario_id: Option<Uuid>,
    pub stage: Option<String>,
    /// `me`, `department` (everyone you see) or a user id.
    #[param(
        pattern = "^(me|department|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$",
        example = "me"
    )]
    pub responsible: Option<String>,
    /// `open` (active or awaiting approval), `active`, `awaiting_loss_approval`, `won`, `lost`.
    pub state: Option<crate::routes::words::InterestStateFilterDto>,
    pub client_id: Option<Uuid>,
    pub updated_since: Option<DateTime<Utc>>,
}

/// List interests you may see.
///
/// Managers see their own, heads their departments', admins all.
#[utoipa::path(get, path = "/api/v1/interests", operation_id = "listInterests", tag = "interests",
    params(ListInterestsQuery, PageParams), responses((status = 200, description = "A page of interests", body = Page<InterestDto>)))]
pub async fn list_interests(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<ListInterestsQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = page.request()?;
    let filter = InterestListFilter {
        scenario_id: q.scenario_id,
        stage: q.stage,
        responsible: q.responsible,
        state: q.state.map(|s| s.as_str().to_owned()),
        client_id: q.client_id,
        updated_since: q.updated_since,
    };
    let page = auth
        .run(&state, move |app, principal| {
            crm_app::sales::interests::list_interests(app, principal, filter, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::<InterestDto>::of(page)))
}

/// Create an interest.
///
/// It starts on the scenario's first open stage, whose entry rules run at
/// once (in "Typical sale": the task "Call the client", due today).
#[utoipa::path(post, path = "/api/v1/interests", operation_id = "createInterest", tag = "interests",
    request_body = CreateInterestRequest,
    responses((status = 201, description = "Created", body = InterestDto, headers(("Location" = String), ("ETag" = String)))))]
pub async fn create_interest(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateInterestRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let input = NewInterest {
        id: b.id,
        title: b.title,
        scenario_id: b.scenario_id,
        potential_amount: b.potential_amount,
        currency: b.currency,
        service_type: b.service_type,
        client_id: b.client_id,
        contact_id: b.contact_id,
        responsible_id: b.responsible_id,
        expected_close_on: b.expected_close_on,
    };
    let v = auth
        .run(&state, move |app, principal| crm_app::sales::interests::create_interest(app, principal, input))
        .await?;
    let (id, version) = (v.id, v.version);
    Ok(created(format!("/api/v1/interests/{id}"), &InterestDto::from(v), Some(version)))
}

/// Read an interest, with its progress bar and health.
#[utoipa::path(get, path = "/api/v1/interests/{id}", operation_id = "getInterest", tag = "interests",
    params(("id" = Uuid, Path, description = "Interest id")),
    responses((status = 200, description = "The interest", body = InterestDto, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the given ETag")))]
pub async fn get_interest(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let v = auth
        .run(&state, move |app, principal| crm_app::sales::interests::get_interest(app, principal, id))
        .await?;
    let version = v.version;
    Ok(versioned(&req, &InterestDto::from(v), version))
}

/// Change an interest's details.
///
/// The responsible may change title, potential amount, service type, client,
/// contact and expected close date; handing the interest to someone else is
/// for heads and admins.
#[utoipa::path(patch, path = "/api/v1/interests/{id}", operation_id = "updateInterest", tag = "interests",
    params(("id" = Uuid, Path, description = "Interest id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = UpdateInterestRequest,
    responses((status = 200, description = "Changed", body = InterestDto, headers(("ETag" = String)))))]
pub async fn update_interest(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateInterestRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let id = id.into_inner();
    let changes = InterestChanges {
        title: b.title,
        potential_amount: b.potential_amount,
        service_type: b.service_type,
        client_id: b.client_id,
        contact_id: b.contact_id,
        responsible_id: b.responsible_id,
        expected_close_on: b.expected_close_on,
    };
    let v = auth
        .run(&state, move |app, principal| {
            crm_app::sales::interests::update_interest(app, principal, id, if_match.0, changes)
        })
        .await?;
    let version = v.version;
    Ok(versioned(&req, &InterestDto::from(v), version))
}

/// What to plan after a move.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum NextStepDto {
    /// Plan nothing.
    None,
    /// Plan the next contact with the client.
    Interaction {
        #[serde(rename = "type")]
        kind: crate::routes::sales::work::InteractionTypeDto,
        planned_at: DateTime<Utc>,
        #[schema(example = "Discuss the quote")]
        subject: String,
    },
    /// Set a task for someone.
    Task { assignee_id: Uuid, title: String, due_at: DateTime<Utc> },
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to_stage": "proposal", "comment": "The need is confirmed"}))]
pub struct TransitionRequest {
    #[validate(length(min = 1, max = 40))]
    #[schema(example = "proposal", min_length = 1, max_length = 40)]
    pub to_stage: String,
    /// Required when a planned interaction exists: moving on completes it with this result.
    #[validate(length(min = 1, max = 2000))]
    #[schema(example = "The client confirmed the need; send a quote", min_length = 1, max_length = 2000)]
    pub interaction_result: Option<String>,
    /// Required to move to a lost stage.
    pub loss_reason_id: Option<Uuid>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
    /// Default: plan nothing.
    pub next: Option<NextStepDto>,
}

/// Move an interest to another stage.
///
/// The target stage's checks run first and every unmet one is listed (422).
/// A planned interaction needs its result, which completes it. Entering the
/// stage runs its rules (tasks, reminders). Moving to a lost stage needs a
/// loss reason and waits for the department head's approval.
#[utoipa::path(post, path = "/api/v1/interests/{id}/transitions", operation_id = "moveInterest", tag = "interests",
    params(("id" = Uuid, Path, description = "Interest id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = TransitionRequest,
    responses((status = 200, description = "Moved (or awaiting loss approval)", body = InterestDto, headers(("ETag" = String)))))]
pub async fn move_interest(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<TransitionRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let next = match b.next {
        None | Some(NextStepDto::None) => NextStep::None,
        Some(NextStepDto::Interaction { kind, planned_at, subject }) => {
            NextStep::Interaction { kind: kind.as_str().to_owned(), planned_at, subject }
        }
        Some(NextStepDto::Task { assignee_id, title, due_at }) => {
            NextStep::Task { assignee_id, title, due_at }
        }
    };
    let t = Transition {
        to_stage: b.to_stage,
        interaction_result: b.interaction_result,
        loss_reason_id: b.loss_reason_id,
        comment: b.comment,
        next,
    };
    let id = id.into_inner();
    let v = auth
        .run(&state, move |app, principal| {
            crm_app::sales::interests::move_interest(app, principal, id, if_match.0, t)
        })
        .await?;
    let version = v.version;
    Ok(versioned(&req, &InterestDto::from(v), version))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LossDecisionKind {
    Approve,
    Return,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "approve", "comment": "Agreed: the price is below our cost"}))]
pub struct LossDecisionRequest {
    pub decision: LossDecisionKind,
    /// With `return`: the open stage to go back to (no later than where it was).
    #[schema(example = "proposal")]
    pub to_stage: Option<String>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

/// Approve or return a requested loss.
///
/// Only the approver may decide: the head of the responsible's department
/// (going up when the responsible is that head), or an admin when there is
/// none. Anyone else gets 403.
#[utoipa::path(post, path = "/api/v1/interests/{id}/loss-decision", operation_id = "decideLoss", tag = "interests",
    params(("id" = Uuid, Path, description = "Interest id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = LossDecisionRequest,
    responses((status = 200, description = "Decided", body = InterestDto, headers(("ETag" = String)))))]
pub async fn decide_loss(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<LossDecisionRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let decision = match (b.decision, b.to_stage) {
        (LossDecisionKind::Approve, None) => LossDecision::Approve,
        (LossDecisionKind::Approve, Some(_)) => {
            return Err(ApiError::from(crm_app::AppError::field(
                "to_stage",
                "not_allowed",
                "only a return names a stage",
            )))
        }
        (LossDecisionKind::Return, Some(to_stage)) => LossDecision::Return { to_stage },
        (LossDecisionKind::Return, None) => {
            return Err(ApiError::from(crm_app::AppError::field(
                "to_stage",
                "required",
                "name the stage to return to",
            )))
        }
    };
    let id = id.into_inner();
    let v = auth
        .run(&state, move |app, principal| {
            crm_app::sales::interests::decide_loss(app, principal, id, if_match.0, decision, b.comment)
        })
        .await?;
    let version = v.version;
    Ok(versioned(&req, &InterestDto::from(v), version))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntryDto {
    pub id: Uuid,
    /// `created`, `stage_changed`, `loss_requested`, `loss_approved`, `loss_returned`,
    /// `interaction_planned`, `interaction_completed`, `task_created`, `task_completed`…
    #[schema(example = "stage_changed")]
    #[schema(value_type = crate::routes::words::TimelineKindDto)]
    pub kind: String,
    /// `user`, `api_key` or `system`.
    #[schema(value_type = crate::routes::words::ActorKindDto)]
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    #[schema(example = "Moved from \"Request\" to \"Proposal\"")]
    pub summary: String,
    /// What changed: from, to, result, reason, ids.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// The interest's timeline, newest first.
#[utoipa::path(get, path = "/api/v1/interests/{id}/timeline", operation_id = "getInterestTimeline", tag = "interests",
    params(("id" = Uuid, Path, description = "Interest id"), PageParams),
    responses((status = 200, description = "A page of the timeline", body = Page<TimelineEntryDto>)))]
pub async fn timeline(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = page.request()?;
    let id = id.into_inner();
    let page = auth
        .run(&state, move |app, principal| {
            crm_app::sales::interests::interest_timeline(app, principal, id, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::new(
        page.items
            .into_iter()
            .map(|e| TimelineEntryDto {
                id: e.id,
                kind: e.kind,
                actor_kind: e.actor_kind,
                actor_id: e.actor_id,
                occurred_at: e.occurred_at,
                summary: e.summary,
                details: e.details,
            })
            .collect(),
        page.next_after,
    )))
}
