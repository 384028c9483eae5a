//! Clients, their history and the duplicate search.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use crm_app::parties::duplicates::{Candidate, DuplicateQuery};

use crm_app::parties::clients::{ClientChanges, ClientInput, ClientListFilter, ClientView};

use crm_app::parties::history::HistoryView;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::error::ApiError;
use crate::extract::{created, validate, versioned, AppState, Auth, IfMatch, Json, Page, PageParams};
use crate::routes::double_option;
use crate::routes::words::ClientStatusDto;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/clients").get(list_clients).post(create_client))
        .service(web::resource("/clients/{id}").get(get_client).patch(update_client))
        .service(web::resource("/clients/{id}/history").get(client_history))
        .service(web::resource("/duplicates/search").post(search_duplicates));
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MatchReasonDto {
    /// `same_phone`, `same_email`, `same_tax_id` or `similar_name`.
    #[schema(example = "same_phone")]
    #[schema(value_type = crate::routes::words::MatchReasonKindDto)]
    pub reason: String,
    /// The value that matched (normalised).
    #[schema(example = "+79161234567")]
    pub value: String,
    /// For `similar_name`: 0–1.
    pub score: Option<f64>,
}

/// An existing client or contact that looks like the one in question.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CandidateDto {
    /// `client` or `contact`.
    #[schema(example = "client")]
    #[schema(value_type = crate::routes::words::PartyKindDto)]
    pub kind: String,
    pub id: Uuid,
    /// The name; masked (first letters, the rest starred) when `visible` is false.
    pub name: String,
    /// For a contact: its client.
    pub client_id: Option<Uuid>,
    /// Whom to ask about it.
    pub responsible_id: Option<Uuid>,
    #[schema(example = "Ivan Petrov")]
    pub responsible_name: Option<String>,
    /// Whether you may open the record. When false, only the id, the masked
    /// name, the responsible manager and the reasons are shown.
    pub visible: bool,
    pub reasons: Vec<MatchReasonDto>,
    /// Ranking; higher is likelier the same.
    pub score: f64,
}

