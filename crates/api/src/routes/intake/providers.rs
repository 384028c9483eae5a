//! Lead intake from the real channels, each in its provider's own format, and
//! the channel settings admins keep.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use crm_app::intake::channels::{ChannelView, NewChannel};
use crm_app::intake::providers::{CallEvent, Delivered, FormOutcome, VkAnswer};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::error::{ApiError, Problem};
use crate::extract::{client_address, created, run, validate, AppState, Auth, Json, Page, PageParams};

/// The website form endpoint, outside the API's CORS layer: any site may be
/// a form's, and the form's own allowed origins decide (`form_preflight`).
pub fn configure_forms(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/intake/forms/{form_key}")
            .post(intake_form)
            .route(web::method(actix_web::http::Method::OPTIONS).to(form_preflight)),
    );
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/intake/calls").post(intake_call))
        .service(web::resource("/intake/telegram").post(intake_telegram))
        .service(web::resource("/intake/vk").post(intake_vk))
        .service(web::resource("/intake/email").post(intake_email))
        .service(web::resource("/channels").get(list_channels).post(create_channel))
        .service(web::resource("/channels/{id}").delete(deactivate_channel))
        .service(web::resource("/forms").get(list_forms).post(create_form));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveredDto {
    /// The lead made or joined; null when the event is not a lead.
    pub lead_id: Option<Uuid>,
    /// The interest a reply joined: an e-mail whose `In-Reply-To` or
    /// `References` names a message of it. Null otherwise.
    pub interest_id: Option<Uuid>,
    /// False when this delivery had been received before (nothing changed).
    pub first_time: bool,
}

impl From<Delivered> for DeliveredDto {
    fn from(d: Delivered) -> Self {
        Self { lead_id: d.lead_id, interest_id: d.interest_id, first_time: d.first_time }
    }
}

fn json_body(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| crate::extract::serde_problem(&e))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"call_id": "pbx-2026-12-01-0042", "direction": "inbound", "status": "answered", "from": "+7 916 123-45-67", "to": "+7 495 000-00-00", "started_at": "2026-12-01T09:30:00Z", "duration_seconds": 184}))]
pub struct CallEventDto {
    /// The PBX's id of the call: the dedupe key.
    #[validate(length(min = 1, max = 200))]
    #[schema(example = "pbx-2026-12-01-0042", min_length = 1, max_length = 200)]
    pub call_id: String,
    #[schema(example = "+7 916 123-45-67")]
    pub from: String,
    /// The line called; a connected line routes the lead to its manager.
    #[schema(example = "+7 495 000-00-00")]
    pub to: String,
    /// `inbound` or `outbound`.
    #[schema(value_type = crate::routes::words::CallDirectionDto)]
    pub direction: String,
    pub started_at: DateTime<Utc>,
    #[serde(default)]
    pub duration_seconds: i64,
    /// `answered` or `missed`.
    #[schema(value_type = crate::routes::words::CallStatusDto)]
    pub status: String,
    pub recording_url: Option<String>,
}

/// A call event from telephony.
///
/// An inbound call from an unknown number, or a missed call, makes a lead.
/// The same call id again changes nothing and answers the same.
#[utoipa::path(post, path = "/api/v1/intake/calls", operation_id = "intakeCall", tag = "intake",
    request_body = CallEventDto,
    responses((status = 200, description = "Received", body = DeliveredDto)))]
pub async fn intake_call(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CallEventDto>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let raw = serde_json::json!({"call_id": b.call_id, "from": b.from, "to": b.to, "direction": b.direction,
        "started_at": b.started_at, "duration_seconds": b.duration_seconds, "status": b.status, "recording_url": b.recording_url}).to_string();
    let e = CallEvent {
        call_id: b.call_id,
        from: b.from,
        to: b.to,
        direction: b.direction,
        started_at: b.started_at,
        duration_seconds: b.duration_seconds,
        status: b.status,
        recording_url: b.recording_url,
    };
    let d = auth
        .run(&state, move |app, principal| crm_app::intake::providers::call(app, principal, e, raw))
        .await?;
    Ok(HttpResponse::Ok().json(DeliveredDto::from(d)))
}

