//! Shipments: what ships of an order's lines, tracking, cancelling.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};

use crm_app::documents::shipments::{ShipmentChanges, ShipmentInput, ShipmentView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{created, versioned, AppState, Auth, IfMatch, Json, Page, PageParams};
use crate::routes::words::ShipmentStatusDto;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/orders/{id}/shipments").get(list_shipments).post(create_shipment))
        .service(web::resource("/shipments/{id}").get(get_shipment).patch(update_shipment))
        .service(web::resource("/shipments/{id}/cancel").post(cancel_shipment));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShipmentLineDto {
    pub order_line_id: Uuid,
    pub quantity: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShipmentDto {
    pub id: Uuid,
    #[schema(example = "SHP-2026-000012")]
    pub number: String,
    pub order_id: Uuid,
    /// `sales_document` or `warehouse_issue`.
    #[schema(value_type = crate::routes::words::ShipmentKindDto)]
    pub kind: String,
    pub shipped_on: DateTime<Utc>,
    /// `preparing`, `in_transit`, `delivered`, `returned`.
    pub status: ShipmentStatusDto,
    pub route_sheet: Option<String>,
    pub notes: Option<String>,
    pub lines: Vec<ShipmentLineDto>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The shipments of an order (cancelled ones too), oldest first.
#[utoipa::path(get, path = "/api/v1/orders/{id}/shipments", operation_id = "listShipments", tag = "orders",
    params(("id" = Uuid, Path, description = "Order id"), PageParams),
    responses((status = 200, description = "Its shipments", body = Page<ShipmentDto>)))]
pub async fn list_shipments(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let page = page.request()?;
    let found = auth
        .run(&state, move |app, principal| {
            crm_app::documents::shipments::list_shipments(app, principal, id, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::<ShipmentDto>::of(found)))
}

impl From<ShipmentView> for ShipmentDto {
    fn from(s: ShipmentView) -> Self {
        Self {
            id: s.id,
            number: s.number,
            order_id: s.order_id,
            kind: s.kind,
            shipped_on: s.shipped_on,
            status: s.status.into(),
            route_sheet: s.route_sheet,
            notes: s.notes,
            lines: s
                .lines
                .into_iter()
                .map(|(id, q)| ShipmentLineDto { order_line_id: id, quantity: q.to_string() })
                .collect(),
            version: s.version,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipLineRequest {
    pub order_line_id: Uuid,
    #[schema(example = "20")]
    pub quantity: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "sales_document", "shipped_on": "2026-12-01T10:00:00Z", "lines": [{"order_line_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e5f", "quantity": "20"}]}))]
pub struct CreateShipmentRequest {
    /// `sales_document` or `warehouse_issue`.
    #[schema(example = "sales_document")]
    #[schema(value_type = crate::routes::words::ShipmentKindDto)]
    pub kind: String,
    pub shipped_on: Option<DateTime<Utc>>,
    pub lines: Vec<ShipLineRequest>,
    pub route_sheet: Option<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "delivered"}))]
pub struct UpdateShipmentRequest {
    /// `preparing`, `in_transit`, `delivered` or `returned`.
    #[schema(value_type = Option<crate::routes::words::ShipmentEditStatusDto>)]
    pub status: Option<String>,
    pub route_sheet: Option<String>,
    /// Warehouse transfers, production stage.
    pub notes: Option<String>,
}

/// Ship (part of) a confirmed order.
///
/// Never more than remains unshipped (422 `within_remaining`), and not while
/// an agreement's before-shipment instalment is short (422
/// `prepayment_received`). Fires "shipment made" (Typical sale:
/// "Check the delivery" in 3 days), and "orders fully shipped" when every
/// confirmed order of the interest is shipped in full (Typical sale: won, the
/// potential becomes the orders' revenue).
#[utoipa::path(post, path = "/api/v1/orders/{id}/shipments", operation_id = "createShipment", tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")),
    request_body = CreateShipmentRequest,
    responses((status = 201, description = "Shipped", body = ShipmentDto, headers(("Location" = String), ("ETag" = String)))))]
pub async fn create_shipment(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<CreateShipmentRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = ShipmentInput {
        kind: b.kind,
        shipped_on: b.shipped_on,
        lines: b.lines.into_iter().map(|l| (l.order_line_id, l.quantity)).collect(),
        route_sheet: b.route_sheet,
        notes: b.notes,
    };
    let id = id.into_inner();
    let s = auth
        .run(&state, move |app, principal| {
            crm_app::documents::shipments::create_shipment(app, principal, id, input)
        })
        .await?;
    let (sid, version) = (s.id, s.version);
    Ok(created(format!("/api/v1/shipments/{sid}"), &ShipmentDto::from(s), Some(version)))
}

/// Read a shipment ("where is my order").
#[utoipa::path(get, path = "/api/v1/shipments/{id}", operation_id = "getShipment", tag = "orders",
    params(("id" = Uuid, Path, description = "Shipment id")),
    responses((status = 200, description = "The shipment", body = ShipmentDto, headers(("ETag" = String)))))]
pub async fn get_shipment(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let s = auth
        .run(&state, move |app, principal| crm_app::documents::shipments::get_shipment(app, principal, id))
        .await?;
    let version = s.version;
    Ok(versioned(&req, &ShipmentDto::from(s), version))
}

/// Track a shipment: delivery status, route sheet, notes.
#[utoipa::path(patch, path = "/api/v1/shipments/{id}", operation_id = "updateShipment", tag = "orders",
    params(("id" = Uuid, Path, description = "Shipment id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = UpdateShipmentRequest,
    responses((status = 200, description = "Changed", body = ShipmentDto, headers(("ETag" = String)))))]
pub async fn update_shipment(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateShipmentRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let c = ShipmentChanges { status: b.status, route_sheet: b.route_sheet, notes: b.notes };
    let id = id.into_inner();
    let s = auth
        .run(&state, move |app, principal| {
            crm_app::documents::shipments::update_shipment(app, principal, id, if_match.0, c)
        })
        .await?;
    let version = s.version;
    Ok(versioned(&req, &ShipmentDto::from(s), version))
}

/// Cancel a shipment made by mistake: its quantities return to the order.
#[utoipa::path(post, path = "/api/v1/shipments/{id}/cancel", operation_id = "cancelShipment", tag = "orders",
    params(("id" = Uuid, Path, description = "Shipment id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    responses((status = 200, description = "Cancelled", body = ShipmentDto)))]
pub async fn cancel_shipment(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let s = auth
        .run(&state, move |app, principal| {
            crm_app::documents::shipments::cancel_shipment(app, principal, id, if_match.0)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ShipmentDto::from(s)))
}