impl From<Candidate> for CandidateDto {
    fn from(c: Candidate) -> Self {
        Self {
            kind: c.kind.as_str().to_owned(),
            id: c.id,
            name: c.name,
            client_id: c.client_id,
            responsible_id: c.responsible_id,
            responsible_name: c.responsible_name,
            visible: c.visible,
            reasons: c
                .reasons
                .into_iter()
                .map(|r| MatchReasonDto {
                    reason: r.reason.as_str().to_owned(),
                    value: r.value,
                    score: r.score,
                })
                .collect(),
            score: (c.score * 100.0).round() / 100.0,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientDto {
    pub id: Uuid,
    #[schema(example = "ООО «Ромашка»")]
    pub name: String,
    /// `company` or `person`.
    #[schema(example = "company")]
    #[schema(value_type = crate::routes::words::ClientKindDto)]
    pub kind: String,
    /// ИНН, checksum verified.
    #[schema(example = "7707083893")]
    pub tax_id: Option<String>,
    /// E.164.
    #[schema(example = json!(["+79161234567"]))]
    pub phones: Vec<String>,
    #[schema(example = json!(["info@romashka.ru"]))]
    pub emails: Vec<String>,
    pub address: Option<String>,
    pub responsible_id: Option<Uuid>,
    /// `prospect`, `active` or `inactive`.
    pub status: ClientStatusDto,
    /// When the company was founded (a person's client: their own dates are on the contact).
    #[schema(example = "2009-03-17")]
    pub founded_on: Option<chrono::NaiveDate>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ClientView> for ClientDto {
    fn from(v: ClientView) -> Self {
        Self {
            id: v.id,
            name: v.name,
            kind: v.kind,
            tax_id: v.tax_id,
            phones: v.phones,
            emails: v.emails,
            address: v.address,
            responsible_id: v.responsible_id,
            status: v.status.into(),
            founded_on: v.founded_on,
            version: v.version,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "company", "name": "ООО «Ромашка»", "tax_id": "7707083893", "phones": ["+7 495 123-45-67"], "emails": ["info@romashka.ru"], "address": "г. Москва, ул. Ленина, д. 5", "founded_on": "2009-03-17"}))]
pub struct CreateClientRequest {
    pub id: Option<Uuid>,
    #[validate(length(min = 1, max = 300))]
    #[schema(example = "ООО «Ромашка»", min_length = 1, max_length = 300)]
    pub name: String,
    /// `company` or `person`.
    #[schema(example = "company")]
    #[schema(value_type = crate::routes::words::ClientKindDto)]
    pub kind: String,
    #[schema(example = "7707083893")]
    pub tax_id: Option<String>,
    /// Any common spelling; stored as E.164. At most 10.
    #[serde(default)]
    #[schema(example = json!(["8 (916) 123-45-67"]))]
    pub phones: Vec<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub address: Option<String>,
    /// Default: the caller.
    pub responsible_id: Option<Uuid>,
    /// `prospect`, `active` (default) or `inactive`.
    #[schema(value_type = Option<crate::routes::words::ClientStatusDto>)]
    pub status: Option<String>,
    /// When the company was founded; not after today. Its anniversary is reminded of.
    pub founded_on: Option<chrono::NaiveDate>,
    /// Create even though records with the same phone, e-mail or tax id exist.
    #[serde(default)]
    pub confirm_new: bool,
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "active", "phones": ["+7 495 123-45-67", "+7 916 123-45-67"]}))]
pub struct UpdateClientRequest {
    #[validate(length(min = 1, max = 300))]
    #[schema(min_length = 1, max_length = 300)]
    pub name: Option<String>,
    #[schema(value_type = Option<crate::routes::words::ClientKindDto>)]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub tax_id: Option<Option<String>>,
    /// Replaces the list.
    pub phones: Option<Vec<String>>,
    /// Replaces the list.
    pub emails: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub address: Option<Option<String>>,
    /// Heads and admins only.
    pub responsible_id: Option<Uuid>,
    #[schema(value_type = Option<crate::routes::words::ClientStatusDto>)]
    pub status: Option<String>,
    /// Null clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<chrono::NaiveDate>, nullable)]
    pub founded_on: Option<Option<chrono::NaiveDate>>,
    #[serde(default)]
    pub confirm_new: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListClientsQuery {
    pub kind: Option<crate::routes::words::ClientKindDto>,
    pub status: Option<crate::routes::words::ClientStatusDto>,
    pub updated_since: Option<DateTime<Utc>>,
}

/// List clients you may see.
#[utoipa::path(get, path = "/api/v1/clients", operation_id = "listClients", tag = "clients",
    params(ListClientsQuery, PageParams), responses((status = 200, description = "A page of clients", body = Page<ClientDto>)))]
pub async fn list_clients(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<ListClientsQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = page.request()?;
    let filter = ClientListFilter {
        kind: q.kind.map(|k| k.as_str().to_owned()),
        status: q.status.map(|s| s.as_str().to_owned()),
        updated_since: q.updated_since,
    };
    let page = auth
        .run(&state, move |app, principal| {
            crm_app::parties::clients::list_clients(app, principal, filter, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::<ClientDto>::of(page)))
}

/// Create a client.
///
/// Phones are stored in E.164, e-mails lower-cased, the ИНН checked. When a
/// client or contact with the same phone, e-mail or tax id exists, the answer
/// is 409 with the candidates, unless `confirm_new` is true.
#[utoipa::path(post, path = "/api/v1/clients", operation_id = "createClient", tag = "clients",
    request_body = CreateClientRequest,
    responses((status = 201, description = "Created", body = ClientDto, headers(("Location" = String), ("ETag" = String)))))]
pub async fn create_client(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateClientRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let input = ClientInput {
        id: b.id,
        name: b.name,
        kind: b.kind,
        tax_id: b.tax_id,
        phones: b.phones,
        emails: b.emails,
        address: b.address,
        responsible_id: b.responsible_id,
        status: b.status,
        founded_on: b.founded_on,
        confirm_new: b.confirm_new,
    };
    let v = auth
        .run(&state, move |app, principal| crm_app::parties::clients::create_client(app, principal, input))
        .await?;
    let (id, version) = (v.id, v.version);
    Ok(created(format!("/api/v1/clients/{id}"), &ClientDto::from(v), Some(version)))
}

