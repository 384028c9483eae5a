//! Users of the CRM.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use crm_app::identity::users::{NewUser, UserChanges, UserListFilter, UserView};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::error::ApiError;
use crate::extract::{created, validate, versioned, AppState, Auth, IfMatch, Json, Page, PageParams};
use crate::routes::double_option;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/users").get(list_users).post(create_user))
        .service(web::resource("/users/{id}").get(get_user).patch(update_user));
}

/// Roles, as the API spells them.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RoleDto {
    Manager,
    Head,
    Accountant,
    Admin,
    Integration,
    Procurement,
}

impl From<crm_domain::Role> for RoleDto {
    fn from(r: crm_domain::Role) -> Self {
        use crm_domain::Role as R;
        match r {
            R::Manager => RoleDto::Manager,
            R::Head => RoleDto::Head,
            R::Accountant => RoleDto::Accountant,
            R::Admin => RoleDto::Admin,
            R::Integration => RoleDto::Integration,
            R::Procurement => RoleDto::Procurement,
        }
    }
}

impl RoleDto {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleDto::Manager => "manager",
            RoleDto::Head => "head",
            RoleDto::Accountant => "accountant",
            RoleDto::Admin => "admin",
            RoleDto::Integration => "integration",
            RoleDto::Procurement => "procurement",
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserDto {
    #[schema(example = "0193a0c4-7d2e-7c1a-9b1e-2f3a4b5c6d7e")]
    pub id: Uuid,
    #[schema(example = "ivan.petrov@example.ru")]
    pub email: String,
    #[schema(example = "Иван Петров")]
    pub name: String,
    pub role: RoleDto,
    pub department_id: Option<Uuid>,
    /// IANA time zone; "today" and "overdue" are judged in it.
    #[schema(example = "Europe/Moscow")]
    pub time_zone: String,
    pub active: bool,
    /// Preset by the lead wizard for this user's new interests.
    pub default_service_type: Option<String>,
    /// Increases with every change; the `ETag` is this number in quotes.
    #[schema(example = 1)]
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<UserView> for UserDto {
    fn from(u: UserView) -> Self {
        Self {
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role.into(),
            department_id: u.department_id,
            time_zone: u.time_zone,
            active: u.active,
            default_service_type: u.default_service_type,
            version: u.version,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ivan.petrov@example.ru", "name": "Иван Петров", "password": "correct horse battery staple", "role": "manager", "time_zone": "Europe/Moscow"}))]
pub struct CreateUserRequest {
    /// Optional client-chosen id (UUID), which makes a retried create harmless.
    pub id: Option<Uuid>,
    #[validate(length(min = 3, max = 254))]
    #[schema(example = "ivan.petrov@example.ru", min_length = 3, max_length = 254)]
    pub email: String,
    #[validate(length(min = 1, max = 200))]
    #[schema(example = "Иван Петров", min_length = 1, max_length = 200)]
    pub name: String,
    pub role: RoleDto,
    pub department_id: Option<Uuid>,
    /// IANA time zone; defaults to the organisation's (`CRM_TIMEZONE`).
    #[validate(length(min = 1, max = 64))]
    #[schema(example = "Europe/Moscow", min_length = 1, max_length = 64)]
    pub time_zone: Option<String>,
    #[validate(length(min = 10, max = 128))]
    #[schema(example = "correct horse battery staple", min_length = 10, max_length = 128, format = Password)]
    pub password: String,
    /// Defaults to true.
    pub active: Option<bool>,
    #[validate(length(max = 100))]
    #[schema(example = "Office furniture", max_length = 100)]
    pub default_service_type: Option<String>,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Иван Петров", "time_zone": "Asia/Yekaterinburg"}))]
pub struct UpdateUserRequest {
    /// Admins only.
    #[validate(length(min = 3, max = 254))]
    #[schema(min_length = 3, max_length = 254)]
    pub email: Option<String>,
    #[validate(length(min = 1, max = 200))]
    #[schema(example = "Иван Петров", min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// Admins only.
    pub role: Option<RoleDto>,
    /// Admins only; null removes the user from their department.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub department_id: Option<Option<Uuid>>,
    #[validate(length(min = 1, max = 64))]
    #[schema(example = "Asia/Yekaterinburg", min_length = 1, max_length = 64)]
    pub time_zone: Option<String>,
    /// Admins only. Deactivating signs the user out everywhere; a user who
    /// still holds clients, open interests or open tasks is deactivated only
    /// with `handover_to` (422 `work_handed_over` names what they hold).
    pub active: Option<bool>,
    /// With `"active": false` only: who takes everything the user holds
    /// first, in the same transaction, as `POST /users/{id}/handover` without
    /// `client_ids` does.
    pub handover_to: Option<Uuid>,
    /// A new password; signs out the user's other sessions.
    #[validate(length(min = 10, max = 128))]
    #[schema(min_length = 10, max_length = 128, format = Password)]
    pub password: Option<String>,
    /// Required to change your own password.
    #[validate(length(min = 1, max = 128))]
    #[schema(min_length = 1, max_length = 128, format = Password)]
    pub current_password: Option<String>,
    /// Your usual service type (null clears it).
    #[validate(length(max = 100))]
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable, max_length = 100)]
    pub default_service_type: Option<Option<String>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListUsersQuery {
    pub department_id: Option<Uuid>,
    pub role: Option<RoleDto>,
    pub active: Option<bool>,
    /// Only users changed at or after this time (RFC 3339), for syncing.
    pub updated_since: Option<DateTime<Utc>>,
}

/// List users.
///
/// Everyone signed in may list users (to assign work); keys need `users:read`.
#[utoipa::path(get, path = "/api/v1/users", operation_id = "listUsers", tag = "users",
    params(ListUsersQuery, PageParams),
    responses((status = 200, description = "A page of users", body = Page<UserDto>)))]
pub async fn list_users(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<ListUsersQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = page.request()?;
    let filter = UserListFilter {
        department_id: q.department_id,
        role: q.role.map(|r| r.as_str().to_owned()),
        active: q.active,
        updated_since: q.updated_since,
    };
    let page = auth
        .run(&state, move |app, principal| crm_app::identity::users::list_users(app, principal, filter, page))
        .await?;
    Ok(HttpResponse::Ok().json(Page::<UserDto>::of(page)))
}

/// Create a user.
///
/// Admins only. The e-mail must not belong to another user (409).
#[utoipa::path(post, path = "/api/v1/users", operation_id = "createUser", tag = "users",
    request_body = CreateUserRequest,
    responses((status = 201, description = "Created", body = UserDto,
        headers(("Location" = String, description = "URL of the new user"), ("ETag" = String)))))]
pub async fn create_user(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let input = NewUser {
        id: b.id,
        email: b.email,
        name: b.name,
        role: b.role.as_str().to_owned(),
        department_id: b.department_id,
        time_zone: b.time_zone,
        password: b.password,
        active: b.active,
        default_service_type: b.default_service_type,
    };
    let user = auth
        .run(&state, move |app, principal| crm_app::identity::users::create_user(app, principal, input))
        .await?;
    let version = user.version;
    Ok(created(format!("/api/v1/users/{}", user.id), &UserDto::from(user), Some(version)))
}

/// Read a user.
#[utoipa::path(get, path = "/api/v1/users/{id}", operation_id = "getUser", tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = UserDto, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the given ETag"),
    ))]
