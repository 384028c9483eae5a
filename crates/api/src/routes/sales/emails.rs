//! E-mail from an interest, and the thread of its letters both ways.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use crm_app::documents::emails::NewEmail;
use crm_app::sales::work::{AttachmentKind, AttachmentRef, EmailView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::error::{ApiError, Problem};
use crate::extract::{created, validate, AppState, Auth, Json, Page, PageParams};
use crate::routes::words::{EmailDirectionDto, EmailStatusDto};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/interests/{id}/emails").get(list_emails).post(send_email))
        .service(web::resource("/interest-emails/{id}").get(get_email))
        .service(web::resource("/interest-emails/{id}/retry").post(retry_email));
}

/// Which document goes along as PDF.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKindDto {
    /// The invoice of an order of the interest (`id`: the order).
    Invoice,
    /// A quote of the interest (`id`: the quote).
    Quote,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "invoice", "id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e80"}))]
pub struct AttachmentDto {
    pub kind: AttachmentKindDto,
    pub id: Uuid,
}

impl From<AttachmentDto> for AttachmentRef {
    fn from(a: AttachmentDto) -> Self {
        let kind = match a.kind {
            AttachmentKindDto::Invoice => AttachmentKind::Invoice,
            AttachmentKindDto::Quote => AttachmentKind::Quote,
        };
        Self { kind, id: a.id }
    }
}

impl From<AttachmentRef> for AttachmentDto {
    fn from(a: AttachmentRef) -> Self {
        let kind = match a.kind {
            AttachmentKind::Invoice => AttachmentKindDto::Invoice,
            AttachmentKind::Quote => AttachmentKindDto::Quote,
        };
        Self { kind, id: a.id }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": ["buyer@romashka.ru"], "cc": ["director@romashka.ru"],
    "subject": "Office chairs: the invoice", "body": "Good afternoon!\n\nThe invoice for the 40 chairs is attached.\n\nIvan Petrov",
    "attachments": [{"kind": "invoice", "id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e80"}]}))]
pub struct SendEmailRequest {
    /// 1 to 20 addresses. Without it: the interest's contact's e-mail, else its client's.
    #[validate(length(min = 1, max = 20))]
    #[schema(min_items = 1, max_items = 20)]
    pub to: Option<Vec<String>>,
    /// Up to 20 addresses.
    #[serde(default)]
    #[validate(length(max = 20))]
    #[schema(max_items = 20)]
    pub cc: Vec<String>,
    #[schema(min_length = 1, max_length = 500)]
    pub subject: String,
    /// Plain text, up to 100000 characters.
    #[schema(min_length = 1, max_length = 100000)]
    pub body: String,
    /// Up to 10 documents of the interest, attached as PDF.
    #[serde(default)]
    #[validate(length(max = 10))]
    #[schema(max_items = 10)]
    pub attachments: Vec<AttachmentDto>,
    /// An e-mail received on this interest that this one answers (sets `In-Reply-To`).
    pub reply_to: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e90", "interest_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e71",
    "direction": "outgoing", "status": "sent", "from": "Sales <sales@example.com>", "to": ["buyer@romashka.ru"], "cc": [],
    "subject": "Office chairs: the invoice", "body": "Good afternoon!\n\nThe invoice is attached.",
    "attachments": [{"kind": "invoice", "id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e80"}],
    "message_id": "<email.0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e90@example.com>", "in_reply_to": null,
    "interaction_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e91", "attempts": 1, "last_error": null,
    "sent_at": "2026-12-01T09:30:00Z", "created_at": "2026-12-01T09:30:00Z", "updated_at": "2026-12-01T09:30:00Z"}))]