/// A Telegram Bot API `Update`, as the webhook sends it.
///
/// The bot is recognised by `X-Telegram-Bot-Api-Secret-Token` (401 otherwise).
/// Messages make leads; later messages of the same chat join its open lead;
/// other updates are acknowledged with 200 so Telegram does not resend them.
#[utoipa::path(post, path = "/api/v1/intake/telegram", operation_id = "intakeTelegram", tag = "intake",
    params(("X-Telegram-Bot-Api-Secret-Token" = String, Header, description = "The secret_token given to setWebhook")),
    request_body(content = Object, description = "A Telegram Update", example = json!({
        "update_id": 815512345,
        "message": {
            "message_id": 42, "date": 1764579600, "text": "Здравствуйте! Нужны 40 офисных кресел.",
            "chat": {"id": 123456789, "type": "private", "first_name": "Анна"},
            "from": {"id": 123456789, "is_bot": false, "first_name": "Анна", "username": "anna_smirnova"}
        }
    })),
    responses((status = 200, description = "Received", body = DeliveredDto),
        (status = 401, description = "Unknown or missing secret token", body = Problem, content_type = "application/problem+json")),
    security(()))]
pub async fn intake_telegram(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let token =
        req.headers().get("x-telegram-bot-api-secret-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let update = json_body(&body)?;
    let d =
        run(&state, move |app| crm_app::intake::providers::telegram(app, token.as_deref(), &update)).await?;
    Ok(HttpResponse::Ok().json(DeliveredDto::from(d)))
}

/// A VK Callback API event.
///
/// `confirmation` is answered with the group's confirmation string; other
/// events with `ok` (plain text), as VK expects. A wrong `secret` is 403.
#[utoipa::path(post, path = "/api/v1/intake/vk", operation_id = "intakeVk", tag = "intake",
    request_body(content = Object, description = "A VK Callback API event", example = json!({
        "type": "message_new", "group_id": 229876543, "secret": "vk-callback-secret", "event_id": "a1b2c3d4e5",
        "object": {"message": {"id": 17, "from_id": 512345678, "peer_id": 512345678, "date": 1764579600,
            "text": "Добрый день, интересуют офисные кресла"}}
    })),
    responses((status = 200, description = "`ok`, or the confirmation string", body = String, content_type = "text/plain"),
        (status = 403, description = "Unknown group or wrong secret", body = Problem, content_type = "application/problem+json")),
    security(()))]
pub async fn intake_vk(state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let event = json_body(&body)?;
    let answer = run(&state, move |app| crm_app::intake::providers::vk(app, &event)).await?;
    let text = match answer {
        VkAnswer::Confirmation(s) => s,
        VkAnswer::Ok(_) => "ok".to_owned(),
    };
    Ok(HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(text))
}

/// A raw e-mail (`Content-Type: message/rfc822`), as an MTA or a mail fetcher hands it over.
///
/// From, Subject (encoded words), the text (or text made from HTML) in any
/// charset and transfer encoding; `Message-ID` is the dedupe key. A message
/// to a connected personal mailbox goes to its manager, others to the shared
/// inbox. A message that is not MIME is kept as given with a parse note.
///
/// A reply is not a new lead. When `In-Reply-To` or `References` names a
/// message of an interest (a letter sent from it, an invoice e-mailed from
/// one of its orders, a reply kept there), it joins that interest's timeline
/// as an incoming e-mail interaction and its responsible is notified
/// (`interest_id` in the answer). When it names an e-mail lead's own message,
/// it joins that lead while the lead is open, or the interest the lead became.
#[utoipa::path(post, path = "/api/v1/intake/email", operation_id = "intakeEmail", tag = "intake",
    request_body(content = String, content_type = "message/rfc822", description = "The raw message",
        example = json!("From: Anna Smirnova <a.smirnova@romashka.ru>\r\nTo: sales@example.com\r\nSubject: Office chairs\r\nMessage-ID: <20261201093000.42@romashka.ru>\r\nDate: Tue, 1 Dec 2026 12:30:00 +0300\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nWe need 40 office chairs by January.\r\n")),
    responses((status = 200, description = "Received", body = DeliveredDto)))]
pub async fn intake_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.starts_with("message/rfc822") {
        return Err(ApiError::problem(Problem::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported content type",
            "send the raw message with Content-Type: message/rfc822",
        )));
    }
    let raw = body.to_vec();
    let d = auth
        .run(&state, move |app, principal| crm_app::intake::providers::email(app, principal, &raw))
        .await?;
    Ok(HttpResponse::Ok().json(DeliveredDto::from(d)))
}

fn cors(res: &mut HttpResponse, origin: Option<&str>) {
    if let Some(o) = origin.and_then(|o| header::HeaderValue::from_str(o).ok()) {
        res.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        res.headers_mut().insert(header::VARY, header::HeaderValue::from_static("Origin"));
    }
}

