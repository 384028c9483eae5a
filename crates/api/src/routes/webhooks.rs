//! Webhooks (admins): where the change feed is pushed, their deliveries with
//! every attempt, redelivery, replay from a feed cursor and a test send.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use crm_app::feed::webhooks::{AttemptView, DeliveryView, WebhookInput, WebhookView};
use crm_domain::status::DeliveryStatus;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{created, versioned, AppState, Auth, IfMatch, Json, Page, PageParams};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/webhooks").get(list_webhooks).post(create_webhook))
        .service(web::resource("/webhooks/{id}/rotate-secret").post(rotate_secret))
        .service(web::resource("/webhooks/{id}/deliveries").get(list_deliveries))
        .service(web::resource("/webhooks/{id}/replay").post(replay))
        .service(web::resource("/webhooks/{id}/test").post(test_webhook))
        .service(web::resource("/webhook-deliveries/{id}/redeliver").post(redeliver))
        .service(
            web::resource("/webhooks/{id}").get(get_webhook).patch(update_webhook).delete(delete_webhook),
        );
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDto {
    pub id: Uuid,
    #[schema(example = "https://erp.example.com/crm/events")]
    pub url: String,
    /// Event types or `<prefix>.*`, as the feed's `types` takes them; empty: every type.
    #[schema(example = json!(["order.*", "payment.registered"]))]
    pub types: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    /// Why it switched itself off: a run of dead deliveries, or a 410 from the receiver.
    pub disabled_reason: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<WebhookView> for WebhookDto {
    fn from(w: WebhookView) -> Self {
        Self {
            id: w.id,
            url: w.url,
            types: w.types,
            description: w.description,
            active: w.active,
            disabled_reason: w.disabled_reason,
            version: w.version,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecretDto {
    #[serde(flatten)]
    pub webhook: WebhookDto,
    /// The signing secret (Standard Webhooks). Shown only in this response;
    /// null when this is the replay of an `Idempotency-Key` retry.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://erp.example.com/crm/events", "types": ["order.*", "payment.registered"], "description": "ERP order sync"}))]
pub struct CreateWebhookRequest {
    /// `https`, resolving to public addresses only (unless the deployment sets
    /// `CRM_WEBHOOKS_ALLOW_PRIVATE`). Redirects are not followed.
    #[schema(example = "https://erp.example.com/crm/events", max_length = 2000)]
    pub url: String,
    #[schema(example = json!(["order.*", "payment.registered"]))]
    pub types: Option<Vec<String>>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// Default true.
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"active": false}))]
pub struct UpdateWebhookRequest {
    pub url: Option<String>,
    pub types: Option<Vec<String>>,
    /// null clears it.
    #[serde(default, deserialize_with = "crate::routes::double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// Switching it back on clears `disabled_reason`; `replay` sends what it missed.
    pub active: Option<bool>,
}

/// Register a webhook (admins).
///
/// It receives the events written from now on; `replay` sends older ones.
/// Every delivery is signed as Standard Webhooks describe (`webhook-id`,
/// `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`) and its
/// body is the event as `GET /events` gives it.
#[utoipa::path(post, path = "/api/v1/webhooks", operation_id = "createWebhook", tag = "webhooks",
    request_body = CreateWebhookRequest,
    responses((status = 201, description = "Registered; the secret is shown this once", body = WebhookWithSecretDto, headers(("Location" = String)))))]
pub async fn create_webhook(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateWebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = WebhookInput {
        url: Some(b.url),
        types: b.types,
        description: b.description.map(Some),
        active: b.active,
    };
    let (w, secret) = auth
        .run(&state, move |app, principal| crm_app::feed::webhooks::create_webhook(app, principal, input))
        .await?;
    let id = w.id;
    let version = w.version;
    Ok(created(
        format!("/api/v1/webhooks/{id}"),
        &WebhookWithSecretDto { webhook: w.into(), secret: Some(secret) },
        Some(version),
    ))
}

