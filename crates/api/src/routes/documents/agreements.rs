//! Agreements (Договор) with a client and their payment terms.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use crm_app::documents::agreements::{AgreementChanges, AgreementInput, AgreementView, TermInput};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::error::ApiError;
use crate::extract::{created, validate, versioned, AppState, Auth, IfMatch, Json, Page, PageParams};
use crate::routes::double_option;
use crate::routes::words::AgreementStatusDto;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/clients/{id}/agreements").get(list_agreements).post(create_agreement))
        .service(web::resource("/agreements/{id}").get(get_agreement).patch(update_agreement));
}

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
    #[schema(value_type = crate::routes::words::PaymentTriggerDto)]
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
    pub status: AgreementStatusDto,
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
            status: a.status.into(),
            version: a.version,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Supply agreement", "signed_on": "2026-12-01", "currency": "RUB", "payment_terms": [{"percent": "50", "trigger": "on_confirmation", "days_offset": 5}, {"percent": "50", "trigger": "after_shipment", "days_offset": 10}]}))]
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
    let a = auth
        .run(&state, move |app, principal| {
            crm_app::documents::agreements::create_agreement(app, principal, id, input)
        })
        .await?;
    let (aid, version) = (a.id, a.version);
    Ok(created(format!("/api/v1/agreements/{aid}"), &AgreementDto::from(a), Some(version)))
}

/// A client's agreements.
#[utoipa::path(get, path = "/api/v1/clients/{id}/agreements", operation_id = "listAgreements", tag = "agreements",
    params(("id" = Uuid, Path, description = "Client id"), PageParams),
    responses((status = 200, description = "A page of agreements", body = Page<AgreementDto>)))]
pub async fn list_agreements(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = page.request()?;
    let id = id.into_inner();
    let page = auth
        .run(&state, move |app, principal| {
            crm_app::documents::agreements::list_agreements(app, principal, id, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::<AgreementDto>::of(page)))
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
    let a = auth
        .run(&state, move |app, principal| crm_app::documents::agreements::get_agreement(app, principal, id))
        .await?;
    let version = a.version;
    Ok(versioned(&req, &AgreementDto::from(a), version))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Supply agreement 2027", "valid_until": "2027-12-31"}))]
pub struct UpdateAgreementRequest {
    #[schema(min_length = 1, max_length = 300)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>, nullable)]
    pub valid_until: Option<Option<NaiveDate>>,
    /// `active` or `closed` (a closed agreement takes no new orders).
    #[schema(value_type = Option<crate::routes::words::AgreementStatusDto>)]
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
    let a = auth
        .run(&state, move |app, principal| {
            crm_app::documents::agreements::update_agreement(app, principal, id, if_match.0, changes)
        })
        .await?;
    let version = a.version;
    Ok(versioned(&req, &AgreementDto::from(a), version))
}
