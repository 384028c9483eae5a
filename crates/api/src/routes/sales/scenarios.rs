//! Sales scenarios and loss reasons: what heads configure.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use crm_app::sales::loss_reasons::LossReasonView;
use crm_app::sales::scenarios::ScenarioView;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::error::ApiError;
use crate::extract::{created, validate, versioned, AppState, Auth, IfMatch, Json, Page, PageParams};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/scenarios").get(list_scenarios).post(create_scenario))
        .service(web::resource("/scenarios/{id}").get(get_scenario).put(replace_scenario))
        .service(web::resource("/scenarios/{id}/copy").post(copy_scenario))
        .service(web::resource("/loss-reasons").get(list_loss_reasons).post(create_loss_reason))
        .service(web::resource("/loss-reasons/{id}").patch(update_loss_reason));
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StageKindDto {
    Open,
    Won,
    Lost,
}

/// Checks made before an interest may enter a stage.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GuardDto {
    ClientSet,
    ContactSet,
    PotentialAmountSet,
    ServiceTypeSet,
    LossReasonSet,
    HasOrder,
    OrdersFullyPaid,
    OrdersFullyShipped,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DomainEventDto {
    OrdersFullyPaid,
    OrdersFullyShipped,
    ShipmentMade,
    PaymentOverdue,
}

/// Who gets a rule's task or reminder.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AssigneeDto {
    Responsible,
    DepartmentHead,
    User { user_id: Uuid },
    Role { role: crate::routes::identity::users::RoleDto },
}

