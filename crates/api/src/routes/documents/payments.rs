//! Payments: registering (deduplicated by the bank's reference), cancelling,
//! reading and the sync list.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};

use crm_app::documents::payments::{PaymentInput, PaymentView};

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::error::ApiError;
use crate::extract::{created, validate, versioned, AppState, Auth, IfMatch, Json, Page, PageParams};
use crate::routes::words::PaymentStatusDto;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/payments").get(list_all_payments).post(register_payment))
        .service(web::resource("/payments/batch").post(register_payments))
        .service(web::resource("/orders/{id}/payments").get(list_payments))
        .service(web::resource("/payments/{id}/cancel").post(cancel_payment))
        .service(web::resource("/payments/{id}").get(get_payment));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentDto {
    pub id: Uuid,
    pub order_id: Uuid,
    #[schema(example = "240000.00")]
    pub amount: String,
    pub paid_on: DateTime<Utc>,
    /// The bank document's id (the dedupe key).
    pub external_ref: Option<String>,
    pub payer: Option<String>,
    pub comment: Option<String>,
    /// `posted` or `cancelled`.
    pub status: PaymentStatusDto,
    /// The order was overpaid by this payment.
    pub overpaid: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<PaymentView> for PaymentDto {
    fn from(p: PaymentView) -> Self {
        Self {
            id: p.id,
            order_id: p.order_id,
            amount: p.amount.to_string(),
            paid_on: p.paid_on,
            external_ref: p.external_ref,
            payer: p.payer,
            comment: p.comment,
            status: p.status.into(),
            overpaid: p.overpaid,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"order_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e5f", "amount": "240000.00", "external_ref": "PP-000123"}))]
pub struct RegisterPaymentRequest {
    pub order_id: Uuid,
    #[schema(example = "240000.00")]
    pub amount: String,
    pub paid_on: Option<DateTime<Utc>>,
    /// The bank document's id: the same one twice is one payment.
    #[validate(length(min = 1, max = 200))]
    #[schema(example = "PP-000123", min_length = 1, max_length = 200)]
    pub external_ref: Option<String>,
    #[validate(length(max = 300))]
    #[schema(max_length = 300)]
    pub payer: Option<String>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

/// Register a payment (accountants, admins, integrations).
///
/// The same bank document again answers 200 with the first payment. When the
/// payment completes every confirmed order of the interest, the scenario's
/// "orders fully paid" runs in the same transaction (Typical sale: payment →
/// shipment, tasks).
#[utoipa::path(post, path = "/api/v1/payments", operation_id = "registerPayment", tag = "orders",
    request_body = RegisterPaymentRequest,
    responses((status = 201, description = "Registered", body = PaymentDto, headers(("Location" = String))),
        (status = 200, description = "Already registered (same external_ref)", body = PaymentDto)))]
pub async fn register_payment(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<RegisterPaymentRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let input = PaymentInput {
        order_id: b.order_id,
        amount: b.amount,
        paid_on: b.paid_on,
        external_ref: b.external_ref,
        payer: b.payer,
        comment: b.comment,
    };
    let (p, fresh) = auth
        .run(&state, move |app, principal| {
            crm_app::documents::payments::register_payment(app, principal, input)
        })
        .await?;
    let id = p.id;
    if fresh {
        Ok(created(format!("/api/v1/payments/{id}"), &PaymentDto::from(p), None))
    } else {
        Ok(HttpResponse::Ok().json(PaymentDto::from(p)))
    }
}

