//! Departments: the organisation's tree and their heads.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use crm_app::identity::departments::{
    DepartmentChanges, DepartmentListFilter, DepartmentView, NewDepartment,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::error::ApiError;
use crate::extract::{created, validate, versioned, AppState, Auth, IfMatch, Json, Page, PageParams};
use crate::routes::double_option;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/departments").get(list_departments).post(create_department))
        .service(web::resource("/departments/{id}").get(get_department).patch(update_department));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DepartmentDto {
    pub id: Uuid,
    #[schema(example = "Отдел продаж")]
    pub name: String,
    /// The head approves the losses of the department's interests.
    pub head_id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
    #[schema(example = 1)]
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<DepartmentView> for DepartmentDto {
    fn from(d: DepartmentView) -> Self {
        Self {
            id: d.id,
            name: d.name,
            head_id: d.head_id,
            parent_id: d.parent_id,
            version: d.version,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Отдел продаж"}))]
pub struct CreateDepartmentRequest {
    /// Optional client-chosen id.
    pub id: Option<Uuid>,
    /// Unique, compared without case.
    #[validate(length(min = 1, max = 200))]
    #[schema(example = "Отдел продаж", min_length = 1, max_length = 200)]
    pub name: String,
    /// An active user with the head or admin role.
    pub head_id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Отдел оптовых продаж"}))]
pub struct UpdateDepartmentRequest {
    #[validate(length(min = 1, max = 200))]
    #[schema(example = "Отдел продаж", min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// null leaves the department without a head.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub head_id: Option<Option<Uuid>>,
    /// null makes it a top-level department; it cannot move below itself.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub parent_id: Option<Option<Uuid>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListDepartmentsQuery {
    pub parent_id: Option<Uuid>,
    /// Only departments changed at or after this time (RFC 3339).
    pub updated_since: Option<DateTime<Utc>>,
}

/// List departments.
#[utoipa::path(get, path = "/api/v1/departments", operation_id = "listDepartments", tag = "departments",
    params(ListDepartmentsQuery, PageParams),
    responses((status = 200, description = "A page of departments", body = Page<DepartmentDto>)))]
pub async fn list_departments(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<ListDepartmentsQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = page.request()?;
    let filter = DepartmentListFilter { parent_id: q.parent_id, updated_since: q.updated_since };
    let page = auth
        .run(&state, move |app, principal| {
            crm_app::identity::departments::list_departments(app, principal, filter, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::<DepartmentDto>::of(page)))
}

/// Create a department.
///
/// Admins only. Names are unique without regard to case (409); the head
/// must be an active user with the head or admin role and the parent must
/// exist (422 lists every unmet rule).
#[utoipa::path(post, path = "/api/v1/departments", operation_id = "createDepartment", tag = "departments",
    request_body = CreateDepartmentRequest,
    responses((status = 201, description = "Created", body = DepartmentDto,
        headers(("Location" = String), ("ETag" = String)))))]
pub async fn create_department(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateDepartmentRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let input = NewDepartment { id: b.id, name: b.name, head_id: b.head_id, parent_id: b.parent_id };
    let d = auth
        .run(&state, move |app, principal| {
            crm_app::identity::departments::create_department(app, principal, input)
        })
        .await?;
    let version = d.version;
    Ok(created(format!("/api/v1/departments/{}", d.id), &DepartmentDto::from(d), Some(version)))
}

/// Read a department.
#[utoipa::path(get, path = "/api/v1/departments/{id}", operation_id = "getDepartment", tag = "departments",
    params(("id" = Uuid, Path, description = "Department id")),
    responses(
        (status = 200, description = "The department", body = DepartmentDto, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the given ETag"),
    ))]
pub async fn get_department(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let d = auth
        .run(&state, move |app, principal| crm_app::identity::departments::get_department(app, principal, id))
        .await?;
    let version = d.version;
    Ok(versioned(&req, &DepartmentDto::from(d), version))
}

/// Change a department.
///
/// Admins only. Send `If-Match` with the ETag you read.
#[utoipa::path(patch, path = "/api/v1/departments/{id}", operation_id = "updateDepartment", tag = "departments",
    params(("id" = Uuid, Path, description = "Department id"),
        ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    request_body = UpdateDepartmentRequest,
    responses((status = 200, description = "Changed", body = DepartmentDto, headers(("ETag" = String)))))]
pub async fn update_department(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateDepartmentRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let id = id.into_inner();
    let changes = DepartmentChanges { name: b.name, head_id: b.head_id, parent_id: b.parent_id };
    let d = auth
        .run(&state, move |app, principal| {
            crm_app::identity::departments::update_department(app, principal, id, if_match.0, changes)
        })
        .await?;
    let version = d.version;
    Ok(versioned(&req, &DepartmentDto::from(d), version))
}
