//! Invoices: the PDF and e-mailing it, with every sending recorded.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use crm_app::documents::invoices::SendingView;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::extract::{created, AppState, Auth, Json, Page, PageParams};
use crate::routes::documents::quotes::*;
use crate::routes::words::SendingStatusDto;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/orders/{id}/invoice.pdf").get(invoice_pdf))
        .service(web::resource("/orders/{id}/invoice/send").post(send_invoice))
        .service(web::resource("/orders/{id}/invoice/sendings").get(list_sendings))
        .service(web::resource("/invoice-sendings/{id}").get(get_sending))
        .service(web::resource("/invoice-sendings/{id}/retry").post(retry_sending));
}

/// The invoice (Счёт на оплату) of an order as PDF.
///
/// Seller details come from the organisation settings; it lists the lines,
/// VAT, the total and the total in words, and the date to pay by.
#[utoipa::path(get, path = "/api/v1/orders/{id}/invoice.pdf", operation_id = "getInvoicePdf", tag = "invoices",
    params(("id" = Uuid, Path, description = "Order id")),
    responses((status = 200, description = "PDF", content_type = "application/pdf", body = Vec<u8>),
        (status = 422, description = "The order is cancelled: it has no invoice", body = crate::error::Problem,
            content_type = "application/problem+json")))]
pub async fn invoice_pdf(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (name, bytes) = auth
        .run(&state, move |app, principal| crm_app::documents::invoices::invoice_pdf(app, principal, id))
        .await?;
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
    pub status: SendingStatusDto,
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
            status: s.status.into(),
            attempts: s.attempts,
            last_error: s.last_error,
            message_id: s.message_id,
            sent_at: s.sent_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": "buyer@romashka.ru"}))]
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
    let s = auth
        .run(&state, move |app, principal| crm_app::documents::invoices::send_invoice(app, principal, id, to))
        .await?;
    Ok(created(format!("/api/v1/invoice-sendings/{}", s.id), &InvoiceSendingDto::from(s), None))
}

/// The invoice e-mails of an order, with their outcome.
#[utoipa::path(get, path = "/api/v1/orders/{id}/invoice/sendings", operation_id = "listInvoiceSendings", tag = "invoices",
    params(("id" = Uuid, Path, description = "Order id"), PageParams),
    responses((status = 200, description = "Its sendings", body = Page<InvoiceSendingDto>)))]
pub async fn list_sendings(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let page = page.request()?;
    let found = auth
        .run(&state, move |app, principal| {
            crm_app::documents::invoices::list_sendings(app, principal, id, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::<InvoiceSendingDto>::of(found)))
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
    let s = auth
        .run(&state, move |app, principal| crm_app::documents::invoices::get_sending(app, principal, id))
        .await?;
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
    let s = auth
        .run(&state, move |app, principal| crm_app::documents::invoices::retry_sending(app, principal, id))
        .await?;
    Ok(HttpResponse::Ok().json(InvoiceSendingDto::from(s)))
}
