//! Quotes: variants of priced lines, approval, orders from a quote, the PDF.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use crm_app::documents::quotes::{
    OrderSplit, OrdersFromQuote, QuoteChanges, QuoteInput, QuoteView, VariantInput,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{created, versioned, AppState, Auth, IfMatch, Json, Page, PageParams};
use crate::routes::documents::orders::{InstalmentRequest, LineRequest, OrderDto};
use crate::routes::double_option;
use crate::routes::words::QuoteStatusDto;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/interests/{id}/quotes").get(list_interest_quotes).post(create_quote))
        .service(web::resource("/quotes/{id}").get(get_quote).patch(update_quote))
        .service(web::resource("/quotes/{id}/approve").post(approve_quote))
        .service(web::resource("/quotes/{id}/orders").post(orders_from_quote))
        .service(web::resource("/quotes/{id}/pdf").get(quote_pdf));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteLineDto {
    pub id: Uuid,
    pub position: i32,
    pub product_id: Option<Uuid>,
    pub description: String,
    #[schema(example = "40")]
    pub quantity: String,
    #[schema(example = "12990.00")]
    pub unit_price: String,
    #[schema(example = "5")]
    pub discount_percent: String,
    #[schema(example = "22")]
    pub vat_rate: String,
    pub price_includes_vat: bool,
    pub net: String,
    pub vat: String,
    pub total: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteVariantDto {
    pub id: Uuid,
    pub position: i32,
    #[schema(example = "Standard")]
    pub name: String,
    pub net: String,
    pub vat: String,
    #[schema(example = "519600.00")]
    pub total: String,
    pub lines: Vec<QuoteLineDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteDto {
    pub id: Uuid,
    #[schema(example = "QUO-2026-000012")]
    pub number: String,
    pub interest_id: Uuid,
    pub client_id: Option<Uuid>,
    /// `draft`, `sent`, `approved`, `rejected` or `expired` (an open quote past `valid_until`).
    #[schema(example = "sent")]
    pub status: QuoteStatusDto,
    pub currency: String,
    pub valid_until: NaiveDate,
    pub comment: Option<String>,
    pub approved_variant_id: Option<Uuid>,
    pub variants: Vec<QuoteVariantDto>,
    /// Orders made from it.
    pub order_ids: Vec<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<QuoteView> for QuoteDto {
    fn from(q: QuoteView) -> Self {
        Self {
            id: q.id,
            number: q.number,
            interest_id: q.interest_id,
            client_id: q.client_id,
            status: q.status.into(),
            currency: q.currency,
            valid_until: q.valid_until,
            comment: q.comment,
            approved_variant_id: q.approved_variant_id,
            variants: q
                .variants
                .into_iter()
                .map(|v| QuoteVariantDto {
                    id: v.id,
                    position: v.position,
                    name: v.name,
                    net: v.net.to_string(),
                    vat: v.vat.to_string(),
                    total: v.total.to_string(),
                    lines: v
                        .lines
                        .into_iter()
                        .map(|l| QuoteLineDto {
                            id: l.id,
                            position: l.position,
                            product_id: l.product_id,
                            description: l.description,
                            quantity: l.quantity.to_string(),
                            unit_price: l.unit_price.to_string(),
                            discount_percent: crm_domain::VatRate::Percent(
                                u32::try_from(l.discount_bp).unwrap_or(0),
                            )
                            .to_string(),
                            vat_rate: l.vat_rate,
                            price_includes_vat: l.price_includes_vat,
                            net: l.net.to_string(),
                            vat: l.vat.to_string(),
                            total: l.total.to_string(),
                        })
                        .collect(),
                })
                .collect(),
            order_ids: q.order_ids,
            version: q.version,
            created_at: q.created_at,
            updated_at: q.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantRequest {
    #[schema(example = "Standard", min_length = 1, max_length = 200)]
    pub name: String,
    pub lines: Vec<LineRequest>,
}

impl From<VariantRequest> for VariantInput {
    fn from(v: VariantRequest) -> Self {
        VariantInput { name: v.name, lines: v.lines.into_iter().map(Into::into).collect() }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"valid_until": "2027-03-31", "variants": [{"name": "Standard", "lines": [{"description": "Office chair Ergo", "quantity": "40", "unit_price": "12990.00", "vat_rate": "22", "discount_percent": "5"}]}]}))]
pub struct CreateQuoteRequest {
    /// Defaults to 14 days from today.
    pub valid_until: Option<NaiveDate>,
    #[schema(max_length = 4000)]
    pub comment: Option<String>,
    /// 1 to 10 variants for the client to choose from.
    pub variants: Vec<VariantRequest>,
}

/// Make a quote with one or more variants on an interest.
#[utoipa::path(post, path = "/api/v1/interests/{id}/quotes", operation_id = "createQuote", tag = "quotes",
    params(("id" = Uuid, Path, description = "Interest id")),
    request_body = CreateQuoteRequest,
    responses((status = 201, description = "Drafted", body = QuoteDto, headers(("Location" = String), ("ETag" = String)))))]
pub async fn create_quote(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<CreateQuoteRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = QuoteInput {
        valid_until: b.valid_until,
        comment: b.comment,
        variants: b.variants.into_iter().map(Into::into).collect(),
    };
    let id = id.into_inner();
    let q = auth
        .run(&state, move |app, principal| {
            crm_app::documents::quotes::create_quote(app, principal, id, input)
        })
        .await?;
    let (qid, version) = (q.id, q.version);
    Ok(created(format!("/api/v1/quotes/{qid}"), &QuoteDto::from(q), Some(version)))
}

/// The quotes of an interest.
#[utoipa::path(get, path = "/api/v1/interests/{id}/quotes", operation_id = "listInterestQuotes", tag = "quotes",
    params(("id" = Uuid, Path, description = "Interest id"), PageParams),
    responses((status = 200, description = "Its quotes", body = Page<QuoteDto>)))]
