//! Contact persons, of a client or on their own, and their history.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};

use crm_app::parties::contacts::{ContactChanges, ContactInput, ContactView};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::error::ApiError;
use crate::extract::{created, validate, versioned, AppState, Auth, IfMatch, Json, Page, PageParams};
use crate::routes::double_option;
use crate::routes::parties::clients::*;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/clients/{id}/contacts").get(list_client_contacts).post(create_client_contact),
    )
    .service(web::resource("/contacts").post(create_contact))
    .service(web::resource("/contacts/{id}").get(get_contact).patch(update_contact))
    .service(web::resource("/contacts/{id}/history").get(contact_history));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactDto {
    pub id: Uuid,
    pub client_id: Option<Uuid>,
    #[schema(example = "Анна Смирнова")]
    pub name: String,
    #[schema(example = "Purchasing manager")]
    pub position: Option<String>,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    #[schema(example = "anna_smirnova")]
    pub telegram: Option<String>,
    pub vk: Option<String>,
    /// E.164.
    pub whatsapp: Option<String>,
    pub responsible_id: Option<Uuid>,
    /// `YYYY-MM-DD`, or `--MM-DD` when the year is not known.
    #[schema(example = "--05-14")]
    pub birthday: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ContactView> for ContactDto {
    fn from(v: ContactView) -> Self {
        Self {
            id: v.id,
            client_id: v.client_id,
            name: v.name,
            position: v.position,
            phones: v.phones,
            emails: v.emails,
            telegram: v.telegram,
            vk: v.vk,
            whatsapp: v.whatsapp,
            responsible_id: v.responsible_id,
            birthday: v.birthday,
            version: v.version,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Анна Смирнова", "position": "Procurement manager", "phones": ["+7 916 765-43-21"], "emails": ["a.smirnova@romashka.ru"], "birthday": "1985-12-14"}))]
pub struct CreateContactRequest {
    pub id: Option<Uuid>,
    /// With `POST /contacts`: the client, or none for a contact standing alone.
    pub client_id: Option<Uuid>,
    #[validate(length(min = 1, max = 300))]
    #[schema(example = "Анна Смирнова", min_length = 1, max_length = 300)]
    pub name: String,
    #[validate(length(max = 200))]
    #[schema(max_length = 200)]
    pub position: Option<String>,
    #[serde(default)]
    pub phones: Vec<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    pub telegram: Option<String>,
    pub vk: Option<String>,
    pub whatsapp: Option<String>,
    /// `YYYY-MM-DD`, or `--MM-DD` when the year is not known.
    #[schema(example = "1985-05-14", pattern = r"^(\d{4}-|--)\d{2}-\d{2}$")]
    pub birthday: Option<String>,
    #[serde(default)]
    pub confirm_new: bool,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"position": "Head of procurement", "telegram": "anna_smirnova"}))]
pub struct UpdateContactRequest {
    /// Attach to a client (or detach with null).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub client_id: Option<Option<Uuid>>,
    #[validate(length(min = 1, max = 300))]
    #[schema(min_length = 1, max_length = 300)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub position: Option<Option<String>>,
    pub phones: Option<Vec<String>>,
    pub emails: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub telegram: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub vk: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub whatsapp: Option<Option<String>>,
    /// `YYYY-MM-DD`, or `--MM-DD` when the year is not known; null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable, pattern = r"^(\d{4}-|--)\d{2}-\d{2}$")]
    pub birthday: Option<Option<String>>,
    #[serde(default)]
    pub confirm_new: bool,
}

pub(crate) fn contact_input(b: CreateContactRequest, client: Option<Uuid>) -> ContactInput {
    ContactInput {
        id: b.id,
        client_id: client.or(b.client_id),
        name: b.name,
        position: b.position,
        phones: b.phones,
        emails: b.emails,
        telegram: b.telegram,
        vk: b.vk,
        whatsapp: b.whatsapp,
        birthday: b.birthday,
        confirm_new: b.confirm_new,
    }
}

/// List a client's contacts.
#[utoipa::path(get, path = "/api/v1/clients/{id}/contacts", operation_id = "listClientContacts", tag = "clients",
    params(("id" = Uuid, Path, description = "Client id"), PageParams),
    responses((status = 200, description = "A page of contacts", body = Page<ContactDto>)))]
