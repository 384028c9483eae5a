//! API keys for integrations (ERP, accounting, telephony, mail fetchers).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use crm_app::identity::api_keys::{ApiKeyView, NewApiKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::error::ApiError;
use crate::extract::{created, validate, AppState, Auth, Json, Page, PageParams};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api-keys").get(list_api_keys).post(create_api_key))
        .service(web::resource("/api-keys/{id}").delete(revoke_api_key));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyDto {
    pub id: Uuid,
    #[schema(example = "1C:Accounting payments")]
    pub name: String,
    /// The key's public beginning, to recognise it; the secret is never shown again.
    #[schema(example = "crm_3f9a1c0b7d2e")]
    pub prefix: String,
    #[schema(example = json!(["payments:write", "orders:read"]))]
    #[schema(value_type = Vec<crate::routes::words::ScopeDto>)]
    pub scopes: Vec<String>,
    /// `active`, `expired` or `revoked`.
    #[schema(example = "active")]
    #[schema(value_type = crate::routes::words::ApiKeyStatusDto)]
    pub status: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Updated at most once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<ApiKeyView> for ApiKeyDto {
    fn from(k: ApiKeyView) -> Self {
        Self {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            scopes: k.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            status: k.status.as_str().to_owned(),
            created_by: k.created_by,
            created_at: k.created_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
            last_used_at: k.last_used_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKeyDto {
    #[serde(flatten)]
    pub key: ApiKeyDto,
    /// The whole key. Shown only in this response: store it now. Send it as
    /// `Authorization: Bearer …` or `X-Api-Key: …`. Null only when this is the
    /// replay of an `Idempotency-Key` retry: the secret is never stored, so a
    /// lost one cannot be shown again — revoke the key and create another.
    #[schema(example = "crm_3f9a1c0b7d2e_Zm9vYmFyYmF6cXV4…")]
    pub secret: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "1C:Accounting payments", "scopes": ["payments:write", "orders:read"], "expires_at": "2027-12-31T21:00:00Z"}))]
pub struct CreateApiKeyRequest {
    #[validate(length(min = 1, max = 200))]
    #[schema(example = "1C:Accounting payments", min_length = 1, max_length = 200)]
    pub name: String,
    /// At least one of: users:read, departments:read, leads:read, leads:write,
    /// clients:read, clients:write, interests:read, interests:write,
    /// tasks:read, tasks:write, orders:read, orders:write, payments:read,
    /// payments:write, shipments:read, shipments:write.
    #[validate(length(min = 1, max = 32))]
    #[schema(example = json!(["payments:write", "orders:read"]), min_items = 1, max_items = 32)]
    #[schema(value_type = Vec<crate::routes::words::ScopeDto>)]
    pub scopes: Vec<String>,
    /// When the key stops working; must be in the future. None: never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// List API keys.
///
/// Admins only. Secrets are never listed.
#[utoipa::path(get, path = "/api/v1/api-keys", operation_id = "listApiKeys", tag = "api-keys",
    params(PageParams),
    responses((status = 200, description = "A page of keys", body = Page<ApiKeyDto>)))]
pub async fn list_api_keys(
    state: web::Data<AppState>,
    auth: Auth,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = page.request()?;
    let page = auth
        .run(&state, move |app, principal| crm_app::identity::api_keys::list_api_keys(app, principal, page))
        .await?;
    Ok(HttpResponse::Ok().json(Page::<ApiKeyDto>::of(page)))
}

/// Create an API key.
///
/// Admins only. The response holds the secret, once. With an
/// `Idempotency-Key`, a retry replays the reply with `secret` null (secrets
/// are never stored).
#[utoipa::path(post, path = "/api/v1/api-keys", operation_id = "createApiKey", tag = "api-keys",
    request_body = CreateApiKeyRequest,
    responses((status = 201, description = "Created; `secret` is shown only now", body = CreatedApiKeyDto,
        headers(("Location" = String)))))]
pub async fn create_api_key(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateApiKeyRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let input = NewApiKey { name: b.name, scopes: b.scopes, expires_at: b.expires_at };
    let made = auth
        .run(&state, move |app, principal| crm_app::identity::api_keys::create_api_key(app, principal, input))
        .await?;
    let id = made.key.id;
    let dto = CreatedApiKeyDto { key: made.key.into(), secret: Some(made.secret) };
    Ok(created(format!("/api/v1/api-keys/{id}"), &dto, None))
}

/// Revoke an API key.
///
/// Admins only. The key stops working at once (401). Revoking a revoked key succeeds.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", operation_id = "revokeApiKey", tag = "api-keys",
    params(("id" = Uuid, Path, description = "API key id")),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke_api_key(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    auth.run(&state, move |app, principal| crm_app::identity::api_keys::revoke_api_key(app, principal, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
