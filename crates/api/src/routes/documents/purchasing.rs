//! Purchase documents recorded against an order (supplier orders, receipts).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use crm_app::documents::purchasing::{RelatedInput, RelatedView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{created, AppState, Auth, Json, Page, PageParams};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/orders/{id}/related-documents").get(list_related).post(record_related))
        .service(web::resource("/related-documents/{id}").get(get_related));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RelatedDocumentDto {
    pub id: Uuid,
    pub order_id: Uuid,
    /// `supplier_order`, `goods_receipt` or `receipt_order`.
    #[schema(example = "supplier_order")]
    #[schema(value_type = crate::routes::words::RelatedKindDto)]
    pub kind: String,
    #[schema(example = "ЗП-000311")]
    pub number: String,
    pub document_date: NaiveDate,
    #[schema(example = "in_progress")]
    pub status: String,
    pub amount: Option<String>,
    pub external_id: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<RelatedView> for RelatedDocumentDto {
    fn from(r: RelatedView) -> Self {
        Self {
            id: r.id,
            order_id: r.order_id,
            kind: r.kind,
            number: r.number,
            document_date: r.document_date,
            status: r.status,
            amount: r.amount.map(|m| m.to_string()),
            external_id: r.external_id,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "supplier_order", "number": "ЗП-000311", "document_date": "2026-12-01", "status": "in_progress", "amount": "180000.00", "external_id": "1c-po-311"}))]
pub struct RecordRelatedRequest {
    /// `supplier_order`, `goods_receipt` or `receipt_order`.
    #[schema(example = "supplier_order")]
    #[schema(value_type = crate::routes::words::RelatedKindDto)]
    pub kind: String,
    #[schema(example = "ЗП-000311", min_length = 1, max_length = 100)]
    pub number: String,
    pub document_date: NaiveDate,
    #[schema(example = "in_progress", min_length = 1, max_length = 50)]
    pub status: String,
    #[schema(example = "180000.00")]
    pub amount: Option<String>,
    /// The purchasing system's id: the same kind and id again updates that document.
    #[schema(example = "1c-po-311", max_length = 200)]
    pub external_id: Option<String>,
}

/// Record a purchase document made for an order (procurement, integrations).
#[utoipa::path(post, path = "/api/v1/orders/{id}/related-documents", operation_id = "recordRelatedDocument", tag = "purchasing",
    params(("id" = Uuid, Path, description = "Order id")),
    request_body = RecordRelatedRequest,
    responses((status = 201, description = "Recorded", body = RelatedDocumentDto),
        (status = 200, description = "Known external_id: updated", body = RelatedDocumentDto)))]
pub async fn record_related(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<RecordRelatedRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = RelatedInput {
        kind: b.kind,
        number: b.number,
        document_date: b.document_date,
        status: b.status,
        amount: b.amount,
        external_id: b.external_id,
    };
    let id = id.into_inner();
    let (r, new) = auth
        .run(&state, move |app, principal| {
            crm_app::documents::purchasing::record_related(app, principal, id, input)
        })
        .await?;
    let dto = RelatedDocumentDto::from(r);
    Ok(if new {
        created(format!("/api/v1/related-documents/{}", dto.id), &dto, None)
    } else {
        HttpResponse::Ok().json(dto)
    })
}

/// Read a purchase document.
#[utoipa::path(get, path = "/api/v1/related-documents/{id}", operation_id = "getRelatedDocument", tag = "purchasing",
    params(("id" = Uuid, Path, description = "Related document id")),
    responses((status = 200, description = "The document", body = RelatedDocumentDto)))]
pub async fn get_related(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let r = auth
        .run(&state, move |app, principal| crm_app::documents::purchasing::get_related(app, principal, id))
        .await?;
    Ok(HttpResponse::Ok().json(RelatedDocumentDto::from(r)))
}

/// The purchase documents of an order.
#[utoipa::path(get, path = "/api/v1/orders/{id}/related-documents", operation_id = "listRelatedDocuments", tag = "purchasing",
    params(("id" = Uuid, Path, description = "Order id"), PageParams),
    responses((status = 200, description = "Its purchase documents", body = Page<RelatedDocumentDto>)))]
pub async fn list_related(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let page = page.request()?;
    let found = auth
        .run(&state, move |app, principal| {
            crm_app::documents::purchasing::list_related(app, principal, id, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::<RelatedDocumentDto>::of(found)))
}
