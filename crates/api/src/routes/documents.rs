//! Quotes, agreements, invoices (PDF and e-mail), purchase documents and an
//! interest's document tree.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use crm_app::documents::agreements::{AgreementChanges, AgreementInput, AgreementView, TermInput};
use crm_app::documents::invoices::SendingView;
use crm_app::documents::purchasing::{DocNode, RelatedInput, RelatedView};
use crm_app::documents::quotes::{
    OrderSplit, OrdersFromQuote, QuoteChanges, QuoteInput, QuoteView, VariantInput,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::error::{ApiError, Problem};
use crate::extract::{
    created, encode_cursor, page_request, run, validate, versioned, AppState, Auth, IfMatch, Json,
};
use crate::routes::double_option;
use crate::routes::orders::{InstalmentRequest, LineRequest, OrderDto, OrderList};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/interests/{id}/quotes").get(list_interest_quotes).post(create_quote))
        .service(web::resource("/interests/{id}/documents").get(document_tree))
        .service(web::resource("/quotes/{id}").get(get_quote).patch(update_quote))
        .service(web::resource("/quotes/{id}/approve").post(approve_quote))
        .service(web::resource("/quotes/{id}/orders").post(orders_from_quote))
        .service(web::resource("/quotes/{id}/pdf").get(quote_pdf))
        .service(web::resource("/clients/{id}/agreements").get(list_agreements).post(create_agreement))
        .service(web::resource("/agreements/{id}").get(get_agreement).patch(update_agreement))
        .service(web::resource("/orders/{id}/invoice.pdf").get(invoice_pdf))
        .service(web::resource("/orders/{id}/invoice/send").post(send_invoice))
        .service(web::resource("/orders/{id}/invoice/sendings").get(list_sendings))
        .service(web::resource("/invoice-sendings/{id}").get(get_sending))
        .service(web::resource("/invoice-sendings/{id}/retry").post(retry_sending))
        .service(web::resource("/orders/{id}/related-documents").get(list_related).post(record_related))
        .service(web::resource("/related-documents/{id}").get(get_related));
}

// ---- quotes ----

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
    pub status: String,
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
            status: q.status,
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

#[derive(Debug, Serialize, ToSchema)]
pub struct QuoteList {
    pub items: Vec<QuoteDto>,
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
    let q = run(&state, move |app| crm_app::documents::quotes::create_quote(app, &auth.0, id, input)).await?;
    let (qid, version) = (q.id, q.version);
    Ok(created(format!("/api/v1/quotes/{qid}"), &QuoteDto::from(q), Some(version)))
}

/// The quotes of an interest.
#[utoipa::path(get, path = "/api/v1/interests/{id}/quotes", operation_id = "listInterestQuotes", tag = "quotes",
    params(("id" = Uuid, Path, description = "Interest id")),
    responses((status = 200, description = "Its quotes", body = QuoteList)))]
pub async fn list_interest_quotes(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let items =
        run(&state, move |app| crm_app::documents::quotes::list_interest_quotes(app, &auth.0, id)).await?;
    Ok(HttpResponse::Ok().json(QuoteList { items: items.into_iter().map(QuoteDto::from).collect() }))
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
    let q = run(&state, move |app| crm_app::documents::quotes::get_quote(app, &auth.0, id)).await?;
    let version = q.version;
    Ok(versioned(&req, &QuoteDto::from(q), version))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateQuoteRequest {
    pub valid_until: Option<NaiveDate>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable, max_length = 4000)]
    pub comment: Option<Option<String>>,
    /// Replaces every variant (drafts only).
    pub variants: Option<Vec<VariantRequest>>,
    /// `draft`, `sent` or `rejected`; approval has its own operation.
    #[schema(example = "sent")]
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
    let q = run(&state, move |app| {
        crm_app::documents::quotes::update_quote(app, &auth.0, id, if_match.0, changes)
    })
    .await?;
    let version = q.version;
    Ok(versioned(&req, &QuoteDto::from(q), version))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
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
    let q = run(&state, move |app| {
        crm_app::documents::quotes::approve_quote(app, &auth.0, id, if_match.0, variant)
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
    responses((status = 201, description = "The orders made", body = OrderList)))]
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
    let orders =
        run(&state, move |app| crm_app::documents::quotes::create_orders_from_quote(app, &auth.0, id, input))
            .await?;
    Ok(HttpResponse::Created().json(OrderList { items: orders.into_iter().map(OrderDto::from).collect() }))
}