pub async fn list_client_contacts(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = page.request()?;
    let id = id.into_inner();
    let page = auth
        .run(&state, move |app, principal| {
            crm_app::parties::contacts::list_client_contacts(app, principal, id, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::<ContactDto>::of(page)))
}

/// Add a contact to a client.
#[utoipa::path(post, path = "/api/v1/clients/{id}/contacts", operation_id = "createClientContact", tag = "clients",
    params(("id" = Uuid, Path, description = "Client id")),
    request_body = CreateContactRequest,
    responses((status = 201, description = "Created", body = ContactDto, headers(("Location" = String), ("ETag" = String)))))]
pub async fn create_client_contact(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<CreateContactRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    if body.client_id.is_some_and(|c| c != *id) {
        return Err(ApiError::from(crm_app::AppError::field(
            "client_id",
            "mismatch",
            "the path names the client",
        )));
    }
    let input = contact_input(body.into_inner(), Some(id.into_inner()));
    let v = auth
        .run(&state, move |app, principal| crm_app::parties::contacts::create_contact(app, principal, input))
        .await?;
    let (cid, version) = (v.id, v.version);
    Ok(created(format!("/api/v1/contacts/{cid}"), &ContactDto::from(v), Some(version)))
}

/// Create a contact (of a client, or standing alone until a client is made).
#[utoipa::path(post, path = "/api/v1/contacts", operation_id = "createContact", tag = "clients",
    request_body(content = CreateContactRequest, example = json!({"name": "Пётр Соколов", "position": "Interior designer",
        "phones": ["+7 903 555-12-34"], "emails": ["p.sokolov@example.ru"]})),
    responses((status = 201, description = "Created", body = ContactDto, headers(("Location" = String), ("ETag" = String)))))]
pub async fn create_contact(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateContactRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let input = contact_input(body.into_inner(), None);
    let v = auth
        .run(&state, move |app, principal| crm_app::parties::contacts::create_contact(app, principal, input))
        .await?;
    let (cid, version) = (v.id, v.version);
    Ok(created(format!("/api/v1/contacts/{cid}"), &ContactDto::from(v), Some(version)))
}

/// Read a contact.
#[utoipa::path(get, path = "/api/v1/contacts/{id}", operation_id = "getContact", tag = "clients",
    params(("id" = Uuid, Path, description = "Contact id")),
    responses((status = 200, description = "The contact", body = ContactDto, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the given ETag")))]
pub async fn get_contact(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let v = auth
        .run(&state, move |app, principal| crm_app::parties::contacts::get_contact(app, principal, id))
        .await?;
    let version = v.version;
    Ok(versioned(&req, &ContactDto::from(v), version))
}

/// Change a contact.
#[utoipa::path(patch, path = "/api/v1/contacts/{id}", operation_id = "updateContact", tag = "clients",
    params(("id" = Uuid, Path, description = "Contact id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = UpdateContactRequest,
    responses((status = 200, description = "Changed", body = ContactDto, headers(("ETag" = String)))))]
pub async fn update_contact(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateContactRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let changes = ContactChanges {
        client_id: b.client_id,
        name: b.name,
        position: b.position,
        phones: b.phones,
        emails: b.emails,
        telegram: b.telegram,
        vk: b.vk,
        whatsapp: b.whatsapp,
        birthday: b.birthday,
        confirm_new: b.confirm_new,
    };
    let id = id.into_inner();
    let v = auth
        .run(&state, move |app, principal| {
            crm_app::parties::contacts::update_contact(app, principal, id, if_match.0, changes)
        })
        .await?;
    let version = v.version;
    Ok(versioned(&req, &ContactDto::from(v), version))
}

/// A contact's history (newest first).
#[utoipa::path(get, path = "/api/v1/contacts/{id}/history", operation_id = "getContactHistory", tag = "clients",
    params(("id" = Uuid, Path, description = "Contact id"), PageParams),
    responses((status = 200, description = "A page of changes", body = Page<HistoryEntryDto>)))]
pub async fn contact_history(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = page.request()?;
    let id = id.into_inner();
    let page = auth
        .run(&state, move |app, principal| {
            crm_app::parties::history::entity_history(app, principal, "contact", id, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(history_page(page)))
}