/// List webhooks (admins).
#[utoipa::path(get, path = "/api/v1/webhooks", operation_id = "listWebhooks", tag = "webhooks",
    params(PageParams), responses((status = 200, description = "A page of webhooks", body = Page<WebhookDto>)))]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    auth: Auth,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = page.request()?;
    let found = auth
        .run(&state, move |app, principal| crm_app::feed::webhooks::list_webhooks(app, principal, page))
        .await?;
    Ok(HttpResponse::Ok().json(Page::<WebhookDto>::of(found)))
}

/// Read a webhook (admins).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", operation_id = "getWebhook", tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses((status = 200, description = "The webhook", body = WebhookDto, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the given ETag")))]
pub async fn get_webhook(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let w = auth
        .run(&state, move |app, principal| crm_app::feed::webhooks::get_webhook(app, principal, id))
        .await?;
    let version = w.version;
    Ok(versioned(&req, &WebhookDto::from(w), version))
}

/// Change a webhook (admins).
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", operation_id = "updateWebhook", tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = UpdateWebhookRequest,
    responses((status = 200, description = "Changed", body = WebhookDto, headers(("ETag" = String)))))]
pub async fn update_webhook(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateWebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let b = body.into_inner();
    let input = WebhookInput { url: b.url, types: b.types, description: b.description, active: b.active };
    let w = auth
        .run(&state, move |app, principal| {
            crm_app::feed::webhooks::update_webhook(app, principal, id, if_match.0, input)
        })
        .await?;
    let version = w.version;
    Ok(versioned(&req, &WebhookDto::from(w), version))
}

