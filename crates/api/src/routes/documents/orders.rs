//! Orders: lines, schedule, posting and cancelling, and the sync list.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use chrono::{DateTime, Utc};
use crm_app::documents::orders::{InstalmentView, OrderChanges, OrderInput, OrderView};

use crm_app::documents::lines::LineInput;

use crm_app::documents::schedule::ManualInstalment;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{created, versioned, AppState, Auth, IfMatch, Json, Page, PageParams};
use crate::routes::words::{InstalmentStatusDto, OrderStatusDto};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/interests/{id}/orders").get(list_interest_orders).post(create_order))
        .service(web::resource("/orders").get(list_orders))
        .service(web::resource("/orders/{id}").get(get_order).patch(update_order))
        .service(web::resource("/orders/{id}/confirm").post(confirm_order))
        .service(web::resource("/orders/{id}/cancel").post(cancel_order));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLineDto {
    pub id: Uuid,
    pub position: i32,
    pub product_id: Option<Uuid>,
    pub description: String,
    #[schema(example = "40")]
    pub quantity: String,
    #[schema(example = "12990.00")]
    pub unit_price: String,
    /// Percent.
    #[schema(example = "5")]
    pub discount_percent: String,
    #[schema(example = "22")]
    pub vat_rate: String,
    pub price_includes_vat: bool,
    pub net: String,
    pub vat: String,
    pub total: String,
    pub shipped_quantity: String,
    /// The quote line this line orders, for an order made from a quote.
    pub quote_line_id: Option<Uuid>,
}

/// One instalment of the payment schedule and what it has received.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstalmentDto {
    pub position: i32,
    #[schema(example = "120000.00")]
    pub amount: String,
    #[schema(example = "50000.00")]
    pub paid: String,
    /// `on_confirmation`, `before_shipment`, `after_shipment` (from the agreement) or `fixed_date` (by hand).
    #[schema(example = "on_confirmation")]
    #[schema(value_type = crate::routes::words::InstalmentTriggerDto)]
    pub trigger: String,
    pub days_offset: i32,
    /// Known once the trigger happened.
    pub due_on: Option<NaiveDate>,
    /// `paid`, `partially_paid`, `due` or `overdue`.
    #[schema(example = "partially_paid")]
    pub status: InstalmentStatusDto,
}

