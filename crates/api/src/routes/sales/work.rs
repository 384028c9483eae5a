//! Interactions with clients, tasks for people, notifications.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use crm_app::sales::work::{
    DueWindow, InteractionChanges, InteractionView, NewInteraction, NewTask, NotificationView, TaskChanges,
    TaskListFilter, TaskView,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::error::ApiError;
use crate::extract::{
    created, optional_json, validate, versioned, AppState, Auth, IfMatch, Json, Page, PageParams,
};
use crate::routes::words::{InteractionStatusDto, TaskStatusDto};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/interests/{id}/interactions").get(list_interactions).post(create_interaction),
    )
    .service(web::resource("/interactions/{id}").patch(update_interaction))
    .service(web::resource("/interactions/{id}/complete").post(complete_interaction))
    .service(web::resource("/interactions/{id}/cancel").post(cancel_interaction))
    .service(web::resource("/tasks").get(list_tasks).post(create_task))
    .service(web::resource("/tasks/{id}").patch(update_task))
    .service(web::resource("/tasks/{id}/complete").post(complete_task))
    .service(web::resource("/tasks/{id}/cancel").post(cancel_task))
    .service(web::resource("/notifications").get(list_notifications))
    .service(web::resource("/notifications/{id}/read").post(read_notification));
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InteractionTypeDto {
    Call,
    Email,
    Meeting,
    Message,
    Note,
}

impl InteractionTypeDto {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Email => "email",
            Self::Meeting => "meeting",
            Self::Message => "message",
            Self::Note => "note",
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InteractionDto {
    pub id: Uuid,
    pub interest_id: Uuid,
    #[serde(rename = "type")]
    #[schema(example = "call")]
    #[schema(value_type = InteractionTypeDto)]
    pub kind: String,
    /// `planned`, `done` or `cancelled`.
    #[schema(example = "planned")]
    pub status: InteractionStatusDto,
    pub subject: String,
    pub planned_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub result: Option<String>,
    pub created_by: Option<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<InteractionView> for InteractionDto {
    fn from(v: InteractionView) -> Self {
        Self {
            id: v.id,
            interest_id: v.interest_id,
            kind: v.kind,
            status: v.status.into(),
            subject: v.subject,
            planned_at: v.planned_at,
            completed_at: v.completed_at,
            result: v.result,
            created_by: v.created_by,
            version: v.version,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"type": "call", "subject": "Discuss delivery terms", "planned_at": "2027-03-02T11:00:00Z"}))]
pub struct CreateInteractionRequest {
    #[serde(rename = "type")]
    pub kind: InteractionTypeDto,
    #[validate(length(min = 1, max = 500))]
    #[schema(example = "Discuss delivery terms", min_length = 1, max_length = 500)]
    pub subject: String,
    /// Plan it for this time…
    pub planned_at: Option<DateTime<Utc>>,
    /// …or record one that already happened with its result.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub result: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"planned_at": "2027-03-03T11:00:00Z", "subject": "Discuss delivery terms"}))]
pub struct UpdateInteractionRequest {
    #[serde(rename = "type")]
    pub kind: Option<InteractionTypeDto>,
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500)]
    pub subject: Option<String>,
    pub planned_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"result": "The client wants a quote by Friday"}))]
pub struct CompleteInteractionRequest {
    #[validate(length(min = 1, max = 2000))]
    #[schema(example = "The client wants a quote by Friday", min_length = 1, max_length = 2000)]
    pub result: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "The client postponed the meeting"}))]
pub struct ReasonRequest {
    /// Optional note on why.
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

/// List an interest's interactions.
#[utoipa::path(get, path = "/api/v1/interests/{id}/interactions", operation_id = "listInteractions", tag = "interactions",
    params(("id" = Uuid, Path, description = "Interest id"), PageParams),
    responses((status = 200, description = "A page of interactions", body = Page<InteractionDto>)))]
pub async fn list_interactions(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = page.request()?;
    let id = id.into_inner();
    let page = auth
        .run(&state, move |app, principal| crm_app::sales::work::list_interactions(app, principal, id, page))
        .await?;
    Ok(HttpResponse::Ok().json(Page::<InteractionDto>::of(page)))
}

/// Plan an interaction, or record one that happened.
#[utoipa::path(post, path = "/api/v1/interests/{id}/interactions", operation_id = "createInteraction", tag = "interactions",
    params(("id" = Uuid, Path, description = "Interest id")),
    request_body = CreateInteractionRequest,
    responses((status = 201, description = "Created", body = InteractionDto, headers(("Location" = String), ("ETag" = String)))))]
pub async fn create_interaction(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<CreateInteractionRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let input = NewInteraction {
        kind: b.kind.as_str().to_owned(),
        subject: b.subject,
        planned_at: b.planned_at,
        result: b.result,
    };
    let id = id.into_inner();
    let v = auth
        .run(&state, move |app, principal| {
            crm_app::sales::work::create_interaction(app, principal, id, input)
        })
        .await?;
    let (iid, version) = (v.id, v.version);
    Ok(created(format!("/api/v1/interactions/{iid}"), &InteractionDto::from(v), Some(version)))
}