fn origin_of(req: &HttpRequest) -> Option<String> {
    req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// CORS preflight for a website form: only the form's allowed origins may post.
pub async fn form_preflight(
    state: web::Data<AppState>,
    req: HttpRequest,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let origin = origin_of(&req);
    let o = origin.clone();
    let (_, allowed) =
        run(&state, move |app| crm_app::intake::providers::form_origin_allowed(app, &key, o.as_deref()))
            .await?;
    if !allowed {
        return Err(ApiError::App(crm_app::AppError::Forbidden("this site may not post to the form".into())));
    }
    let mut res = HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "POST"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "content-type"))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
        .finish();
    cors(&mut res, origin.as_deref());
    Ok(res)
}

/// A website form's fields, as the form posts them: `text` or `comment`
/// stand in for `message`; any other field is kept in the lead's raw payload.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"name": "Анна Смирнова", "phone": "+7 916 123-45-67", "email": "anna@example.ru",
    "subject": "Консультация", "message": "Перезвоните, пожалуйста, после 15:00"}))]
pub struct FormFields {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub subject: Option<String>,
    pub message: Option<String>,
    /// The honeypot: left empty by people.
    pub website: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FormAccepted {
    /// Always true, also when the honeypot caught a bot (so it learns nothing).
    pub received: bool,
}

/// A website form post (JSON or `application/x-www-form-urlencoded`).
///
/// Fields `name`, `phone`, `email`, `subject`, `message`; a phone or an
/// e-mail is required. `website` is a honeypot: filled in, the post is
/// answered as received and dropped. Only the form's allowed origins may post
/// from a browser; each address may post a few times in ten minutes (429).
#[utoipa::path(post, path = "/api/v1/intake/forms/{form_key}", operation_id = "intakeForm", tag = "intake",
    params(("form_key" = String, Path, description = "The form's key")),
    request_body(content(
        (FormFields = "application/json"),
        (FormFields = "application/x-www-form-urlencoded"),
    ), description = "The form's fields"),
    responses((status = 200, description = "Received", body = FormAccepted),
        (status = 429, description = "Too many posts from this address", body = Problem, content_type = "application/problem+json")),
    security(()))]
pub async fn intake_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    key: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let fields: HashMap<String, String> = if ct.starts_with("application/x-www-form-urlencoded") {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
            .map_err(|e| ApiError::bad_request(format!("the form body is not URL-encoded: {e}")))?
            .into_iter()
            .collect()
    } else if ct.starts_with("application/json") {
        let v = json_body(&body)?;
        let obj =
            v.as_object().ok_or_else(|| ApiError::bad_request("send the form's fields as a JSON object"))?;
        obj.iter()
            .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
            .collect()
    } else {
        return Err(ApiError::problem(Problem::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported content type",
            "send application/json or application/x-www-form-urlencoded",
        )));
    };
    let origin = origin_of(&req);
    let address = client_address(&req, &state.proxies);
    let o = origin.clone();
    let outcome =
        run(&state, move |app| crm_app::intake::providers::form(app, &key, o.as_deref(), &address, &fields))
            .await;
    let mut res = match outcome {
        Ok(FormOutcome::Lead(_) | FormOutcome::Ignored) => {
            HttpResponse::Ok().json(FormAccepted { received: true })
        }
        Err(e) => actix_web::ResponseError::error_response(&e),
    };
    if res.status() != actix_web::http::StatusCode::FORBIDDEN {
        cors(&mut res, origin.as_deref());
    }
    Ok(res)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelDto {
    pub id: Uuid,
    /// `email`, `telegram`, `vk`, `phone` or `form`.
    #[schema(value_type = crate::routes::words::ChannelKindDto)]
    pub kind: String,
    pub name: String,
    /// Mailbox address, bot name, VK group id, line number (E.164) or form key.
    pub address: String,
    /// Secrets are never shown, only whether one is set.
    pub has_secret: bool,
    pub has_confirmation: bool,
    /// Leads from this channel go to this manager; null: the shared inbox.
    pub assignee_id: Option<Uuid>,
    pub allowed_origins: Vec<String>,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ChannelView> for ChannelDto {
    fn from(v: ChannelView) -> Self {
        Self {
            id: v.id,
            kind: v.kind,
            name: v.name,
            address: v.address,
            has_secret: v.has_secret,
            has_confirmation: v.has_confirmation,
            assignee_id: v.assignee_id,
            allowed_origins: v.allowed_origins,
            active: v.active,
            version: v.version,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "email", "name": "sales@ mailbox", "address": "sales@example.com"}))]