impl From<InstalmentView> for InstalmentDto {
    fn from(i: InstalmentView) -> Self {
        Self {
            position: i.position,
            amount: i.amount.to_string(),
            paid: i.paid.to_string(),
            trigger: i.trigger,
            days_offset: i.days_offset,
            due_on: i.due_on,
            status: i.status.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDto {
    pub id: Uuid,
    #[schema(example = "ORD-2026-000045")]
    pub number: String,
    pub interest_id: Uuid,
    pub client_id: Option<Uuid>,
    /// The quote it was made from.
    pub quote_id: Option<Uuid>,
    /// The agreement whose payment terms it follows.
    pub agreement_id: Option<Uuid>,
    /// The payment schedule: instalments add up to the total exactly.
    pub schedule: Vec<InstalmentDto>,
    /// `draft`, `confirmed` or `cancelled`.
    pub status: OrderStatusDto,
    pub currency: String,
    pub net: String,
    pub vat: String,
    pub total: String,
    pub paid: String,
    pub paid_percent: i64,
    /// By quantity.
    pub shipped_percent: i64,
    pub lines: Vec<OrderLineDto>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<OrderView> for OrderDto {
    fn from(o: OrderView) -> Self {
        Self {
            id: o.id,
            number: o.number,
            interest_id: o.interest_id,
            client_id: o.client_id,
            quote_id: o.quote_id,
            agreement_id: o.agreement_id,
            schedule: o.schedule.into_iter().map(InstalmentDto::from).collect(),
            status: o.status.into(),
            currency: o.currency,
            net: o.net.to_string(),
            vat: o.vat.to_string(),
            total: o.total.to_string(),
            paid: o.paid.to_string(),
            paid_percent: o.paid_percent,
            shipped_percent: o.shipped_percent,
            lines: o
                .lines
                .into_iter()
                .map(|l| OrderLineDto {
                    id: l.id,
                    position: l.position,
                    product_id: l.product_id,
                    description: l.description,
                    quantity: l.quantity.to_string(),
                    unit_price: l.unit_price.to_string(),
                    discount_percent: crm_domain::VatRate::Percent(u32::try_from(l.discount_bp).unwrap_or(0))
                        .to_string(),
                    vat_rate: l.vat_rate,
                    price_includes_vat: l.price_includes_vat,
                    net: l.net.to_string(),
                    vat: l.vat.to_string(),
                    total: l.total.to_string(),
                    shipped_quantity: l.shipped_quantity.to_string(),
                    quote_line_id: l.quote_line_id,
                })
                .collect(),
            confirmed_at: o.confirmed_at,
            version: o.version,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineRequest {
    /// Only in a PATCH of an order made from a quote: the quote line (of the
    /// approved variant) this line orders; then give `quantity` alone.
    pub quote_line_id: Option<Uuid>,
    /// A catalogue product (its name, price and VAT are the defaults)…
    pub product_id: Option<Uuid>,
    /// …or free text with a unit price.
    pub description: Option<String>,
    /// Up to three decimals, more than zero, at most `1000000000` (a
    /// billion units); exactly the digits, no spaces.
    #[schema(example = "40", pattern = r"^[0-9]{1,12}(\.[0-9]{1,3})?$")]
    pub quantity: String,
    /// Up to two decimals, at most `1000000000000.00` (a trillion); the
    /// line's total and the document's total are held to the same limit,
    /// else 422 `amount_too_large`.
    #[schema(example = "12990.00", pattern = r"^[0-9]{1,13}(\.[0-9]{1,2})?$")]
    pub unit_price: Option<String>,
    #[schema(example = "5")]
    pub discount_percent: Option<String>,
    #[schema(example = "22")]
    pub vat_rate: Option<String>,
    pub price_includes_vat: Option<bool>,
}

impl From<LineRequest> for LineInput {
    fn from(l: LineRequest) -> Self {
        LineInput {
            quote_line_id: l.quote_line_id,
            product_id: l.product_id,
            description: l.description,
            quantity: l.quantity,
            unit_price: l.unit_price,
            discount_percent: l.discount_percent,
            vat_rate: l.vat_rate,
            price_includes_vat: l.price_includes_vat,
        }
    }
}

/// An instalment entered by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstalmentRequest {
    #[schema(example = "120000.00")]
    pub amount: String,
    pub due_on: NaiveDate,
}

impl From<InstalmentRequest> for ManualInstalment {
    fn from(i: InstalmentRequest) -> Self {
        ManualInstalment { amount: i.amount, due_on: i.due_on }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lines": [{"description": "Office chair Ergo", "quantity": "40", "unit_price": "12990.00", "vat_rate": "22", "discount_percent": "5"}]}))]
pub struct CreateOrderRequest {
    pub lines: Vec<LineRequest>,
    /// The client's agreement: its payment terms make the schedule.
    pub agreement_id: Option<Uuid>,
    /// A schedule by hand instead (must add up to the total).
    pub schedule: Option<Vec<InstalmentRequest>>,
}

/// Changes to a draft order; a confirmed one is frozen.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lines": [{"description": "Office chair Ergo", "quantity": "45", "unit_price": "12990.00", "vat_rate": "22"}]}))]
pub struct UpdateOrderRequest {
    /// Replaces every line.
    pub lines: Option<Vec<LineRequest>>,
    /// An agreement id, or `null` to drop it.
    #[serde(default, deserialize_with = "crate::routes::double_option")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub agreement_id: Option<Option<Uuid>>,
    /// Replaces the schedule with one by hand.
    pub schedule: Option<Vec<InstalmentRequest>>,
}

/// Make a draft order on an interest.
///
/// Each line is rounded to kopecks half away from zero; totals are sums of lines.
#[utoipa::path(post, path = "/api/v1/interests/{id}/orders", operation_id = "createOrder", tag = "orders",
    params(("id" = Uuid, Path, description = "Interest id")),
    request_body = CreateOrderRequest,
    responses((status = 201, description = "Drafted", body = OrderDto, headers(("Location" = String), ("ETag" = String)))))]
pub async fn create_order(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<CreateOrderRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let input = OrderInput {
        lines: body.lines.into_iter().map(Into::into).collect(),
        agreement_id: body.agreement_id,
        schedule: body.schedule.map(|s| s.into_iter().map(Into::into).collect()),
    };
    let id = id.into_inner();
    let o = auth
        .run(&state, move |app, principal| {
            crm_app::documents::orders::create_order(app, principal, id, input)
        })
        .await?;
    let (oid, version) = (o.id, o.version);
    Ok(created(format!("/api/v1/orders/{oid}"), &OrderDto::from(o), Some(version)))
}

/// The orders of an interest.
#[utoipa::path(get, path = "/api/v1/interests/{id}/orders", operation_id = "listInterestOrders", tag = "orders",
    params(("id" = Uuid, Path, description = "Interest id"), PageParams),
    responses((status = 200, description = "Its orders", body = Page<OrderDto>)))]
pub async fn list_interest_orders(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let page = page.request()?;
    let found = auth
        .run(&state, move |app, principal| {
            crm_app::documents::orders::list_interest_orders(app, principal, id, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::<OrderDto>::of(found)))
}

/// Read an order: totals, paid and shipped shares, lines.
#[utoipa::path(get, path = "/api/v1/orders/{id}", operation_id = "getOrder", tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")),
    responses((status = 200, description = "The order", body = OrderDto, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the given ETag")))]
pub async fn get_order(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let o = auth
        .run(&state, move |app, principal| crm_app::documents::orders::get_order(app, principal, id))
        .await?;
    let version = o.version;
    Ok(versioned(&req, &OrderDto::from(o), version))
}

/// Change a draft order: lines, agreement, schedule.
///
/// With an agreement the schedule is regenerated from its terms for the new
/// total; a schedule by hand must add up to the total (422 `schedule_total`).
/// A confirmed order answers 422 `order_draft`.
#[utoipa::path(patch, path = "/api/v1/orders/{id}", operation_id = "updateOrder", tag = "orders",
    params(("id" = Uuid, Path, description = "Order id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = UpdateOrderRequest,
    responses((status = 200, description = "Changed", body = OrderDto, headers(("ETag" = String)))))]
pub async fn update_order(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateOrderRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let changes = OrderChanges {
        lines: body.lines.map(|l| l.into_iter().map(Into::into).collect()),
        agreement_id: body.agreement_id,
        schedule: body.schedule.map(|s| s.into_iter().map(Into::into).collect()),
    };
    let id = id.into_inner();
    let o = auth
        .run(&state, move |app, principal| {
            crm_app::documents::orders::update_order(app, principal, id, if_match.0, changes)
        })
        .await?;
    let version = o.version;
    Ok(versioned(&req, &OrderDto::from(o), version))
}

/// Confirm (post) an order: lines and totals are frozen from now on.
#[utoipa::path(post, path = "/api/v1/orders/{id}/confirm", operation_id = "confirmOrder", tag = "orders",
    params(("id" = Uuid, Path, description = "Order id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    responses((status = 200, description = "Confirmed", body = OrderDto)))]
pub async fn confirm_order(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let o = auth
        .run(&state, move |app, principal| {
            crm_app::documents::orders::confirm_order(app, principal, id, if_match.0)
        })
        .await?;
    let version = o.version;
    Ok(versioned(&req, &OrderDto::from(o), version))
}

/// Cancel an order that has no payments.
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", operation_id = "cancelOrder", tag = "orders",
    params(("id" = Uuid, Path, description = "Order id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    responses((status = 200, description = "Cancelled", body = OrderDto)))]
pub async fn cancel_order(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let o = auth
        .run(&state, move |app, principal| {
            crm_app::documents::orders::cancel_order(app, principal, id, if_match.0)
        })
        .await?;
    let version = o.version;
    Ok(versioned(&req, &OrderDto::from(o), version))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListOrdersQuery {
    /// `draft`, `confirmed` or `cancelled`.
    pub status: Option<crate::routes::words::OrderStatusDto>,
    /// Only orders changed at or after this time (RFC 3339), for syncing.
    pub updated_since: Option<DateTime<Utc>>,
}

/// List orders for syncing (ERP, accounting): totals, paid and shipped shares.
#[utoipa::path(get, path = "/api/v1/orders", operation_id = "listOrders", tag = "orders",
    params(ListOrdersQuery, PageParams), responses((status = 200, description = "A page of orders", body = Page<OrderDto>)))]
pub async fn list_orders(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<ListOrdersQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = page.request()?;
    let page = auth
        .run(&state, move |app, principal| {
            crm_app::documents::orders::list_orders(
                app,
                principal,
                q.status.map(|s| s.as_str().to_owned()),
                q.updated_since,
                page,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::<OrderDto>::of(page)))
}