/// Due offset: whole days mean the end of that day in the assignee's time zone.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DueDto {
    #[serde(default)]
    #[schema(minimum = 0, maximum = 366, example = 3)]
    pub days: u32,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 8784, example = 0)]
    pub hours: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionDto {
    CreateTask {
        #[schema(example = "Call the client")]
        title: String,
        #[schema(example = "call", pattern = "^[a-z][a-z0-9_]{0,39}$")]
        task_kind: String,
        assignee: AssigneeDto,
        #[serde(default)]
        due: DueDto,
    },
    Notify {
        assignee: AssigneeDto,
        text: String,
    },
    CloseTasks {
        #[schema(example = "payment_follow_up", pattern = "^[a-z][a-z0-9_]{0,39}$")]
        task_kind: String,
    },
    SetPotentialToRevenue,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerDto {
    pub event: DomainEventDto,
    #[schema(example = "shipment")]
    pub move_to: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageDto {
    #[schema(example = "request", pattern = "^[a-z][a-z0-9_]{0,39}$")]
    pub code: String,
    #[schema(example = "Request")]
    pub name: String,
    pub kind: StageKindDto,
    /// The chance, in percent, that an interest on this stage is won; the
    /// forecast weighs open interests by it. Omitted on input: 100 on won,
    /// 0 on lost, and the k-th of n open stages k·100/(n+1). Always shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 100, example = 30)]
    pub probability: Option<u8>,
    #[serde(default)]
    pub guards: Vec<GuardDto>,
    #[serde(default)]
    pub on_entry: Vec<ActionDto>,
    /// While on this stage, an event moves the interest on.
    #[serde(default)]
    pub triggers: Vec<TriggerDto>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventRuleDto {
    pub event: DomainEventDto,
    /// Only while on these stages; empty: any.
    #[serde(default)]
    pub stages: Vec<String>,
    pub actions: Vec<ActionDto>,
}

/// Ordered stages and their rules.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioDefinitionDto {
    pub stages: Vec<StageDto>,
    #[serde(default)]
    pub event_rules: Vec<EventRuleDto>,
    /// Days a sale usually takes: a new interest is expected to close this
    /// long after it is made. Omitted on input: 30. Always shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 3650, example = 30)]
    pub cycle_days: Option<u32>,
}

impl ScenarioDefinitionDto {
    /// The DTO and the engine's model share one JSON shape.
    pub fn into_model(self) -> Result<crm_app::scenario::Scenario, ApiError> {
        let value = serde_json::to_value(self).map_err(|e| ApiError::bad_request(e.to_string()))?;
        serde_json::from_value(value).map_err(|e| ApiError::field("definition", "invalid", e.to_string()))
    }

    pub fn from_model(s: &crm_app::scenario::Scenario) -> Result<Self, ApiError> {
        serde_json::to_value(s.with_defaults())
            .and_then(serde_json::from_value)
            .map_err(|e| ApiError::App(crm_app::AppError::internal(e)))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScenarioDto {
    pub id: Uuid,
    #[schema(example = "Typical sale")]
    pub name: String,
    /// New interests go here unless another scenario is named.
    pub is_default: bool,
    pub definition: ScenarioDefinitionDto,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ScenarioDto {
    pub(crate) fn from_view(v: ScenarioView) -> Result<Self, ApiError> {
        Ok(Self {
            id: v.id,
            name: v.name,
            is_default: v.is_default,
            definition: ScenarioDefinitionDto::from_model(&v.definition)?,
            version: v.version,
            created_at: v.created_at,
            updated_at: v.updated_at,
        })
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Service contract", "definition": {"stages": [{"code": "request", "name": "Request", "kind": "open"}, {"code": "proposal", "name": "Proposal", "kind": "open"}, {"code": "won", "name": "Won", "kind": "won"}, {"code": "lost", "name": "Lost", "kind": "lost", "guards": ["loss_reason_set"]}]}}))]
pub struct CreateScenarioRequest {
    pub id: Option<Uuid>,
    #[validate(length(min = 1, max = 200))]
    #[schema(example = "Service contract", min_length = 1, max_length = 200)]
    pub name: String,
    pub definition: ScenarioDefinitionDto,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Service contract", "definition": {"stages": [{"code": "request", "name": "Request", "kind": "open"}, {"code": "proposal", "name": "Proposal", "kind": "open"}, {"code": "won", "name": "Won", "kind": "won"}, {"code": "lost", "name": "Lost", "kind": "lost", "guards": ["loss_reason_set"]}]}}))]
pub struct ReplaceScenarioRequest {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub definition: ScenarioDefinitionDto,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Typical sale (wholesale)"}))]
pub struct CopyScenarioRequest {
    /// The copy's name.
    #[validate(length(min = 1, max = 200))]
    #[schema(example = "Typical sale (wholesale)", min_length = 1, max_length = 200)]
    pub name: String,
}

/// List scenarios.
#[utoipa::path(get, path = "/api/v1/scenarios", operation_id = "listScenarios", tag = "scenarios",
    params(SyncQuery, PageParams), responses((status = 200, description = "A page of scenarios", body = Page<ScenarioDto>)))]
pub async fn list_scenarios(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<SyncQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = page.request()?;
    let since = query.updated_since;
    let page = auth
        .run(&state, move |app, principal| {
            crm_app::sales::scenarios::list_scenarios(app, principal, since, page)
        })
        .await?;
    let next_cursor = Page::<ScenarioDto>::cursor_of(&page);
    Ok(HttpResponse::Ok().json(Page {
        items: page.items.into_iter().map(ScenarioDto::from_view).collect::<Result<_, _>>()?,
        next_cursor,
    }))
}

/// Create a scenario.
///
/// Heads and admins. The definition is checked as a whole: unique stage
/// codes, at least one open stage, exactly one won and at least one lost
/// stage, rules that name existing stages and users, sane offsets; every
/// problem is listed (400).
#[utoipa::path(post, path = "/api/v1/scenarios", operation_id = "createScenario", tag = "scenarios",
    request_body = CreateScenarioRequest,
    responses((status = 201, description = "Created", body = ScenarioDto, headers(("Location" = String), ("ETag" = String)))))]
pub async fn create_scenario(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateScenarioRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let def = b.definition.into_model()?;
    let v = auth
        .run(&state, move |app, principal| {
            crm_app::sales::scenarios::create_scenario(app, principal, b.id, &b.name, def)
        })
        .await?;
    let (id, version) = (v.id, v.version);
    Ok(created(format!("/api/v1/scenarios/{id}"), &ScenarioDto::from_view(v)?, Some(version)))
}

/// Read a scenario.
#[utoipa::path(get, path = "/api/v1/scenarios/{id}", operation_id = "getScenario", tag = "scenarios",
    params(("id" = Uuid, Path, description = "Scenario id")),
    responses((status = 200, description = "The scenario", body = ScenarioDto, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the given ETag")))]
pub async fn get_scenario(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let v = auth
        .run(&state, move |app, principal| crm_app::sales::scenarios::get_scenario(app, principal, id))
        .await?;
    let version = v.version;
    Ok(versioned(&req, &ScenarioDto::from_view(v)?, version))
}

/// Replace a scenario's name and definition.
///
/// Heads and admins. Removing a stage that still holds interests is refused
/// (409). Interests on kept stages stay where they are; the new rules apply
/// from their next move.
#[utoipa::path(put, path = "/api/v1/scenarios/{id}", operation_id = "replaceScenario", tag = "scenarios",
    params(("id" = Uuid, Path, description = "Scenario id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = ReplaceScenarioRequest,
    responses((status = 200, description = "Replaced", body = ScenarioDto, headers(("ETag" = String)))))]
pub async fn replace_scenario(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<ReplaceScenarioRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let def = b.definition.into_model()?;
    let id = id.into_inner();
    let v = auth
        .run(&state, move |app, principal| {
            crm_app::sales::scenarios::replace_scenario(app, principal, id, if_match.0, &b.name, def)
        })
        .await?;
    let version = v.version;
    Ok(versioned(&req, &ScenarioDto::from_view(v)?, version))
}

/// Copy a scenario under a new name.
#[utoipa::path(post, path = "/api/v1/scenarios/{id}/copy", operation_id = "copyScenario", tag = "scenarios",
    params(("id" = Uuid, Path, description = "Scenario to copy")),
    request_body = CopyScenarioRequest,
    responses((status = 201, description = "The copy", body = ScenarioDto, headers(("Location" = String), ("ETag" = String)))))]
pub async fn copy_scenario(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<CopyScenarioRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let (id, name) = (id.into_inner(), body.into_inner().name);
    let v = auth
        .run(&state, move |app, principal| {
            crm_app::sales::scenarios::copy_scenario(app, principal, id, &name)
        })
        .await?;
    let (new_id, version) = (v.id, v.version);
    Ok(created(format!("/api/v1/scenarios/{new_id}"), &ScenarioDto::from_view(v)?, Some(version)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LossReasonDto {
    pub id: Uuid,
    #[schema(example = "Price too high")]
    pub name: String,
    /// Inactive reasons stay on past losses but cannot be chosen.
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<LossReasonView> for LossReasonDto {
    fn from(v: LossReasonView) -> Self {
        Self {
            id: v.id,
            name: v.name,
            active: v.active,
            version: v.version,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Price too high"}))]
pub struct CreateLossReasonRequest {
    #[validate(length(min = 1, max = 200))]
    #[schema(example = "Price too high", min_length = 1, max_length = 200)]
    pub name: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"active": false}))]
pub struct UpdateLossReasonRequest {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LossReasonQuery {
    pub active: Option<bool>,
    /// Only those changed at or after this instant, in (updated_at, id) order.
    pub updated_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// Only those changed at or after this instant, in (updated_at, id) order.
    pub updated_since: Option<DateTime<Utc>>,
}

/// List loss reasons.
#[utoipa::path(get, path = "/api/v1/loss-reasons", operation_id = "listLossReasons", tag = "scenarios",
    params(LossReasonQuery, PageParams), responses((status = 200, description = "A page of loss reasons", body = Page<LossReasonDto>)))]
pub async fn list_loss_reasons(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<LossReasonQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = page.request()?;
    let (active, since) = (query.active, query.updated_since);
    let page = auth
        .run(&state, move |app, principal| {
            crm_app::sales::loss_reasons::list_loss_reasons(app, principal, active, since, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::<LossReasonDto>::of(page)))
}

/// Add a loss reason.
///
/// Heads and admins. Names are unique without regard to case.
#[utoipa::path(post, path = "/api/v1/loss-reasons", operation_id = "createLossReason", tag = "scenarios",
    request_body = CreateLossReasonRequest,
    responses((status = 201, description = "Created", body = LossReasonDto, headers(("Location" = String), ("ETag" = String)))))]
pub async fn create_loss_reason(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateLossReasonRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let name = body.into_inner().name;
    let v = auth
        .run(&state, move |app, principal| {
            crm_app::sales::loss_reasons::create_loss_reason(app, principal, &name)
        })
        .await?;
    let (id, version) = (v.id, v.version);
    Ok(created(format!("/api/v1/loss-reasons/{id}"), &LossReasonDto::from(v), Some(version)))
}

/// Rename or (de)activate a loss reason.
#[utoipa::path(patch, path = "/api/v1/loss-reasons/{id}", operation_id = "updateLossReason", tag = "scenarios",
    params(("id" = Uuid, Path, description = "Loss reason id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = UpdateLossReasonRequest,
    responses((status = 200, description = "Changed", body = LossReasonDto, headers(("ETag" = String)))))]
pub async fn update_loss_reason(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateLossReasonRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let id = id.into_inner();
    let v = auth
        .run(&state, move |app, principal| {
            crm_app::sales::loss_reasons::update_loss_reason(
                app,
                principal,
                id,
                if_match.0,
                b.name.as_deref(),
                b.active,
            )
        })
        .await?;
    let version = v.version;
    Ok(versioned(&req, &LossReasonDto::from(v), version))
}