pub async fn list_interest_quotes(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let page = page.request()?;
    let found = auth
        .run(&state, move |app, principal| {
            crm_app::documents::quotes::list_interest_quotes(app, principal, id, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::<QuoteDto>::of(found)))
}

/// Read a quote.
#[utoipa::path(get, path = "/api/v1/quotes/{id}", operation_id = "getQuote", tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id")),
    responses((status = 200, description = "The quote", body = QuoteDto, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the given ETag")))]
pub async fn get_quote(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let q = auth
        .run(&state, move |app, principal| crm_app::documents::quotes::get_quote(app, principal, id))
        .await?;
    let version = q.version;
    Ok(versioned(&req, &QuoteDto::from(q), version))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"valid_until": "2027-01-15", "comment": "Delivery included"}))]
pub struct UpdateQuoteRequest {
    pub valid_until: Option<NaiveDate>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable, max_length = 4000)]
    pub comment: Option<Option<String>>,
    /// Replaces every variant (drafts only).
    pub variants: Option<Vec<VariantRequest>>,
    /// `draft`, `sent` or `rejected`; approval has its own operation.
    #[schema(example = "sent")]
    #[schema(value_type = Option<crate::routes::words::QuoteEditStatusDto>)]
    pub status: Option<String>,
}

/// Change a quote: date and comment while open, variants while a draft,
/// status `draft → sent → rejected`.
#[utoipa::path(patch, path = "/api/v1/quotes/{id}", operation_id = "updateQuote", tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = UpdateQuoteRequest,
    responses((status = 200, description = "Changed", body = QuoteDto, headers(("ETag" = String)))))]
pub async fn update_quote(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateQuoteRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let changes = QuoteChanges {
        valid_until: b.valid_until,
        comment: b.comment,
        variants: b.variants.map(|v| v.into_iter().map(Into::into).collect()),
        status: b.status,
    };
    let id = id.into_inner();
    let q = auth
        .run(&state, move |app, principal| {
            crm_app::documents::quotes::update_quote(app, principal, id, if_match.0, changes)
        })
        .await?;
    let version = q.version;
    Ok(versioned(&req, &QuoteDto::from(q), version))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"variant_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e5f"}))]
pub struct ApproveQuoteRequest {
    /// The variant the client chose.
    pub variant_id: Uuid,
}

/// Record the client's approval of one variant.
#[utoipa::path(post, path = "/api/v1/quotes/{id}/approve", operation_id = "approveQuote", tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = ApproveQuoteRequest,
    responses((status = 200, description = "Approved", body = QuoteDto, headers(("ETag" = String)))))]
pub async fn approve_quote(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<ApproveQuoteRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, variant) = (id.into_inner(), body.variant_id);
    let q = auth
        .run(&state, move |app, principal| {
            crm_app::documents::quotes::approve_quote(app, principal, id, if_match.0, variant)
        })
        .await?;
    let version = q.version;
    Ok(versioned(&req, &QuoteDto::from(q), version))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitLineRequest {
    /// A line of the approved variant.
    pub quote_line_id: Uuid,
    /// Defaults to the whole quoted quantity.
    #[schema(example = "20")]
    pub quantity: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitOrderRequest {
    pub lines: Vec<SplitLineRequest>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"agreement_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e5f"}))]
pub struct OrdersFromQuoteRequest {
    /// How to split the variant's lines between orders; omitted, one order takes every line.
    pub orders: Option<Vec<SplitOrderRequest>>,
    /// Every order follows this agreement's payment terms.
    pub agreement_id: Option<Uuid>,
    /// A schedule by hand (one order only).
    pub schedule: Option<Vec<InstalmentRequest>>,
}

/// Make one or several draft orders from the approved variant.
///
/// No quote line is ordered beyond its quoted quantity across the quote's
/// orders (cancelled ones aside): 422 `within_quoted`.
#[utoipa::path(post, path = "/api/v1/quotes/{id}/orders", operation_id = "createOrdersFromQuote", tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id")),
    request_body(content = OrdersFromQuoteRequest, description = "May be `{}`"),
    responses((status = 201, description = "The orders made", body = Page<OrderDto>)))]
pub async fn orders_from_quote(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<OrdersFromQuoteRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = OrdersFromQuote {
        orders: b.orders.map(|o| {
            o.into_iter()
                .map(|s| OrderSplit {
                    lines: s.lines.into_iter().map(|l| (l.quote_line_id, l.quantity)).collect(),
                })
                .collect()
        }),
        agreement_id: b.agreement_id,
        schedule: b.schedule.map(|s| s.into_iter().map(Into::into).collect()),
    };
    let id = id.into_inner();
    let orders = auth
        .run(&state, move |app, principal| {
            crm_app::documents::quotes::create_orders_from_quote(app, principal, id, input)
        })
        .await?;
    Ok(HttpResponse::Created().json(Page::new(orders.into_iter().map(OrderDto::from).collect(), None)))
}

pub(crate) fn pdf_response(name: &str, bytes: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((header::CONTENT_DISPOSITION, format!("inline; filename=\"{name}\"")))
        .body(bytes)
}

/// The quote as a printable PDF (every variant).
#[utoipa::path(get, path = "/api/v1/quotes/{id}/pdf", operation_id = "getQuotePdf", tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id")),
    responses((status = 200, description = "PDF", content_type = "application/pdf", body = Vec<u8>)))]
pub async fn quote_pdf(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (name, bytes) = auth
        .run(&state, move |app, principal| crm_app::documents::invoices::quote_pdf(app, principal, id))
        .await?;
    Ok(pdf_response(&name, bytes))
}
