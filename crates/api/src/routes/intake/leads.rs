//! Leads: the inbox, entry by hand or by an integration, and the acceptance wizard.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use crm_app::intake::leads::{
    Accept, AcceptAsNew, Acceptance, LeadListFilter, LeadView, LinkThen, NewLead, Party,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::error::ApiError;
use crate::extract::{created, validate, versioned, AppState, Auth, IfMatch, Json, Page, PageParams};
use crate::routes::parties::clients::{CandidateDto, ClientDto, CreateClientRequest};
use crate::routes::words::LeadStatusDto;

use crate::routes::parties::contacts::{ContactDto, CreateContactRequest};
use crate::routes::sales::interests::InterestDto;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/leads").get(list_leads).post(create_lead))
        .service(web::resource("/leads/{id}").get(get_lead))
        .service(web::resource("/leads/{id}/acceptance").get(acceptance))
        .service(web::resource("/leads/{id}/accept").post(accept_lead))
        .service(web::resource("/leads/{id}/reject").post(reject_lead));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LeadDto {
    pub id: Uuid,
    /// `manual`, `email`, `telegram`, `vk`, `phone`, `form` or `other`.
    #[schema(example = "phone")]
    #[schema(value_type = crate::routes::words::LeadChannelDto)]
    pub channel: String,
    /// The mailbox, bot, form or line it came through.
    pub source: Option<String>,
    /// The provider's id: the dedupe key.
    pub external_id: Option<String>,
    /// `new`, `accepted`, `linked` or `rejected`.
    #[schema(example = "new")]
    pub status: LeadStatusDto,
    pub received_at: DateTime<Utc>,
    #[schema(example = "Анна")]
    pub name: Option<String>,
    /// E.164 when it could be read.
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Contact details as given when they could not be read.
    pub contact_as_given: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    /// The client identified by phone or e-mail (a repeat request from a known client).
    pub client_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    /// The manager it was routed to; null: the shared inbox.
    pub assignee_id: Option<Uuid>,
    pub interest_id: Option<Uuid>,
    pub reject_reason: Option<String>,
    pub reject_comment: Option<String>,
    /// What could not be parsed, if anything.
    pub parse_note: Option<String>,
    pub processed_by: Option<Uuid>,
    pub processed_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<LeadView> for LeadDto {
    fn from(v: LeadView) -> Self {
        Self {
            id: v.id,
            channel: v.channel,
            source: v.source,
            external_id: v.external_id,
            status: v.status.into(),
            received_at: v.received_at,
            name: v.name,
            phone: v.phone,
            email: v.email,
            contact_as_given: v.contact_as_given,
            subject: v.subject,
            body: v.body,
            client_id: v.client_id,
            contact_id: v.contact_id,
            assignee_id: v.assignee_id,
            interest_id: v.interest_id,
            reject_reason: v.reject_reason,
            reject_comment: v.reject_comment,
            parse_note: v.parse_note,
            processed_by: v.processed_by,
            processed_at: v.processed_at,
            version: v.version,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Анна", "phone": "8 (916) 123-45-67", "subject": "Chairs for a new office", "body": "We need 40 office chairs by January."}))]
pub struct CreateLeadRequest {
    /// Default `manual`.
    #[schema(example = "manual")]
    #[schema(value_type = Option<crate::routes::words::LeadChannelDto>)]
    pub channel: Option<String>,
    #[validate(length(max = 200))]
    #[schema(max_length = 200)]
    pub source: Option<String>,
    /// Your id for it: sending the same one again returns the same lead (200).
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub external_id: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    #[validate(length(max = 300))]
    #[schema(example = "Анна", max_length = 300)]
    pub name: Option<String>,
    #[schema(example = "8 (916) 123-45-67")]
    pub phone: Option<String>,
    pub email: Option<String>,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub subject: Option<String>,
    #[validate(length(max = 20000))]
    #[schema(max_length = 20000)]
    pub body: Option<String>,
    /// Route it to this manager; default the shared inbox.
    pub assignee_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListLeadsQuery {
    /// `new`, `accepted`, `linked`, `rejected`.
    pub status: Option<crate::routes::words::LeadStatusDto>,
    pub channel: Option<crate::routes::words::LeadChannelDto>,
    pub updated_since: Option<DateTime<Utc>>,
}

/// List leads: the shared inbox and your own (heads: the department's too).
#[utoipa::path(get, path = "/api/v1/leads", operation_id = "listLeads", tag = "leads",
    params(ListLeadsQuery, PageParams), responses((status = 200, description = "A page of leads", body = Page<LeadDto>)))]
pub async fn list_leads(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<ListLeadsQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = page.request()?;
    let filter = LeadListFilter {
        status: q.status.map(|s| s.as_str().to_owned()),
        channel: q.channel.map(|c| c.as_str().to_owned()),
        updated_since: q.updated_since,
    };
    let page = auth
        .run(&state, move |app, principal| crm_app::intake::leads::list_leads(app, principal, filter, page))
        .await?;
    Ok(HttpResponse::Ok().json(Page::<LeadDto>::of(page)))
}

/// Enter a lead by hand, or push one from an integration.
///
/// A known phone or e-mail identifies the client at once. With
/// `external_id`, the same request again answers 200 with the same lead.
#[utoipa::path(post, path = "/api/v1/leads", operation_id = "createLead", tag = "leads",
    request_body = CreateLeadRequest,
    responses((status = 201, description = "Created", body = LeadDto, headers(("Location" = String), ("ETag" = String))),
        (status = 200, description = "Already received (same external_id)", body = LeadDto)))]
pub async fn create_lead(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateLeadRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let lead = NewLead {
        channel: b.channel.unwrap_or_else(|| "manual".to_owned()),
        source: b.source,
        external_id: b.external_id,
        received_at: b.received_at,
        name: b.name,
        phone: b.phone,
        email: b.email,
        subject: b.subject,
        body: b.body,
        assignee_id: b.assignee_id,
        raw_payload: None,
        thread_key: None,
        notes: Vec::new(),
    };
    let (v, fresh) = auth
        .run(&state, move |app, principal| crm_app::intake::leads::create_lead(app, principal, lead))
        .await?;
    let (id, version) = (v.id, v.version);
    if fresh {
        Ok(created(format!("/api/v1/leads/{id}"), &LeadDto::from(v), Some(version)))
    } else {
        Ok(HttpResponse::Ok().insert_header(("etag", crate::extract::etag(version))).json(LeadDto::from(v)))
    }
}

/// Read a lead.
#[utoipa::path(get, path = "/api/v1/leads/{id}", operation_id = "getLead", tag = "leads",
    params(("id" = Uuid, Path, description = "Lead id")),
    responses((status = 200, description = "The lead", body = LeadDto, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the given ETag")))]
pub async fn get_lead(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let v =
        auth.run(&state, move |app, principal| crm_app::intake::leads::get_lead(app, principal, id)).await?;
    let version = v.version;
    Ok(versioned(&req, &LeadDto::from(v), version))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptanceDto {
    pub lead: LeadDto,
    /// Clients and contacts that match the lead's details, best first.
    pub candidates: Vec<CandidateDto>,
    /// The client identified by the lead's phone or e-mail, whole — when you
    /// may see it (as `GET /clients/{id}` would show it).
    pub client: Option<ClientDto>,
    /// The identified client when you may not see it: its id, masked name
    /// and responsible manager, so you can route the lead to them.
    pub client_glimpse: Option<GlimpseDto>,
    pub contact: Option<ContactDto>,
    pub contact_glimpse: Option<GlimpseDto>,
    /// The client's responsible manager when the client is known, else you.
    pub proposed_responsible_id: Option<Uuid>,
    /// Open interests of the client you may see: link the lead to one of them instead.
    pub active_interests: Vec<InterestDto>,
    /// Your usual service type, preset for the new interest.
    pub default_service_type: Option<String>,
}

/// A matched record you may not open: only what routing the lead needs.
#[derive(Debug, Serialize, ToSchema)]
pub struct GlimpseDto {
    pub id: Uuid,
    /// The first letter of each word, the rest starred.
    #[schema(example = "О** «Р******»")]
    pub masked_name: String,
    pub responsible_id: Option<Uuid>,
    #[schema(example = "Ivan Petrov")]
    pub responsible_name: Option<String>,
}

impl From<crm_app::intake::leads::Glimpse> for GlimpseDto {
    fn from(g: crm_app::intake::leads::Glimpse) -> Self {
        Self {
            id: g.id,
            masked_name: g.masked_name,
            responsible_id: g.responsible_id,
            responsible_name: g.responsible_name,
        }
    }
}

impl From<Acceptance> for AcceptanceDto {
    fn from(a: Acceptance) -> Self {
        Self {
            lead: a.lead.into(),
            candidates: a.candidates.into_iter().map(CandidateDto::from).collect(),
            client: a.client.map(ClientDto::from),
            client_glimpse: a.client_glimpse.map(GlimpseDto::from),
            contact: a.contact.map(ContactDto::from),
            contact_glimpse: a.contact_glimpse.map(GlimpseDto::from),
            proposed_responsible_id: a.proposed_responsible_id,
            active_interests: a.active_interests.into_iter().map(InterestDto::from).collect(),
            default_service_type: a.default_service_type,
        }
    }
}

/// The acceptance wizard's view of a lead.
///
/// Duplicate candidates with reasons, the identified client and contact, the
/// proposed responsible, and the client's open interests.
#[utoipa::path(get, path = "/api/v1/leads/{id}/acceptance", operation_id = "getLeadAcceptance", tag = "leads",
    params(("id" = Uuid, Path, description = "Lead id")),
    responses((status = 200, description = "What the wizard shows", body = AcceptanceDto)))]
pub async fn acceptance(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let a = auth
        .run(&state, move |app, principal| crm_app::intake::leads::acceptance(app, principal, id))
        .await?;
    Ok(HttpResponse::Ok().json(AcceptanceDto::from(a)))
}

/// An existing record, or a new one to make, for the interest.
/// `{"use": "existing", "id": …}`, `{"use": "new", …client fields…}` or `{"use": "none"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "use", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientChoice {
    /// Keep none for now.
    None,
    Existing {
        id: Uuid,
    },
    New(CreateClientRequest),
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "use", rename_all = "snake_case", deny_unknown_fields)]
pub enum ContactChoice {
    None,
    Existing {
        id: Uuid,
    },
    /// The lead's phone and e-mail are used when none are given.
    New(CreateContactRequest),
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ThenDto {
    None,
    /// Answer with the interest.
    Open,
    Task {
        title: String,
        due_at: DateTime<Utc>,
        /// Default: you.
        assignee_id: Option<Uuid>,
    },
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
#[schema(example = json!({"mode": "new_interest", "title": "Chairs for a new office", "potential_amount": "480000.00"}))]
pub enum AcceptRequest {
    /// Make an interest (on the scenario's first stage, so its entry rules run).
    NewInterest {
        /// Default: the client the lead was matched to, if any.
        client: Option<ClientChoice>,
        /// Default: the contact the lead was matched to, if any.
        contact: Option<ContactChoice>,
        /// Default: the client's responsible, else you.
        responsible_id: Option<Uuid>,
        scenario_id: Option<Uuid>,
        service_type: Option<String>,
        /// Default: the lead's subject.
        title: Option<String>,
        potential_amount: Option<String>,
    },
    /// Put the lead on an open interest's timeline.
    Link { interest_id: Uuid, then: Option<ThenDto> },
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedDto {
    pub lead: LeadDto,
    /// The new interest, or with `then: open` the linked one.
    pub interest: Option<InterestDto>,
}

fn client_input(b: CreateClientRequest) -> crm_app::parties::clients::ClientInput {
    crm_app::parties::clients::ClientInput {
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
    }
}

fn contact_input(b: CreateContactRequest) -> crm_app::parties::contacts::ContactInput {
    crm_app::parties::contacts::ContactInput {
        id: b.id,
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
    }
}

/// Accept a lead: into a new interest, or linked to an open one.
///
/// One transaction: the client and contact made here, the interest with its
/// entry rules, the lead's status. Accepting a lead that is no longer new
/// (someone else took it a moment ago) is 409 and changes nothing.
#[utoipa::path(post, path = "/api/v1/leads/{id}/accept", operation_id = "acceptLead", tag = "leads",
    params(("id" = Uuid, Path, description = "Lead id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = AcceptRequest,
    responses((status = 200, description = "Accepted or linked", body = AcceptedDto)))]
pub async fn accept_lead(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<AcceptRequest>,
) -> Result<HttpResponse, ApiError> {
    let how = match body.into_inner() {
        AcceptRequest::NewInterest {
            client,
            contact,
            responsible_id,
            scenario_id,
            service_type,
            title,
            potential_amount,
        } => {
            let client = match client {
                None => Party::AsMatched,
                Some(ClientChoice::None) => Party::None,
                Some(ClientChoice::Existing { id }) => Party::Existing(id),
                Some(ClientChoice::New(b)) => {
                    validate(&b)?;
                    Party::New(client_input(b))
                }
            };
            let contact = match contact {
                None => Party::AsMatched,
                Some(ContactChoice::None) => Party::None,
                Some(ContactChoice::Existing { id }) => Party::Existing(id),
                Some(ContactChoice::New(b)) => {
                    validate(&b)?;
                    Party::New(contact_input(b))
                }
            };
            Accept::NewInterest(AcceptAsNew {
                client,
                contact,
                responsible_id,
                scenario_id,
                service_type,
                title,
                potential_amount,
            })
        }
        AcceptRequest::Link { interest_id, then } => Accept::Link {
            interest_id,
            then: match then {
                None | Some(ThenDto::None) => LinkThen::None,
                Some(ThenDto::Open) => LinkThen::Open,
                Some(ThenDto::Task { title, due_at, assignee_id }) => {
                    LinkThen::Task { title, due_at, assignee_id }
                }
            },
        },
    };
    let id = id.into_inner();
    let done = auth
        .run(&state, move |app, principal| {
            crm_app::intake::leads::accept_lead(app, principal, id, if_match.0, how)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .json(AcceptedDto { lead: done.lead.into(), interest: done.interest.map(InterestDto::from) }))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "spam"}))]
pub struct RejectLeadRequest {
    /// `spam`, `duplicate`, `not_our_business` or `other` (with a comment).
    #[schema(example = "spam")]
    #[schema(value_type = crate::routes::words::RejectReasonDto)]
    pub reason: String,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

/// Reject a lead with a reason.
#[utoipa::path(post, path = "/api/v1/leads/{id}/reject", operation_id = "rejectLead", tag = "leads",
    params(("id" = Uuid, Path, description = "Lead id"), ("If-Match" = Option<String>, Header, description = "ETag you read")),
    request_body = RejectLeadRequest,
    responses((status = 200, description = "Rejected", body = LeadDto)))]
pub async fn reject_lead(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<RejectLeadRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let id = id.into_inner();
    let v = auth
        .run(&state, move |app, principal| {
            crm_app::intake::leads::reject_lead(app, principal, id, if_match.0, &b.reason, b.comment)
        })
        .await?;
    Ok(HttpResponse::Ok().json(LeadDto::from(v)))
}