pub struct InterestEmailDto {
    pub id: Uuid,
    pub interest_id: Uuid,
    /// `outgoing`: sent from the interest; `incoming`: a reply that came back.
    pub direction: EmailDirectionDto,
    /// `pending`, `sent` or `failed` for ours; `received` for replies.
    pub status: EmailStatusDto,
    pub from: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub body: String,
    pub attachments: Vec<AttachmentDto>,
    /// What a reply's `In-Reply-To` names.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    /// The done e-mail interaction it is on the timeline as (none until sent).
    pub interaction_id: Option<Uuid>,
    pub attempts: i32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<EmailView> for InterestEmailDto {
    fn from(e: EmailView) -> Self {
        Self {
            id: e.id,
            interest_id: e.interest_id,
            direction: e.direction.into(),
            status: e.status.into(),
            from: e.from,
            to: e.to,
            cc: e.cc,
            subject: e.subject,
            body: e.body,
            attachments: e.attachments.into_iter().map(Into::into).collect(),
            message_id: e.message_id,
            in_reply_to: e.in_reply_to,
            interaction_id: e.interaction_id,
            attempts: e.attempts,
            last_error: e.last_error,
            sent_at: e.sent_at,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// E-mail the client from the interest.
///
/// A plain-text letter to `to` (or the interest's contact, else its client)
/// with the interest's invoices and quotes attached as PDF. Sent over SMTP
/// when `CRM_SMTP_URL` is set, else written as an `.eml` file to the mail
/// folder. The letter is recorded first: a failure answers 502 with its
/// address in `Location` and can be retried; a success is a done e-mail
/// interaction with its `Message-ID`. A reply naming that Message-ID, posted
/// to `/api/v1/intake/email`, joins this interest's timeline. Refused with
/// every unmet rule: an address mail cannot go to, a document not of this
/// interest or a cancelled order's invoice, no address known.
#[utoipa::path(post, path = "/api/v1/interests/{id}/emails", operation_id = "sendInterestEmail", tag = "interactions",
    params(("id" = Uuid, Path, description = "Interest id")),
    request_body = SendEmailRequest,
    responses((status = 201, description = "Sent", body = InterestEmailDto, headers(("Location" = String))),
        (status = 502, description = "The mail server failed; the letter is kept and can be retried", body = Problem, content_type = "application/problem+json")))]
pub async fn send_email(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<SendEmailRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let id = id.into_inner();
    let input = NewEmail {
        to: b.to,
        cc: b.cc,
        subject: b.subject,
        body: b.body,
        attachments: b.attachments.into_iter().map(Into::into).collect(),
        reply_to: b.reply_to,
    };
    let e = auth
        .run(&state, move |app, principal| crm_app::documents::emails::send_email(app, principal, id, input))
        .await?;
    Ok(created(format!("/api/v1/interest-emails/{}", e.id), &InterestEmailDto::from(e), None))
}

/// The interest's e-mails both ways, oldest first: letters sent from it and the replies that came back.
#[utoipa::path(get, path = "/api/v1/interests/{id}/emails", operation_id = "listInterestEmails", tag = "interactions",
    params(("id" = Uuid, Path, description = "Interest id"), PageParams),
    responses((status = 200, description = "Its e-mails", body = Page<InterestEmailDto>)))]
pub async fn list_emails(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let page = page.request()?;
    let found = auth
        .run(&state, move |app, principal| crm_app::sales::work::list_emails(app, principal, id, page))
        .await?;
    Ok(HttpResponse::Ok().json(Page::<InterestEmailDto>::of(found)))
}

/// One e-mail of an interest, with its outcome.
#[utoipa::path(get, path = "/api/v1/interest-emails/{id}", operation_id = "getInterestEmail", tag = "interactions",
    params(("id" = Uuid, Path, description = "E-mail id")),
    responses((status = 200, description = "The e-mail", body = InterestEmailDto)))]
pub async fn get_email(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let e =
        auth.run(&state, move |app, principal| crm_app::sales::work::get_email(app, principal, id)).await?;
    Ok(HttpResponse::Ok().json(InterestEmailDto::from(e)))
}

/// Try a failed e-mail again, with the same Message-ID.
///
/// The attempt is claimed first: while another attempt is in flight (up to
/// two minutes), once the e-mail is sent, or for a received one, the answer is 409.
#[utoipa::path(post, path = "/api/v1/interest-emails/{id}/retry", operation_id = "retryInterestEmail", tag = "interactions",
    params(("id" = Uuid, Path, description = "E-mail id")),
    responses((status = 200, description = "Sent this time", body = InterestEmailDto),
        (status = 502, description = "Failed again; recorded", body = Problem, content_type = "application/problem+json")))]
pub async fn retry_email(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let e = auth
        .run(&state, move |app, principal| crm_app::documents::emails::retry_email(app, principal, id))
        .await?;
    Ok(HttpResponse::Ok().json(InterestEmailDto::from(e)))
}