pub async fn get_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let user = auth
        .run(&state, move |app, principal| crm_app::identity::users::get_user(app, principal, id))
        .await?;
    let version = user.version;
    Ok(versioned(&req, &UserDto::from(user), version))
}

/// Change a user.
///
/// Admins may change every field of anyone. Others may change their own
/// name, time zone and password (giving `current_password`). Deactivating
/// someone who still holds work needs `handover_to`. Send
/// `If-Match` with the ETag you read to avoid overwriting someone else's change.
#[utoipa::path(patch, path = "/api/v1/users/{id}", operation_id = "updateUser", tag = "users",
    params(("id" = Uuid, Path, description = "User id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    request_body = UpdateUserRequest,
    responses((status = 200, description = "Changed", body = UserDto, headers(("ETag" = String)))))]
pub async fn update_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let id = id.into_inner();
    let changes = UserChanges {
        email: b.email,
        name: b.name,
        role: b.role.map(|r| r.as_str().to_owned()),
        department_id: b.department_id,
        time_zone: b.time_zone,
        active: b.active,
        password: b.password,
        current_password: b.current_password,
        default_service_type: b.default_service_type,
    };
    let handover_to = b.handover_to;
    let user = auth
        .run(&state, move |app, principal| {
            crm_app::sales::handover::update_user(app, principal, id, if_match.0, changes, handover_to)
        })
        .await?;
    let version = user.version;
    Ok(versioned(&req, &UserDto::from(user), version))
}
