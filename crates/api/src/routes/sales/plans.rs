//! Sales plans: the monthly amounts heads set for managers and departments.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use crm_app::sales::plans::{NewPlan, PlanChange, PlanQuery, PlanView};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::error::ApiError;
use crate::extract::{created, validate, versioned, AppState, Auth, IfMatch, Json, Page, PageParams};
use crate::routes::double_option;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/sales-plans").get(list_sales_plans).post(create_sales_plan)).service(
        web::resource("/sales-plans/{id}")
            .get(get_sales_plan)
            .patch(update_sales_plan)
            .delete(delete_sales_plan),
    );
}

/// A monthly amount for one manager or one department, in one currency.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e60", "month": "2026-12",
    "user_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e5f", "department_id": null,
    "amount": "500000.00", "currency": "RUB", "note": "Two large renewals expected",
    "created_by": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e61", "version": 1,
    "created_at": "2026-11-25T09:00:00Z", "updated_at": "2026-11-25T09:00:00Z", "deleted_at": null
}))]
pub struct SalesPlanDto {
    pub id: Uuid,
    #[schema(example = "2026-12", pattern = "^(19[0-9]{2}|2[01][0-9]{2}|2200)-(0[1-9]|1[0-2])$")]
    pub month: String,
    /// The manager the plan is for (or `department_id`).
    pub user_id: Option<Uuid>,
    /// The department the plan is for (or `user_id`); its won revenue is
    /// that of its people and of the departments below it.
    pub department_id: Option<Uuid>,
    #[schema(example = "500000.00")]
    pub amount: String,
    #[schema(example = "RUB")]
    pub currency: String,
    pub note: Option<String>,
    /// Who set it.
    pub created_by: Option<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set on a deleted plan (lists show those only to a syncing reader,
    /// with `updated_since`).
    pub deleted_at: Option<DateTime<Utc>>,
}

impl From<PlanView> for SalesPlanDto {
    fn from(v: PlanView) -> Self {
        Self {
            id: v.id,
            month: v.month.format("%Y-%m").to_string(),
            user_id: v.user_id,
            department_id: v.department_id,
            amount: v.amount.to_string(),
            currency: v.currency,
            note: v.note,
            created_by: v.created_by,
            version: v.version,
            created_at: v.created_at,
            updated_at: v.updated_at,
            deleted_at: v.deleted_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"month": "2026-12", "user_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e5f", "amount": "500000.00", "currency": "RUB", "note": "Two large renewals expected"}))]
pub struct CreateSalesPlanRequest {
    #[schema(example = "2026-12", pattern = "^(19[0-9]{2}|2[01][0-9]{2}|2200)-(0[1-9]|1[0-2])$")]
    pub month: String,
    /// The manager (a manager, head or admin of the departments you head);
    /// give this or `department_id`.
    pub user_id: Option<Uuid>,
    /// A department you head or one below it; give this or `user_id`.
    pub department_id: Option<Uuid>,
    /// Above zero.
    #[schema(example = "500000.00")]
    pub amount: String,
    /// ISO 4217; default RUB. Only interests in this currency count toward it.
    #[schema(example = "RUB")]
    pub currency: Option<String>,
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": "550000.00", "note": null}))]
pub struct UpdateSalesPlanRequest {
    /// Above zero (not null).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = String, required = false, example = "550000.00")]
    pub amount: Option<Option<String>>,
    /// null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable, max_length = 1000)]
    #[validate(length(max = 1000))]
    pub note: Option<Option<String>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SalesPlanQuery {
    /// The first month, `YYYY-MM`.
    #[param(pattern = "^(19[0-9]{2}|2[01][0-9]{2}|2200)-(0[1-9]|1[0-2])$", example = "2026-01")]
    pub month_from: Option<String>,
    /// The last month, `YYYY-MM`.
    #[param(pattern = "^(19[0-9]{2}|2[01][0-9]{2}|2200)-(0[1-9]|1[0-2])$", example = "2026-12")]
    pub month_to: Option<String>,
    /// Only this manager's plans.
    pub user_id: Option<Uuid>,
    /// Only the plans of this department, the departments below it and their people.
    pub department_id: Option<Uuid>,
    /// Only those changed at or after this instant, deleted ones included, in (updated_at, id) order.
    pub updated_since: Option<DateTime<Utc>>,
}

/// List sales plans.
///
/// A manager sees their own plans; a head those of the departments they
/// head, the departments below and their people; an admin all.
#[utoipa::path(get, path = "/api/v1/sales-plans", operation_id = "listSalesPlans", tag = "sales-plans",
    params(SalesPlanQuery, PageParams), responses((status = 200, description = "A page of plans", body = Page<SalesPlanDto>)))]
