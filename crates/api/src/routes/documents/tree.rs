//! An interest's document tree.

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use crm_app::documents::purchasing::DocNode;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{AppState, Auth};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/interests/{id}/documents").get(document_tree));
}

/// A node of the document tree.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentNodeDto {
    /// `interest`, `quote`, `order`, `invoice`, `payment`, `shipment`,
    /// `supplier_order`, `goods_receipt` or `receipt_order`.
    #[schema(example = "order")]
    #[schema(value_type = crate::routes::words::DocumentKindDto)]
    pub kind: String,
    pub id: Uuid,
    #[schema(example = "ORD-2026-000045")]
    pub number: Option<String>,
    /// The document's status in its own words: an order's, a quote's… as its
    /// GET gives it, or a purchasing document's as the purchasing system sent it.
    #[schema(example = "confirmed")]
    pub status: Option<String>,
    pub amount: Option<String>,
    pub date: Option<NaiveDate>,
    /// Where this document reads itself.
    #[schema(example = "/api/v1/orders/0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e5f")]
    pub link: String,
    #[schema(no_recursion)]
    pub children: Vec<DocumentNodeDto>,
}

impl From<DocNode> for DocumentNodeDto {
    fn from(n: DocNode) -> Self {
        Self {
            kind: n.kind,
            id: n.id,
            number: n.number,
            status: n.status,
            amount: n.amount.map(|m| m.to_string()),
            date: n.date,
            link: n.link,
            children: n.children.into_iter().map(Into::into).collect(),
        }
    }
}

/// Every document the interest grew, as a tree: interest → quotes → orders →
/// invoice, payments, shipments and purchase documents. Each reader gets the
/// branches their role may see.
#[utoipa::path(get, path = "/api/v1/interests/{id}/documents", operation_id = "getDocumentTree", tag = "interests",
    params(("id" = Uuid, Path, description = "Interest id")),
    responses((status = 200, description = "The tree, rooted at the interest", body = DocumentNodeDto)))]
pub async fn document_tree(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let tree = auth
        .run(&state, move |app, principal| crm_app::documents::purchasing::document_tree(app, principal, id))
        .await?;
    Ok(HttpResponse::Ok().json(DocumentNodeDto::from(tree)))
}