/// Reschedule or rename a planned interaction.
#[utoipa::path(patch, path = "/api/v1/interactions/{id}", operation_id = "updateInteraction", tag = "interactions",
    params(("id" = Uuid, Path, description = "Interaction id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = UpdateInteractionRequest,
    responses((status = 200, description = "Changed", body = InteractionDto, headers(("ETag" = String)))))]
pub async fn update_interaction(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateInteractionRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let changes = InteractionChanges {
        subject: b.subject,
        planned_at: b.planned_at,
        kind: b.kind.map(|k| k.as_str().to_owned()),
    };
    let id = id.into_inner();
    let v = auth
        .run(&state, move |app, principal| {
            crm_app::sales::work::update_interaction(app, principal, id, if_match.0, changes)
        })
        .await?;
    let version = v.version;
    Ok(versioned(&req, &InteractionDto::from(v), version))
}

/// Record a planned interaction's result.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/complete", operation_id = "completeInteraction", tag = "interactions",
    params(("id" = Uuid, Path, description = "Interaction id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = CompleteInteractionRequest,
    responses((status = 200, description = "Done", body = InteractionDto, headers(("ETag" = String)))))]
pub async fn complete_interaction(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<CompleteInteractionRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let result = body.into_inner().result;
    let id = id.into_inner();
    let v = auth
        .run(&state, move |app, principal| {
            crm_app::sales::work::complete_interaction(app, principal, id, if_match.0, &result)
        })
        .await?;
    let version = v.version;
    Ok(versioned(&req, &InteractionDto::from(v), version))
}

/// Cancel a planned interaction.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/cancel", operation_id = "cancelInteraction", tag = "interactions",
    params(("id" = Uuid, Path, description = "Interaction id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body(content = Option<ReasonRequest>),
    responses((status = 200, description = "Cancelled", body = InteractionDto, headers(("ETag" = String)))))]
pub async fn cancel_interaction(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let reason = optional_json::<ReasonRequest>(&body)?.reason;
    let id = id.into_inner();
    let v = auth
        .run(&state, move |app, principal| {
            crm_app::sales::work::cancel_interaction(app, principal, id, if_match.0, reason)
        })
        .await?;
    let version = v.version;
    Ok(versioned(&req, &InteractionDto::from(v), version))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskDto {
    pub id: Uuid,
    pub interest_id: Option<Uuid>,
    #[schema(example = "What about the payment?")]
    pub title: String,
    /// A code: the scenario rule's, or `manual`.
    #[schema(example = "payment_follow_up", pattern = "^[a-z0-9_]{1,40}$")]
    pub task_kind: String,
    pub assignee_id: Uuid,
    pub due_at: DateTime<Utc>,
    /// `open`, `done` or `cancelled`.
    pub status: TaskStatusDto,
    /// For a rule-made task: the stage and rule that made it.
    #[schema(example = "payment")]
    pub rule_stage: Option<String>,
    #[schema(example = "payment.on_entry[0]")]
    pub rule: Option<String>,
    pub created_by: Option<Uuid>,
    pub completed_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<TaskView> for TaskDto {
    fn from(v: TaskView) -> Self {
        Self {
            id: v.id,
            interest_id: v.interest_id,
            title: v.title,
            task_kind: v.task_kind,
            assignee_id: v.assignee_id,
            due_at: v.due_at,
            status: v.status.into(),
            rule_stage: v.rule_stage,
            rule: v.rule,
            created_by: v.created_by,
            completed_at: v.completed_at,
            version: v.version,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskDueDto {
    Overdue,
    Today,
    Upcoming,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListTasksQuery {
    /// `me` (default) or a user id you may see.
    #[param(
        pattern = "^(me|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$",
        example = "me"
    )]
    pub assignee: Option<String>,
    /// Judged in the assignee's time zone.
    pub due: Option<TaskDueDto>,
    /// `open` (default), `done`, `cancelled` or `all`.
    pub status: Option<crate::routes::words::TaskStatusFilterDto>,
    pub interest_id: Option<Uuid>,
    pub updated_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Send the contract draft", "due_at": "2027-03-02T15:00:00Z", "task_kind": "manual"}))]
pub struct CreateTaskRequest {
    #[validate(length(min = 1, max = 200))]
    #[schema(example = "Send the contract draft", min_length = 1, max_length = 200)]
    pub title: String,
    /// Default: the caller.
    pub assignee_id: Option<Uuid>,
    pub due_at: DateTime<Utc>,
    pub interest_id: Option<Uuid>,
    /// A code of 1–40 lower-case letters, digits and `_`; default `manual`.
    #[schema(example = "manual", pattern = "^[a-z0-9_]{1,40}$")]
    pub task_kind: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"due_at": "2027-03-03T15:00:00Z"}))]
pub struct UpdateTaskRequest {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub assignee_id: Option<Uuid>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "Sent by e-mail"}))]
pub struct TaskNoteRequest {
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// List tasks (yours by default), by due window.
#[utoipa::path(get, path = "/api/v1/tasks", operation_id = "listTasks", tag = "tasks",
    params(ListTasksQuery, PageParams), responses((status = 200, description = "A page of tasks", body = Page<TaskDto>)))]