/// Cancel a mistaken payment; the interest's manager gets a task to check the deal.
#[utoipa::path(post, path = "/api/v1/payments/{id}/cancel", operation_id = "cancelPayment", tag = "orders",
    params(("id" = Uuid, Path, description = "Payment id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    responses((status = 200, description = "Cancelled", body = PaymentDto)))]
pub async fn cancel_payment(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let p = auth
        .run(&state, move |app, principal| {
            crm_app::documents::payments::cancel_payment(app, principal, id, if_match.0)
        })
        .await?;
    Ok(HttpResponse::Ok().json(PaymentDto::from(p)))
}

/// Read a payment.
#[utoipa::path(get, path = "/api/v1/payments/{id}", operation_id = "getPayment", tag = "orders",
    params(("id" = Uuid, Path, description = "Payment id")),
    responses((status = 200, description = "The payment", body = PaymentDto, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the given ETag")))]
pub async fn get_payment(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let p = auth
        .run(&state, move |app, principal| crm_app::documents::payments::get_payment(app, principal, id))
        .await?;
    let version = p.version;
    Ok(versioned(&req, &PaymentDto::from(p), version))
}

/// The payments of an order.
#[utoipa::path(get, path = "/api/v1/orders/{id}/payments", operation_id = "listOrderPayments", tag = "orders",
    params(("id" = Uuid, Path, description = "Order id"), PageParams),
    responses((status = 200, description = "Its payments", body = Page<PaymentDto>)))]
pub async fn list_payments(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let page = page.request()?;
    let found = auth
        .run(&state, move |app, principal| {
            crm_app::documents::payments::list_payments(app, principal, id, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::<PaymentDto>::of(found)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListPaymentsQuery {
    /// Required unless you are accounting (or an admin or integration).
    pub order_id: Option<Uuid>,
    pub updated_since: Option<DateTime<Utc>>,
}

/// List payments for syncing.
#[utoipa::path(get, path = "/api/v1/payments", operation_id = "listPayments", tag = "orders",
    params(ListPaymentsQuery, PageParams), responses((status = 200, description = "A page of payments", body = Page<PaymentDto>)))]
pub async fn list_all_payments(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<ListPaymentsQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = page.request()?;
    let page = auth
        .run(&state, move |app, principal| {
            crm_app::documents::payments::list_all_payments(app, principal, q.order_id, q.updated_since, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::<PaymentDto>::of(page)))
}

/// A day's bank statement: up to 500 payments, each as `POST /payments` takes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"payments": [{"order_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e5f", "amount": "240000.00", "external_ref": "PP-000123"}, {"order_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e60", "amount": "99000.00", "external_ref": "PP-000124"}]}))]
pub struct RegisterPaymentsRequest {
    #[schema(value_type = Vec<RegisterPaymentRequest>, min_items = 1, max_items = 500)]
    pub payments: Vec<serde_json::Value>,
}

/// What became of one line of the statement.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchLineStatus {
    /// Registered now.
    Created,
    /// The same bank document was registered before: `payment` is that one.
    Duplicate,
    /// Refused: `problem` says why; nothing of this line was written.
    Refused,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchLineDto {
    /// The line's place in `payments`, from 0.
    pub index: usize,
    pub status: BatchLineStatus,
    pub payment: Option<PaymentDto>,
    /// The problem the line would have had as a single `POST /payments`.
    pub problem: Option<crate::error::Problem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResultDto {
    /// One per line, in the statement's order.
    pub results: Vec<BatchLineDto>,
}

fn statement_line(raw: serde_json::Value) -> Result<PaymentInput, crm_app::AppError> {
    let b: RegisterPaymentRequest = serde_json::from_value(raw)
        .map_err(|e| crm_app::AppError::malformed("payment", "invalid", format!("not a payment: {e}")))?;
    // Outside the line's shape, as the whole request's `validate` would say (400).
    crate::extract::validation_errors(&b).map_err(crm_app::AppError::Malformed)?;
    Ok(PaymentInput {
        order_id: b.order_id,
        amount: b.amount,
        paid_on: b.paid_on,
        external_ref: b.external_ref,
        payer: b.payer,
        comment: b.comment,
    })
}

/// Import a bank statement (accountants, admins, integrations).
///
/// Each line is registered as `POST /payments` registers one, in its own
/// transaction: deduplicated on `external_ref` (a line already registered
/// answers `duplicate` with that payment), the interest's auto-moves run
/// per line, and a bad line is `refused` with its problem without keeping
/// the others out. The answer is 200 whatever the lines' fates; only a body
/// that is not a statement (no lines, more than 500) is refused whole.
#[utoipa::path(post, path = "/api/v1/payments/batch", operation_id = "registerPayments", tag = "orders",
    request_body = RegisterPaymentsRequest,
    responses((status = 200, description = "One result per line, in order", body = BatchResultDto)))]
pub async fn register_payments(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<RegisterPaymentsRequest>,
) -> Result<HttpResponse, ApiError> {
    let lines: Vec<_> = body.into_inner().payments.into_iter().map(statement_line).collect();
    let done = auth
        .run(&state, move |app, principal| {
            crm_app::documents::payments::register_payments(app, principal, lines)
        })
        .await?;
    let results = done
        .into_iter()
        .enumerate()
        .map(|(index, line)| match line {
            Ok((p, fresh)) => BatchLineDto {
                index,
                status: if fresh { BatchLineStatus::Created } else { BatchLineStatus::Duplicate },
                payment: Some(PaymentDto::from(p)),
                problem: None,
            },
            Err(e) => BatchLineDto {
                index,
                status: BatchLineStatus::Refused,
                payment: None,
                problem: Some(ApiError::App(e).to_problem().0),
            },
        })
        .collect();
    Ok(HttpResponse::Ok().json(BatchResultDto { results }))
}