/// Delete a webhook and its delivery history (admins).
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", operation_id = "deleteWebhook", tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    auth.run(&state, move |app, principal| crm_app::feed::webhooks::delete_webhook(app, principal, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Give a webhook a new secret (admins); the old one stops signing at once.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", operation_id = "rotateWebhookSecret", tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses((status = 200, description = "The new secret, shown this once", body = WebhookWithSecretDto)))]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (w, secret) = auth
        .run(&state, move |app, principal| crm_app::feed::webhooks::rotate_secret(app, principal, id))
        .await?;
    Ok(HttpResponse::Ok().json(WebhookWithSecretDto { webhook: w.into(), secret: Some(secret) }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptDto {
    pub attempted_at: DateTime<Utc>,
    /// The receiver's status; null when none came (timeout, refused connection, refused address).
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// The first KiB of the receiver's answer.
    pub response_excerpt: Option<String>,
}

impl From<AttemptView> for AttemptDto {
    fn from(a: AttemptView) -> Self {
        Self {
            attempted_at: a.attempted_at,
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            error: a.error,
            response_excerpt: a.response_excerpt,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatusDto {
    Pending,
    Succeeded,
    Dead,
}

impl From<DeliveryStatus> for DeliveryStatusDto {
    fn from(s: DeliveryStatus) -> Self {
        match s {
            DeliveryStatus::Pending => Self::Pending,
            DeliveryStatus::Succeeded => Self::Succeeded,
            DeliveryStatus::Dead => Self::Dead,
        }
    }
}

impl From<DeliveryStatusDto> for DeliveryStatus {
    fn from(s: DeliveryStatusDto) -> Self {
        match s {
            DeliveryStatusDto::Pending => Self::Pending,
            DeliveryStatusDto::Succeeded => Self::Succeeded,
            DeliveryStatusDto::Dead => Self::Dead,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDto {
    pub id: Uuid,
    pub webhook_id: Uuid,
    /// The event's id: the `webhook-id` header of every attempt.
    pub event_id: Uuid,
    #[schema(example = "order.confirmed")]
    #[schema(value_type = crate::routes::feed::EventTypeDto)]
    pub event_type: String,
    /// `pending` (waiting or between attempts), `succeeded`, or `dead` (the
    /// schedule ran out, or the receiver answered 410).
    pub status: DeliveryStatusDto,
    pub attempts: Vec<AttemptDto>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<DeliveryView> for DeliveryDto {
    fn from(d: DeliveryView) -> Self {
        Self {
            id: d.id,
            webhook_id: d.webhook_id,
            event_id: d.event_id,
            event_type: d.event_type,
            status: d.status.into(),
            attempts: d.attempts.into_iter().map(AttemptDto::from).collect(),
            next_attempt_at: d.next_attempt_at,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    pub status: Option<DeliveryStatusDto>,
}

/// A webhook's deliveries with every attempt (admins).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", operation_id = "listWebhookDeliveries", tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id"), DeliveriesQuery, PageParams),
    responses((status = 200, description = "A page of deliveries", body = Page<DeliveryDto>)))]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    query: web::Query<DeliveriesQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let status = query.into_inner().status.map(DeliveryStatus::from);
    let page = page.request()?;
    let found = auth
        .run(&state, move |app, principal| {
            crm_app::feed::webhooks::list_deliveries(app, principal, id, status, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::<DeliveryDto>::of(found)))
}

/// Send one delivery again, now, with a fresh schedule (admins).
#[utoipa::path(post, path = "/api/v1/webhook-deliveries/{id}/redeliver", operation_id = "redeliverWebhookDelivery", tag = "webhooks",
    params(("id" = Uuid, Path, description = "Delivery id")),
    responses((status = 200, description = "Queued again", body = DeliveryDto)))]
pub async fn redeliver(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let d = auth
        .run(&state, move |app, principal| crm_app::feed::webhooks::redeliver(app, principal, id))
        .await?;
    Ok(HttpResponse::Ok().json(DeliveryDto::from(d)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"after": "ZjE6MDow"}))]
pub struct ReplayRequest {
    /// A feed cursor (`next_cursor` of `GET /events`): everything after it is
    /// sent again. `ZjE6MDow` is the feed's very start.
    #[schema(example = "ZjE6MDow")]
    pub after: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayDto {
    /// Deliveries put back in the queue; events never enqueued follow them.
    pub requeued: usize,
}

/// Send everything since a feed cursor again, and switch the webhook on (admins).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/replay", operation_id = "replayWebhook", tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id")),
    request_body = ReplayRequest,
    responses((status = 200, description = "Queued", body = ReplayDto),
        (status = 410, description = "The cursor is older than the events kept", body = crate::error::Problem)))]
pub async fn replay(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<ReplayRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let after = crate::routes::feed::decode(&body.into_inner().after).ok_or_else(|| {
        ApiError::field(
            "after",
            "invalid",
            "not a feed cursor this server issued (next_cursor of GET /events)",
        )
    })?;
    let requeued = auth
        .run(&state, move |app, principal| crm_app::feed::webhooks::replay(app, principal, id, after))
        .await?;
    Ok(HttpResponse::Ok().json(ReplayDto { requeued }))
}

/// Send a `webhook.test` event now and answer how the receiver took it (admins).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", operation_id = "testWebhook", tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses((status = 200, description = "The attempt (not kept among the deliveries)", body = AttemptDto)))]
pub async fn test_webhook(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let target = auth
        .run(&state, move |app, principal| crm_app::feed::webhooks::test_target(app, principal, id))
        .await?;
    let now = state.app.now();
    let event = crate::routes::feed::EventDto {
        id: crm_domain::new_id(),
        event_type: crate::routes::feed::EventTypeDto(crm_domain::events::EventType::WebhookTest),
        occurred_at: now,
        actor: crate::routes::feed::EventActorDto { kind: "system".to_owned(), id: None },
        entity: crate::routes::feed::EventEntityDto {
            entity_type: "webhook".to_owned(),
            id: target.webhook_id,
            version: None,
        },
        data: None,
        changes: None,
    };
    let outcome = crate::webhooks::send(&target.target, &target.secret, &event, now).await;
    Ok(HttpResponse::Ok().json(AttemptDto {
        attempted_at: now,
        status_code: outcome.status_code.map(i32::from),
        latency_ms: outcome.latency_ms,
        error: outcome.error,
        response_excerpt: outcome.excerpt,
    }))
}