pub async fn list_sales_plans(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<SalesPlanQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = page.request()?;
    let q = query.into_inner();
    let query = PlanQuery {
        month_from: q.month_from,
        month_to: q.month_to,
        user_id: q.user_id,
        department_id: q.department_id,
        updated_since: q.updated_since,
    };
    let found = auth
        .run(&state, move |app, principal| crm_app::sales::plans::list_plans(app, principal, query, page))
        .await?;
    Ok(HttpResponse::Ok().json(Page::<SalesPlanDto>::of(found)))
}

/// Set a monthly sales plan for a manager or a department.
///
/// Heads for the departments they head, those below and their people
/// (themselves included); admins for anyone. One plan per month, target and
/// currency: a second is 409 (change the first).
#[utoipa::path(post, path = "/api/v1/sales-plans", operation_id = "createSalesPlan", tag = "sales-plans",
    request_body = CreateSalesPlanRequest,
    responses((status = 201, description = "Created", body = SalesPlanDto, headers(("Location" = String), ("ETag" = String)))))]
pub async fn create_sales_plan(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateSalesPlanRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let input = NewPlan {
        month: b.month,
        user_id: b.user_id,
        department_id: b.department_id,
        amount: b.amount,
        currency: b.currency,
        note: b.note,
    };
    let v = auth
        .run(&state, move |app, principal| crm_app::sales::plans::create_plan(app, principal, input))
        .await?;
    let (id, version) = (v.id, v.version);
    Ok(created(format!("/api/v1/sales-plans/{id}"), &SalesPlanDto::from(v), Some(version)))
}

/// Read a sales plan.
#[utoipa::path(get, path = "/api/v1/sales-plans/{id}", operation_id = "getSalesPlan", tag = "sales-plans",
    params(("id" = Uuid, Path, description = "Plan id")),
    responses((status = 200, description = "The plan", body = SalesPlanDto, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the given ETag")))]
pub async fn get_sales_plan(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let v =
        auth.run(&state, move |app, principal| crm_app::sales::plans::get_plan(app, principal, id)).await?;
    let version = v.version;
    Ok(versioned(&req, &SalesPlanDto::from(v), version))
}

/// Change a plan's amount or note.
///
/// The month, the target and the currency stay: delete the plan and set a
/// new one to change them.
#[utoipa::path(patch, path = "/api/v1/sales-plans/{id}", operation_id = "updateSalesPlan", tag = "sales-plans",
    params(("id" = Uuid, Path, description = "Plan id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = UpdateSalesPlanRequest,
    responses((status = 200, description = "Changed", body = SalesPlanDto, headers(("ETag" = String)))))]
pub async fn update_sales_plan(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateSalesPlanRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let id = id.into_inner();
    let change = PlanChange { amount: b.amount, note: b.note };
    let v = auth
        .run(&state, move |app, principal| {
            crm_app::sales::plans::update_plan(app, principal, id, if_match.0, change)
        })
        .await?;
    let version = v.version;
    Ok(versioned(&req, &SalesPlanDto::from(v), version))
}

/// Delete a sales plan.
///
/// Plan against fact stops counting it; the change feed carries
/// `sales_plan.deleted` with the plan as it was.
#[utoipa::path(delete, path = "/api/v1/sales-plans/{id}", operation_id = "deleteSalesPlan", tag = "sales-plans",
    params(("id" = Uuid, Path, description = "Plan id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_sales_plan(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    auth.run(&state, move |app, principal| {
        crm_app::sales::plans::delete_plan(app, principal, id, if_match.0)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