fn pdf_response(name: &str, bytes: Vec<u8>) -> HttpResponse {
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
    let (name, bytes) =
        run(&state, move |app| crm_app::documents::invoices::quote_pdf(app, &auth.0, id)).await?;
    Ok(pdf_response(&name, bytes))
}

// ---- agreements ----

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentTermDto {
    /// Share of the order's total.
    #[schema(example = "50")]
    pub percent: String,
    /// `on_confirmation` (due `days_offset` days after the order is
    /// confirmed), `before_shipment` (a prepayment, also counted from
    /// confirmation; the order does not ship until it is paid) or `after_shipment` (counted
    /// from the first shipment; no date until something ships).
    #[schema(example = "on_confirmation")]
    pub trigger: String,
    /// Days after the trigger (0–365).
    #[schema(example = 5, minimum = 0, maximum = 365)]
    pub days_offset: i32,
}

impl From<PaymentTermDto> for TermInput {
    fn from(t: PaymentTermDto) -> Self {
        TermInput { percent: t.percent, trigger: t.trigger, days_offset: t.days_offset }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgreementDto {
    pub id: Uuid,
    #[schema(example = "AGR-2026-000003")]
    pub number: String,
    pub client_id: Uuid,
    #[schema(example = "Supply agreement")]
    pub title: String,
    pub signed_on: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    #[schema(example = "RUB")]
    pub currency: String,
    pub payment_terms: Vec<PaymentTermDto>,
    /// `active` or `closed`.
    pub status: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<AgreementView> for AgreementDto {
    fn from(a: AgreementView) -> Self {
        Self {
            id: a.id,
            number: a.number,
            client_id: a.client_id,
            title: a.title,
            signed_on: a.signed_on,
            valid_until: a.valid_until,
            currency: a.currency,
            payment_terms: a
                .payment_terms
                .into_iter()
                .map(|t| PaymentTermDto {
                    percent: crm_domain::VatRate::Percent(t.percent_bp).to_string(),
                    trigger: t.trigger,
                    days_offset: t.days_offset,
                })
                .collect(),
            status: a.status,
            version: a.version,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgreementList {
    pub items: Vec<AgreementDto>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgreementRequest {
    /// Made (`AGR-YYYY-NNNNNN`) when omitted; unique per client.
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub number: Option<String>,
    #[schema(example = "Supply agreement", min_length = 1, max_length = 300)]
    pub title: String,
    pub signed_on: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    /// Defaults to RUB.
    #[schema(example = "RUB")]
    pub currency: Option<String>,
    /// Instalments adding up to exactly 100%.
    pub payment_terms: Vec<PaymentTermDto>,
}

/// Make an agreement with a client, with its payment terms.
#[utoipa::path(post, path = "/api/v1/clients/{id}/agreements", operation_id = "createAgreement", tag = "agreements",
    params(("id" = Uuid, Path, description = "Client id")),
    request_body = CreateAgreementRequest,
    responses((status = 201, description = "Made", body = AgreementDto, headers(("Location" = String), ("ETag" = String)))))]
pub async fn create_agreement(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<CreateAgreementRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    validate(&b)?;
    let input = AgreementInput {
        number: b.number,
        title: b.title,
        signed_on: b.signed_on,
        valid_until: b.valid_until,
        currency: b.currency,
        payment_terms: b.payment_terms.into_iter().map(Into::into).collect(),
    };
    let id = id.into_inner();
    let a = run(&state, move |app| crm_app::documents::agreements::create_agreement(app, &auth.0, id, input))
        .await?;
    let (aid, version) = (a.id, a.version);
    Ok(created(format!("/api/v1/agreements/{aid}"), &AgreementDto::from(a), Some(version)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A client's agreements.
#[utoipa::path(get, path = "/api/v1/clients/{id}/agreements", operation_id = "listAgreements", tag = "agreements",
    params(("id" = Uuid, Path, description = "Client id"), PageQuery),
    responses((status = 200, description = "A page of agreements", body = AgreementList)))]
pub async fn list_agreements(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let id = id.into_inner();
    let page =
        run(&state, move |app| crm_app::documents::agreements::list_agreements(app, &auth.0, id, page))
            .await?;
    Ok(HttpResponse::Ok().json(AgreementList {
        items: page.items.into_iter().map(AgreementDto::from).collect(),
        next_cursor: page.next_after.map(encode_cursor),
    }))
}

/// Read an agreement.
#[utoipa::path(get, path = "/api/v1/agreements/{id}", operation_id = "getAgreement", tag = "agreements",
    params(("id" = Uuid, Path, description = "Agreement id")),
    responses((status = 200, description = "The agreement", body = AgreementDto, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the given ETag")))]
pub async fn get_agreement(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let a = run(&state, move |app| crm_app::documents::agreements::get_agreement(app, &auth.0, id)).await?;
    let version = a.version;
    Ok(versioned(&req, &AgreementDto::from(a), version))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgreementRequest {
    #[schema(min_length = 1, max_length = 300)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>, nullable)]
    pub valid_until: Option<Option<NaiveDate>>,
    /// `active` or `closed` (a closed agreement takes no new orders).
    pub status: Option<String>,
    /// Applies to orders drafted from now on.
    pub payment_terms: Option<Vec<PaymentTermDto>>,
}

/// Change an agreement.
#[utoipa::path(patch, path = "/api/v1/agreements/{id}", operation_id = "updateAgreement", tag = "agreements",
    params(("id" = Uuid, Path, description = "Agreement id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = UpdateAgreementRequest,
    responses((status = 200, description = "Changed", body = AgreementDto, headers(("ETag" = String)))))]
pub async fn update_agreement(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateAgreementRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let changes = AgreementChanges {
        title: b.title,
        valid_until: b.valid_until,
        status: b.status,
        payment_terms: b.payment_terms.map(|t| t.into_iter().map(Into::into).collect()),
    };
    let id = id.into_inner();
    let a = run(&state, move |app| {
        crm_app::documents::agreements::update_agreement(app, &auth.0, id, if_match.0, changes)
    })
    .await?;
    let version = a.version;
    Ok(versioned(&req, &AgreementDto::from(a), version))
}

// ---- invoices ----

/// The invoice (Счёт на оплату) of an order as PDF.
///
/// Seller details come from the organisation settings; it lists the lines,
/// VAT, the total and the total in words, and the date to pay by.
#[utoipa::path(get, path = "/api/v1/orders/{id}/invoice.pdf", operation_id = "getInvoicePdf", tag = "invoices",
    params(("id" = Uuid, Path, description = "Order id")),
    responses((status = 200, description = "PDF", content_type = "application/pdf", body = Vec<u8>)))]
pub async fn invoice_pdf(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (name, bytes) =
        run(&state, move |app| crm_app::documents::invoices::invoice_pdf(app, &auth.0, id)).await?;
    Ok(pdf_response(&name, bytes))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceSendingDto {
    pub id: Uuid,
    pub order_id: Uuid,
    #[schema(example = "buyer@example.com")]
    pub recipient: String,
    /// `pending`, `sent` or `failed`.
    #[schema(example = "sent")]
    pub status: String,
    pub attempts: i32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub message_id: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<SendingView> for InvoiceSendingDto {
    fn from(s: SendingView) -> Self {
        Self {
            id: s.id,
            order_id: s.order_id,
            recipient: s.recipient,
            status: s.status,
            attempts: s.attempts,
            last_error: s.last_error,
            message_id: s.message_id,
            sent_at: s.sent_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceSendingList {
    pub items: Vec<InvoiceSendingDto>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendInvoiceRequest {
    /// Defaults to the interest's contact's e-mail, else the client's.
    #[schema(example = "buyer@example.com")]
    pub to: Option<String>,
}

/// E-mail the invoice PDF (a confirmed order's).
///
/// Over SMTP when `CRM_SMTP_URL` is set, else as an `.eml` file in the mail
/// folder. The request is recorded first: a failure answers 502 with the
/// attempt's address in `Location` and can be retried; a success is an
/// e-mail interaction on the interest's timeline.
#[utoipa::path(post, path = "/api/v1/orders/{id}/invoice/send", operation_id = "sendInvoice", tag = "invoices",
    params(("id" = Uuid, Path, description = "Order id")),
    request_body(content = SendInvoiceRequest, description = "May be `{}`"),
    responses((status = 201, description = "Sent", body = InvoiceSendingDto, headers(("Location" = String))),
        (status = 502, description = "The mail server failed; the attempt is recorded", body = Problem, content_type = "application/problem+json")))]
pub async fn send_invoice(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<SendInvoiceRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, to) = (id.into_inner(), body.into_inner().to);
    let s = run(&state, move |app| crm_app::documents::invoices::send_invoice(app, &auth.0, id, to)).await?;
    Ok(created(format!("/api/v1/invoice-sendings/{}", s.id), &InvoiceSendingDto::from(s), None))
}

/// The invoice e-mails of an order, with their outcome.
#[utoipa::path(get, path = "/api/v1/orders/{id}/invoice/sendings", operation_id = "listInvoiceSendings", tag = "invoices",
    params(("id" = Uuid, Path, description = "Order id")),
    responses((status = 200, description = "Its sendings", body = InvoiceSendingList)))]
pub async fn list_sendings(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let items = run(&state, move |app| crm_app::documents::invoices::list_sendings(app, &auth.0, id)).await?;
    Ok(HttpResponse::Ok().json(InvoiceSendingList { items: items.into_iter().map(Into::into).collect() }))
}

/// One invoice e-mail and its outcome.
#[utoipa::path(get, path = "/api/v1/invoice-sendings/{id}", operation_id = "getInvoiceSending", tag = "invoices",
    params(("id" = Uuid, Path, description = "Sending id")),
    responses((status = 200, description = "The sending", body = InvoiceSendingDto)))]
pub async fn get_sending(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let s = run(&state, move |app| crm_app::documents::invoices::get_sending(app, &auth.0, id)).await?;
    Ok(HttpResponse::Ok().json(InvoiceSendingDto::from(s)))
}

/// Try a failed invoice e-mail again.
///
/// The attempt is claimed first: while another attempt is in flight (up to
/// two minutes), or once the invoice is sent, the answer is 409.
#[utoipa::path(post, path = "/api/v1/invoice-sendings/{id}/retry", operation_id = "retryInvoiceSending", tag = "invoices",
    params(("id" = Uuid, Path, description = "Sending id")),
    responses((status = 200, description = "Sent this time", body = InvoiceSendingDto),
        (status = 502, description = "Failed again; recorded", body = Problem, content_type = "application/problem+json")))]
pub async fn retry_sending(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let s = run(&state, move |app| crm_app::documents::invoices::retry_sending(app, &auth.0, id)).await?;
    Ok(HttpResponse::Ok().json(InvoiceSendingDto::from(s)))
}

// ---- related documents and the tree ----

#[derive(Debug, Serialize, ToSchema)]
pub struct RelatedDocumentDto {
    pub id: Uuid,
    pub order_id: Uuid,
    /// `supplier_order`, `goods_receipt` or `receipt_order`.
    #[schema(example = "supplier_order")]
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

#[derive(Debug, Serialize, ToSchema)]
pub struct RelatedDocumentList {
    pub items: Vec<RelatedDocumentDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordRelatedRequest {
    /// `supplier_order`, `goods_receipt` or `receipt_order`.
    #[schema(example = "supplier_order")]
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
    let (r, new) =
        run(&state, move |app| crm_app::documents::purchasing::record_related(app, &auth.0, id, input))
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
    let r = run(&state, move |app| crm_app::documents::purchasing::get_related(app, &auth.0, id)).await?;
    Ok(HttpResponse::Ok().json(RelatedDocumentDto::from(r)))
}

/// The purchase documents of an order.
#[utoipa::path(get, path = "/api/v1/orders/{id}/related-documents", operation_id = "listRelatedDocuments", tag = "purchasing",
    params(("id" = Uuid, Path, description = "Order id")),
    responses((status = 200, description = "Its purchase documents", body = RelatedDocumentList)))]
pub async fn list_related(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let items =
        run(&state, move |app| crm_app::documents::purchasing::list_related(app, &auth.0, id)).await?;
    Ok(HttpResponse::Ok().json(RelatedDocumentList { items: items.into_iter().map(Into::into).collect() }))
}

/// A node of the document tree.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentNodeDto {
    /// `interest`, `quote`, `order`, `invoice`, `payment`, `shipment`,
    /// `supplier_order`, `goods_receipt` or `receipt_order`.
    #[schema(example = "order")]
    pub kind: String,
    pub id: Uuid,
    #[schema(example = "ORD-2026-000045")]
    pub number: Option<String>,
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
    let tree =
        run(&state, move |app| crm_app::documents::purchasing::document_tree(app, &auth.0, id)).await?;
    Ok(HttpResponse::Ok().json(DocumentNodeDto::from(tree)))
}