pub async fn list_tasks(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<ListTasksQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = page.request()?;
    let filter = TaskListFilter {
        assignee: q.assignee,
        due: q.due.map(|d| match d {
            TaskDueDto::Overdue => DueWindow::Overdue,
            TaskDueDto::Today => DueWindow::Today,
            TaskDueDto::Upcoming => DueWindow::Upcoming,
        }),
        status: q.status.map(|s| s.as_str().to_owned()),
        interest_id: q.interest_id,
        updated_since: q.updated_since,
    };
    let page = auth
        .run(&state, move |app, principal| crm_app::sales::work::list_tasks(app, principal, filter, page))
        .await?;
    Ok(HttpResponse::Ok().json(Page::<TaskDto>::of(page)))
}

/// Create a task.
#[utoipa::path(post, path = "/api/v1/tasks", operation_id = "createTask", tag = "tasks",
    request_body = CreateTaskRequest,
    responses((status = 201, description = "Created", body = TaskDto, headers(("Location" = String), ("ETag" = String)))))]
pub async fn create_task(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateTaskRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let input = NewTask {
        title: b.title,
        assignee_id: b.assignee_id,
        due_at: b.due_at,
        interest_id: b.interest_id,
        task_kind: b.task_kind,
    };
    let v = auth
        .run(&state, move |app, principal| crm_app::sales::work::create_task_by_hand(app, principal, input))
        .await?;
    let (id, version) = (v.id, v.version);
    Ok(created(format!("/api/v1/tasks/{id}"), &TaskDto::from(v), Some(version)))
}

/// Change an open task: title, due time, assignee.
#[utoipa::path(patch, path = "/api/v1/tasks/{id}", operation_id = "updateTask", tag = "tasks",
    params(("id" = Uuid, Path, description = "Task id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = UpdateTaskRequest,
    responses((status = 200, description = "Changed", body = TaskDto, headers(("ETag" = String)))))]
pub async fn update_task(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateTaskRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let changes = TaskChanges { title: b.title, due_at: b.due_at, assignee_id: b.assignee_id };
    let id = id.into_inner();
    let v = auth
        .run(&state, move |app, principal| {
            crm_app::sales::work::update_task(app, principal, id, if_match.0, changes)
        })
        .await?;
    let version = v.version;
    Ok(versioned(&req, &TaskDto::from(v), version))
}

async fn finish(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: Uuid,
    if_match: IfMatch,
    body: web::Bytes,
    done: bool,
) -> Result<HttpResponse, ApiError> {
    let note = optional_json::<TaskNoteRequest>(&body)?.note;
    let v = auth
        .run(&state, move |app, principal| {
            crm_app::sales::work::finish_task(app, principal, id, if_match.0, done, note)
        })
        .await?;
    let version = v.version;
    Ok(versioned(&req, &TaskDto::from(v), version))
}

/// Complete a task.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/complete", operation_id = "completeTask", tag = "tasks",
    params(("id" = Uuid, Path, description = "Task id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body(content = Option<TaskNoteRequest>),
    responses((status = 200, description = "Done", body = TaskDto, headers(("ETag" = String)))))]
pub async fn complete_task(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    finish(state, req, auth, id.into_inner(), if_match, body, true).await
}

/// Cancel a task.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/cancel", operation_id = "cancelTask", tag = "tasks",
    params(("id" = Uuid, Path, description = "Task id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body(content = Option<TaskNoteRequest>),
    responses((status = 200, description = "Cancelled", body = TaskDto, headers(("ETag" = String)))))]
pub async fn cancel_task(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    finish(state, req, auth, id.into_inner(), if_match, body, false).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationDto {
    pub id: Uuid,
    pub interest_id: Option<Uuid>,
    #[schema(example = "The orders are paid: ship the goods")]
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl From<NotificationView> for NotificationDto {
    fn from(v: NotificationView) -> Self {
        Self {
            id: v.id,
            interest_id: v.interest_id,
            text: v.text,
            created_at: v.created_at,
            read_at: v.read_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// Only unread ones.
    pub unread: Option<bool>,
}

/// Your notifications (reminders).
#[utoipa::path(get, path = "/api/v1/notifications", operation_id = "listNotifications", tag = "tasks",
    params(NotificationQuery, PageParams), responses((status = 200, description = "A page of notifications", body = Page<NotificationDto>)))]
pub async fn list_notifications(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<NotificationQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = page.request()?;
    let unread = query.unread.unwrap_or(false);
    let page = auth
        .run(&state, move |app, principal| {
            crm_app::sales::work::list_notifications(app, principal, unread, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::<NotificationDto>::of(page)))
}

/// Mark a notification read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", operation_id = "readNotification", tag = "tasks",
    params(("id" = Uuid, Path, description = "Notification id")),
    responses((status = 200, description = "Read", body = NotificationDto)))]
pub async fn read_notification(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let v = auth
        .run(&state, move |app, principal| crm_app::sales::work::read_notification(app, principal, id))
        .await?;
    Ok(HttpResponse::Ok().json(NotificationDto::from(v)))
}