pub struct CreateChannelRequest {
    /// `email`, `telegram`, `vk`, `phone` or `form`.
    #[schema(example = "telegram")]
    #[schema(value_type = crate::routes::words::ChannelKindDto)]
    pub kind: String,
    #[validate(length(min = 1, max = 200))]
    #[schema(example = "Sales bot", min_length = 1, max_length = 200)]
    pub name: String,
    /// Mailbox address, bot name, VK group id, line number, or a form key (generated when absent).
    pub address: Option<String>,
    /// Telegram's webhook secret_token, or VK's secret key. Stored as a digest.
    #[schema(format = Password)]
    pub secret: Option<String>,
    /// VK's confirmation string.
    pub confirmation: Option<String>,
    /// Route this channel's leads to a manager (a personal mailbox or line).
    pub assignee_id: Option<Uuid>,
    /// Forms: origins allowed to post from a browser (`https://example.com`).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChannelQuery {
    pub kind: Option<crate::routes::words::ChannelKindDto>,
    /// Only those changed at or after this instant, in (updated_at, id) order.
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
}

fn new_channel(b: CreateChannelRequest) -> NewChannel {
    NewChannel {
        kind: b.kind,
        name: b.name,
        address: b.address,
        secret: b.secret,
        confirmation: b.confirmation,
        assignee_id: b.assignee_id,
        allowed_origins: b.allowed_origins,
    }
}

/// List lead channels (admins).
#[utoipa::path(get, path = "/api/v1/channels", operation_id = "listChannels", tag = "intake",
    params(ChannelQuery, PageParams), responses((status = 200, description = "A page of channels", body = Page<ChannelDto>)))]
pub async fn list_channels(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<ChannelQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = page.request()?;
    let page = auth
        .run(&state, move |app, principal| {
            crm_app::intake::channels::list_channels(
                app,
                principal,
                q.kind.map(|k| k.as_str().to_owned()),
                q.updated_since,
                page,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::<ChannelDto>::of(page)))
}

/// Connect a lead channel (admins).
#[utoipa::path(post, path = "/api/v1/channels", operation_id = "createChannel", tag = "intake",
    request_body = CreateChannelRequest,
    responses((status = 201, description = "Connected", body = ChannelDto, headers(("Location" = String)))))]
pub async fn create_channel(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateChannelRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let input = new_channel(body.into_inner());
    let v = auth
        .run(&state, move |app, principal| crm_app::intake::channels::create_channel(app, principal, input))
        .await?;
    let id = v.id;
    Ok(created(format!("/api/v1/channels/{id}"), &ChannelDto::from(v), None))
}

/// Disconnect a lead channel: its deliveries are refused from now on.
#[utoipa::path(delete, path = "/api/v1/channels/{id}", operation_id = "deactivateChannel", tag = "intake",
    params(("id" = Uuid, Path, description = "Channel id")), responses((status = 204, description = "Disconnected")))]
pub async fn deactivate_channel(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    auth.run(&state, move |app, principal| crm_app::intake::channels::deactivate_channel(app, principal, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Contact us", "allowed_origins": ["https://example.com"]}))]
pub struct CreateFormRequest {
    #[validate(length(min = 1, max = 200))]
    #[schema(example = "Contact us", min_length = 1, max_length = 200)]
    pub name: String,
    /// Default: generated.
    pub form_key: Option<String>,
    #[serde(default)]
    #[schema(example = json!(["https://example.com"]))]
    pub allowed_origins: Vec<String>,
    pub assignee_id: Option<Uuid>,
}

/// List website forms (admins).
#[utoipa::path(get, path = "/api/v1/forms", operation_id = "listForms", tag = "intake",
    params(PageParams), responses((status = 200, description = "A page of forms", body = Page<ChannelDto>)))]
pub async fn list_forms(
    state: web::Data<AppState>,
    auth: Auth,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = page.request()?;
    let page = auth
        .run(&state, move |app, principal| {
            crm_app::intake::channels::list_channels(app, principal, Some("form".into()), None, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::<ChannelDto>::of(page)))
}

/// Create a website form key (admins). Post to `/api/v1/intake/forms/{form_key}`.
#[utoipa::path(post, path = "/api/v1/forms", operation_id = "createForm", tag = "intake",
    request_body = CreateFormRequest,
    responses((status = 201, description = "Created", body = ChannelDto, headers(("Location" = String)))))]
pub async fn create_form(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateFormRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let input = NewChannel {
        kind: "form".into(),
        name: b.name,
        address: b.form_key,
        allowed_origins: b.allowed_origins,
        assignee_id: b.assignee_id,
        ..Default::default()
    };
    let v = auth
        .run(&state, move |app, principal| crm_app::intake::channels::create_channel(app, principal, input))
        .await?;
    let id = v.id;
    Ok(created(format!("/api/v1/channels/{id}"), &ChannelDto::from(v), None))
}