/// Read a client.
#[utoipa::path(get, path = "/api/v1/clients/{id}", operation_id = "getClient", tag = "clients",
    params(("id" = Uuid, Path, description = "Client id")),
    responses((status = 200, description = "The client", body = ClientDto, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the given ETag")))]
pub async fn get_client(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let v = auth
        .run(&state, move |app, principal| crm_app::parties::clients::get_client(app, principal, id))
        .await?;
    let version = v.version;
    Ok(versioned(&req, &ClientDto::from(v), version))
}

/// Change a client.
///
/// Every changed field is recorded in the client's history. New phones,
/// e-mails or a tax id that another record has answer 409 unless `confirm_new`.
#[utoipa::path(patch, path = "/api/v1/clients/{id}", operation_id = "updateClient", tag = "clients",
    params(("id" = Uuid, Path, description = "Client id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = UpdateClientRequest,
    responses((status = 200, description = "Changed", body = ClientDto, headers(("ETag" = String)))))]
pub async fn update_client(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateClientRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let changes = ClientChanges {
        name: b.name,
        kind: b.kind,
        tax_id: b.tax_id,
        phones: b.phones,
        emails: b.emails,
        address: b.address,
        responsible_id: b.responsible_id,
        status: b.status,
        founded_on: b.founded_on,
        confirm_new: b.confirm_new,
    };
    let id = id.into_inner();
    let v = auth
        .run(&state, move |app, principal| {
            crm_app::parties::clients::update_client(app, principal, id, if_match.0, changes)
        })
        .await?;
    let version = v.version;
    Ok(versioned(&req, &ClientDto::from(v), version))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntryDto {
    pub id: Uuid,
    #[schema(example = "phones")]
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    #[schema(value_type = crate::routes::words::ActorKindDto)]
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub changed_at: DateTime<Utc>,
}

pub(crate) fn history_page(page: crm_app::Page<HistoryView>) -> Page<HistoryEntryDto> {
    Page::new(
        page.items
            .into_iter()
            .map(|h| HistoryEntryDto {
                id: h.id,
                field: h.field,
                old_value: h.old_value,
                new_value: h.new_value,
                actor_kind: h.actor_kind,
                actor_id: h.actor_id,
                changed_at: h.changed_at,
            })
            .collect(),
        page.next_after,
    )
}

/// A client's history: who changed which field from what to what, when (newest first).
#[utoipa::path(get, path = "/api/v1/clients/{id}/history", operation_id = "getClientHistory", tag = "clients",
    params(("id" = Uuid, Path, description = "Client id"), PageParams),
    responses((status = 200, description = "A page of changes", body = Page<HistoryEntryDto>)))]
pub async fn client_history(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = page.request()?;
    let id = id.into_inner();
    let page = auth
        .run(&state, move |app, principal| {
            crm_app::parties::history::entity_history(app, principal, "client", id, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(history_page(page)))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Ромашка", "phone": "8 916 123-45-67"}))]
pub struct DuplicateSearchRequest {
    #[validate(length(min = 1, max = 300))]
    #[schema(example = "Ромашка", min_length = 1, max_length = 300)]
    pub name: Option<String>,
    #[schema(example = "8 916 123-45-67")]
    pub phone: Option<String>,
    pub email: Option<String>,
    pub tax_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateSearchResult {
    /// Best match first.
    pub candidates: Vec<CandidateDto>,
}

/// Find clients and contacts matching any of name, phone, e-mail, tax id.
///
/// Each candidate lists why it matched (`same_phone`, `same_email`,
/// `same_tax_id`, `similar_name` with a score); candidates are ranked. Every
/// lookup uses an index on the normalised value.
#[utoipa::path(post, path = "/api/v1/duplicates/search", operation_id = "searchDuplicates", tag = "clients",
    request_body = DuplicateSearchRequest,
    responses((status = 200, description = "Candidates, best first", body = DuplicateSearchResult)))]
pub async fn search_duplicates(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<DuplicateSearchRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let query = DuplicateQuery { name: b.name, phone: b.phone, email: b.email, tax_id: b.tax_id };
    let found = auth
        .run(&state, move |app, principal| {
            crm_app::parties::duplicates::search_duplicates(app, principal, query)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .json(DuplicateSearchResult { candidates: found.into_iter().map(CandidateDto::from).collect() }))
}
