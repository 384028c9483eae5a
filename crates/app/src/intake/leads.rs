//! Leads: inbound requests in the inbox, and the acceptance wizard that turns
//! one into an interest (or links it to an existing one) after a duplicate check.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use crm_domain::{Email, Phone};
use crm_store::queries::clients as cq;
use crm_store::queries::leads::LeadFilter;
use crm_store::queries::{leads as q, sales as sq};
use crm_store::rows::{LeadRow, TimelineEntryRow};
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::policy::{self, visibility};
use crate::identity::principal::actor_parts;
use crate::identity::principal::Principal;
use crate::parties::clients::{self, ClientInput, ClientView};

use crate::parties::duplicates::Candidate;

use crate::parties::contacts::{ContactInput, ContactView};
use crate::platform::error::{check_version, AppError, Problems, Unmet};
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::sales::interests::{self, InterestView, NewInterest};
use crate::sales::{create_task, timeline};
use crate::App;

/// Raw payloads are kept for audit up to this size.
pub const MAX_RAW_PAYLOAD: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct LeadView {
    pub id: Uuid,
    pub channel: String,
    pub source: Option<String>,
    pub external_id: Option<String>,
    pub status: String,
    pub received_at: DateTime<Utc>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub contact_as_given: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub client_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub interest_id: Option<Uuid>,
    pub reject_reason: Option<String>,
    pub reject_comment: Option<String>,
    pub parse_note: Option<String>,
    pub processed_by: Option<Uuid>,
    pub processed_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(r: LeadRow) -> LeadView {
    LeadView {
        id: r.id.0,
        channel: r.channel,
        source: r.source,
        external_id: r.external_id,
        status: r.status,
        received_at: r.received_at.and_utc(),
        name: r.name,
        phone: r.phone,
        email: r.email,
        contact_as_given: r.contact_as_given,
        subject: r.subject,
        body: r.body,
        client_id: r.client_id.map(Into::into),
        contact_id: r.contact_id.map(Into::into),
        assignee_id: r.assignee_id.map(Into::into),
        interest_id: r.interest_id.map(Into::into),
        reject_reason: r.reject_reason,
        reject_comment: r.reject_comment,
        parse_note: r.parse_note,
        processed_by: r.processed_by.map(Into::into),
        processed_at: r.processed_at.map(|t| t.and_utc()),
        version: r.version,
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
    }
}

/// A lead as a channel (or a person) hands it over.
#[derive(Debug, Clone, Default)]
pub struct NewLead {
    pub channel: String,
    pub source: Option<String>,
    pub external_id: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub assignee_id: Option<Uuid>,
    pub raw_payload: Option<String>,
    /// A conversation (messenger chat): later messages join its open lead.
    pub thread_key: Option<String>,
    /// What the channel's reader noticed (text it dropped, parts it lacked):
    /// kept in the lead's `parse_note`.
    pub notes: Vec<String>,
}

fn clip(s: Option<String>, max: usize) -> Option<String> {
    s.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).map(|t| {
        if t.chars().count() > max {
            t.chars().take(max).collect()
        } else {
            t
        }
    })
}

/// Stores a lead unless the same delivery made one already; matches a known
/// client or contact by phone or e-mail. Returns the lead and whether it is new.
/// Details that cannot be parsed are kept as given, with a note: nothing is dropped.
pub(crate) fn intake_in(
    conn: &mut DbConnection,
    actor: Option<&Principal>,
    lead: NewLead,
    now: DateTime<Utc>,
) -> Result<(LeadRow, bool), AppError> {
    if let Some(ext) = &lead.external_id {
        if let Some(existing) = q::find_by_external(conn, &lead.channel, ext)? {
            return Ok((existing, false));
        }
    }
    let mut notes = lead.notes.clone();
    let mut as_given = Vec::new();
    let phone = match lead.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(raw) => match Phone::parse(raw) {
            Ok(p) => Some(p.as_str().to_owned()),
            Err(_) => {
                notes.push(format!("phone {raw:?} not understood"));
                as_given.push(raw.to_owned());
                None
            }
        },
        None => None,
    };
    let email = match lead.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        Some(raw) => match Email::parse(raw) {
            Ok(e) => Some(e.as_str().to_owned()),
            Err(_) => {
                notes.push(format!("e-mail {raw:?} not understood"));
                as_given.push(raw.to_owned());
                None
            }
        },
        None => None,
    };
    // A known phone or e-mail identifies the client at once; a contact's client counts.
    let mut client_id = None;
    let mut contact_id = None;
    for (kind, value) in [("phone", &phone), ("email", &email)] {
        let Some(value) = value else { continue };
        for hit in cq::owners_of_points(conn, kind, std::slice::from_ref(value))? {
            if hit.owner_kind == "contact" && contact_id.is_none() {
                contact_id = Some(hit.owner_id);
                if client_id.is_none() {
                    client_id = cq::find_contact(conn, hit.owner_id)?.and_then(|c| c.client_id);
                }
            } else if hit.owner_kind == "client" && client_id.is_none() {
                client_id = Some(hit.owner_id);
            }
        }
    }
    let raw = lead.raw_payload.map(|r| {
        if r.len() > MAX_RAW_PAYLOAD {
            notes.push(format!("raw payload cut to {MAX_RAW_PAYLOAD} bytes"));
            let mut cut = MAX_RAW_PAYLOAD;
            while !r.is_char_boundary(cut) {
                cut -= 1;
            }
            r[..cut].to_owned()
        } else {
            r
        }
    });
    let row = LeadRow {
        id: crm_domain::new_id().into(),
        channel: lead.channel.clone(),
        source: clip(lead.source, 200),
        external_id: lead.external_id.clone(),
        thread_key: lead.thread_key.clone(),
        status: "new".to_owned(),
        received_at: lead.received_at.unwrap_or(now).naive_utc(),
        name: clip(lead.name, 300),
        phone,
        email,
        contact_as_given: (!as_given.is_empty()).then(|| as_given.join(", ")),
        subject: clip(lead.subject, 500),
        body: clip(lead.body, 20_000),
        client_id,
        contact_id,
        assignee_id: lead.assignee_id.map(Into::into),
        interest_id: None,
        reject_reason: None,
        reject_comment: None,
        raw_payload: raw,
        parse_note: (!notes.is_empty()).then(|| notes.join("; ")),
        processed_by: None,
        processed_at: None,
        version: 1,
        created_at: now.naive_utc(),
        updated_at: now.naive_utc(),
    };
    // In a savepoint: on PostgreSQL a failed insert aborts the transaction,
    // and the winner of a racing duplicate delivery must still be read.
    match crm_store::db::savepoint(conn, |c| q::insert_lead(c, &row)) {
        Ok(()) => {}
        // A racing duplicate delivery: the other one made the lead.
        Err(e) if crm_store::db::is_unique_violation(&e) => {
            if let Some(ext) = &lead.external_id {
                if let Some(existing) = q::find_by_external(conn, &lead.channel, ext)? {
                    return Ok((existing, false));
                }
            }
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    }
    outbox::record(
        conn,
        now,
        actor,
        "lead.received",
        "lead",
        row.id.0,
        serde_json::json!({
            "id": row.id.0, "channel": row.channel, "client_id": row.client_id.map(|c| c.0), "assignee_id": row.assignee_id.map(|a| a.0),
        }),
    )?;
    Ok((row, true))
}

/// A lead entered by hand or pushed by an integration. With `external_id`, a
/// repeat of the same request returns the existing lead (`false`: not new).
pub fn create_lead(app: &App, actor: &Principal, lead: NewLead) -> Result<(LeadView, bool), AppError> {
    actor.require(&permissions::WRITE_LEADS)?;
    let mut p = Problems::new();
    if !matches!(lead.channel.as_str(), "manual" | "email" | "telegram" | "vk" | "phone" | "form" | "other") {
        p.push("channel", "invalid", "use manual, email, telegram, vk, phone, form or other");
    }
    if let Some(ph) = lead.phone.as_deref().filter(|x| !x.trim().is_empty()) {
        p.check("phone", Phone::parse(ph));
    }
    if let Some(e) = lead.email.as_deref().filter(|x| !x.trim().is_empty()) {
        p.check("email", Email::parse(e));
    }
    let has_any = [&lead.name, &lead.phone, &lead.email, &lead.subject, &lead.body]
        .iter()
        .any(|f| f.as_deref().is_some_and(|v| !v.trim().is_empty()));
    if !has_any {
        p.push("name", "required", "a lead needs at least a name, phone, e-mail, subject or text");
    }
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        if let Some(a) = lead.assignee_id {
            policy::assignable(conn, Some(actor), a, "assignee", policy::Holding::Sales)?;
        }
        let (row, fresh) = intake_in(conn, Some(actor), lead, now)?;
        Ok((view(row), fresh))
    })
}

/// Whose leads an actor sees: their own and the shared inbox; heads their department's too.
fn visible_lead(conn: &mut DbConnection, actor: &Principal, id: Uuid) -> Result<LeadRow, AppError> {
    let row = q::find_lead(conn, id.into())?.ok_or(AppError::NotFound("lead"))?;
    if !policy::lead_visible(&policy::leads(conn, actor)?, row.assignee_id) {
        return Err(AppError::NotFound("lead"));
    }
    Ok(row)
}

#[derive(Debug, Clone, Default)]
pub struct LeadListFilter {
    pub status: Option<String>,
    pub channel: Option<String>,
    pub updated_since: Option<DateTime<Utc>>,
}

pub fn list_leads(
    app: &App,
    actor: &Principal,
    filter: LeadListFilter,
    page: PageRequest,
) -> Result<Page<LeadView>, AppError> {
    actor.require(&permissions::READ_LEADS)?;
    if let Some(s) = &filter.status {
        if !matches!(s.as_str(), "new" | "accepted" | "linked" | "rejected") {
            return Err(AppError::field("status", "invalid", "use new, accepted, linked or rejected"));
        }
    }
    app.read(|conn| {
        let (users, shared) = policy::leads(conn, actor)?;
        let f = LeadFilter {
            status: filter.status.clone(),
            channel: filter.channel.clone(),
            assignee_in: users,
            include_shared: shared,
            updated_since: filter.updated_since.map(|t| t.naive_utc()),
        };
        let rows = q::list_leads(conn, &f, page.query())?;
        Ok(Page::from_rows(rows, page, |r| r.id.0, view))
    })
}

pub fn get_lead(app: &App, actor: &Principal, id: Uuid) -> Result<LeadView, AppError> {
    actor.require(&permissions::READ_LEADS)?;
    app.read(|conn| Ok(view(visible_lead(conn, actor, id)?)))
}

/// The unprocessed leads an actor may take, for the board's first column.
pub fn inbox(
    conn: &mut DbConnection,
    actor: &Principal,
    limit: i64,
) -> Result<(i64, Vec<LeadView>), AppError> {
    let (users, shared) = policy::leads(conn, actor)?;
    let f = LeadFilter {
        status: Some("new".into()),
        assignee_in: users,
        include_shared: shared,
        ..Default::default()
    };
    let count = q::count_leads(conn, &f)?;
    let rows = q::list_leads(conn, &f, crm_store::queries::PageQuery { after: None, limit })?;
    Ok((count, rows.into_iter().map(view).collect()))
}

/// A matched record the viewer may not open: what routing needs, no more.
#[derive(Debug, Clone)]
pub struct Glimpse {
    pub id: Uuid,
    pub masked_name: String,
    pub responsible_id: Option<Uuid>,
    pub responsible_name: Option<String>,
}

/// What the acceptance wizard shows for a lead.
#[derive(Debug, Clone)]
pub struct Acceptance {
    pub lead: LeadView,
    pub candidates: Vec<Candidate>,
    /// The identified client, whole — when the viewer may see it.
    pub client: Option<ClientView>,
    /// The identified client when the viewer may not see it.
    pub client_glimpse: Option<Glimpse>,
    pub contact: Option<ContactView>,
    pub contact_glimpse: Option<Glimpse>,
    pub proposed_responsible_id: Option<Uuid>,
    pub active_interests: Vec<InterestView>,
    /// The user's usual service type, preset for the new interest.
    pub default_service_type: Option<String>,
}

pub fn acceptance(app: &App, actor: &Principal, id: Uuid) -> Result<Acceptance, AppError> {
    actor.require(&permissions::PROCESS_LEADS)?;
    let now = app.now();
    let fallback = app.settings().default_time_zone.tz();
    app.read(|conn| {
        let row = visible_lead(conn, actor, id)?;
        let points: Vec<(String, String)> = [("phone", &row.phone), ("email", &row.email)]
            .into_iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.to_owned(), v)))
            .collect();
        let candidates = crate::parties::duplicates::find_candidates(
            conn,
            actor,
            row.name.as_deref(),
            &points,
            None,
            None,
        )?;
        // The lead matched these by a phone or e-mail someone typed: the
        // viewer sees them whole only if GET would show them.
        let client_row = match row.client_id {
            Some(c) => cq::find_client(conn, c)?,
            None => None,
        };
        let contact_row = match row.contact_id {
            Some(c) => cq::find_contact(conn, c)?,
            None => None,
        };
        let client_responsible = client_row.as_ref().and_then(|c| c.responsible_id).map(Into::into);
        let (mut client, mut client_glimpse) = (None, None);
        if let Some(r) = client_row {
            if clients::client_visible(conn, actor, r.id.0)? {
                client = Some(clients::load_client_view(conn, r)?);
            } else {
                client_glimpse = Some(glimpse(conn, r.id.0, &r.name, r.responsible_id)?);
            }
        }
        let (mut contact, mut contact_glimpse) = (None, None);
        if let Some(r) = contact_row {
            if crate::parties::contacts::contact_visible(conn, actor, r.id.0)? {
                contact = Some(crate::parties::contacts::load_contact_view(conn, r)?);
            } else {
                contact_glimpse = Some(glimpse(conn, r.id.0, &r.name, r.responsible_id)?);
            }
        }
        let proposed = client_responsible.or_else(|| actor.user().map(|u| u.id));
        let mut active_interests = Vec::new();
        if let Some(c) = row.client_id {
            let vis = visibility(conn, actor)?;
            let f = sq::InterestFilter {
                client_id: Some(c),
                states: Some(vec!["active".into(), "awaiting_loss_approval".into()]),
                responsible_in: vis.filter(),
                ..Default::default()
            };
            for r in sq::list_interests(conn, &f, crm_store::queries::PageQuery { after: None, limit: 50 })? {
                active_interests.push(interests::interest_view_in(conn, r.id, now, fallback)?);
            }
        }
        let default_service_type = match actor.user() {
            Some(u) => {
                crm_store::queries::users::find(conn, u.id.into())?.and_then(|u| u.default_service_type)
            }
            None => None,
        };
        Ok(Acceptance {
            lead: view(row),
            candidates,
            client,
            client_glimpse,
            contact,
            contact_glimpse,
            proposed_responsible_id: proposed,
            active_interests,
            default_service_type,
        })
    })
}

fn glimpse(
    conn: &mut DbConnection,
    id: Uuid,
    name: &str,
    responsible: Option<DbUuid>,
) -> Result<Glimpse, AppError> {
    let responsible_name = match responsible {
        Some(r) => crm_store::queries::users::find(conn, r)?.map(|u| u.name),
        None => None,
    };
    Ok(Glimpse {
        id,
        masked_name: crate::parties::duplicates::mask_name(name),
        responsible_id: responsible.map(Into::into),
        responsible_name,
    })
}

/// Which client or contact an accepted lead goes with.
#[derive(Debug, Clone)]
pub enum Party<T> {
    /// What the lead was matched to, if anything.
    AsMatched,
    None,
    Existing(Uuid),
    New(T),
}

#[derive(Debug, Clone)]
pub struct AcceptAsNew {
    pub client: Party<ClientInput>,
    pub contact: Party<ContactInput>,
    pub responsible_id: Option<Uuid>,
    pub scenario_id: Option<Uuid>,
    pub service_type: Option<String>,
    pub title: Option<String>,
    pub potential_amount: Option<String>,
}

#[derive(Debug, Clone)]
pub enum LinkThen {
    None,
    Open,
    Task { title: String, due_at: DateTime<Utc>, assignee_id: Option<Uuid> },
}

#[derive(Debug, Clone)]
pub enum Accept {
    NewInterest(AcceptAsNew),
    Link { interest_id: Uuid, then: LinkThen },
}

#[derive(Debug, Clone)]
pub struct Accepted {
    pub lead: LeadView,
    pub interest: Option<InterestView>,
}

fn mark_processed(row: &mut LeadRow, actor: &Principal, now: DateTime<Utc>, status: &str) {
    row.status = status.to_owned();
    row.processed_by = actor_parts(Some(actor)).1;
    row.processed_at = Some(now.naive_utc());
    row.version += 1;
    row.updated_at = now.naive_utc();
}

fn must_be_new(row: &LeadRow) -> Result<(), AppError> {
    if row.status != "new" {
        return Err(AppError::conflict(None, format!("the lead is already {}", row.status)));
    }
    Ok(())
}

/// The lead's own entry on the interest's timeline, dated when it arrived so
/// that the timeline starts with it.
fn lead_on_timeline(
    conn: &mut DbConnection,
    actor: &Principal,
    interest: DbUuid,
    lead: &LeadRow,
    kind: &str,
) -> Result<(), AppError> {
    // Dated when the lead arrived: the timeline reads by `occurred_at`, so
    // the lead opens it whatever the order of writing.
    let id = crm_domain::new_id();
    let (actor_kind, actor_id) = actor_parts(Some(actor));
    sq::insert_timeline_entry(
        conn,
        &TimelineEntryRow {
            id: id.into(),
            interest_id: interest,
            kind: kind.to_owned(),
            actor_kind: actor_kind.to_owned(),
            actor_id,
            occurred_at: lead.received_at,
            summary: format!(
                "Lead by {}: {}",
                lead.channel,
                lead.subject
                    .clone()
                    .or_else(|| lead.name.clone())
                    .unwrap_or_else(|| "(no subject)".to_owned())
            ),
            payload: serde_json::json!({"lead_id": lead.id.0, "channel": lead.channel, "name": lead.name,
            "phone": lead.phone, "email": lead.email, "subject": lead.subject, "body": lead.body})
            .to_string(),
        },
    )?;
    Ok(())
}

/// Accepts a lead: into a new interest (making the client and contact if
/// asked) or onto an existing one. One transaction; a lead someone else
/// processed a moment ago is 409 and nothing changes.
pub fn accept_lead(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    how: Accept,
) -> Result<Accepted, AppError> {
    actor.require(&permissions::PROCESS_LEADS)?;
    let now = app.now();
    let fallback: Tz = app.settings().default_time_zone.tz();
    app.write(|conn| {
        let mut row = visible_lead(conn, actor, id)?;
        check_version(expected_version, row.version)?;
        must_be_new(&row)?;
        match how {
            Accept::NewInterest(a) => {
                let client_id = match a.client {
                    Party::AsMatched => row.client_id.map(Uuid::from),
                    Party::None => None,
                    Party::Existing(c) => Some(c),
                    Party::New(input) => Some(clients::create_client_in(conn, actor, input, now)?.id),
                };
                let contact_id = match a.contact {
                    Party::AsMatched => row.contact_id.map(Uuid::from),
                    Party::None => None,
                    Party::Existing(c) => Some(c),
                    Party::New(mut input) => {
                        if input.client_id.is_none() {
                            input.client_id = client_id;
                        }
                        if input.phones.is_empty() {
                            input.phones.extend(row.phone.clone());
                        }
                        if input.emails.is_empty() {
                            input.emails.extend(row.email.clone());
                        }
                        Some(crate::parties::contacts::create_contact_in(conn, actor, input, now)?.id)
                    }
                };
                let title = a.title.or_else(|| row.subject.clone()).unwrap_or_else(|| {
                    format!("Request from {}", row.name.clone().unwrap_or_else(|| row.channel.clone()))
                });
                let client_manager = match client_id {
                    Some(c) => {
                        cq::find_client(conn, c.into())?.and_then(|c| c.responsible_id).map(Uuid::from)
                    }
                    None => None,
                };
                let responsible = a.responsible_id.or(client_manager);
                let service_type = match a.service_type {
                    Some(s) => Some(s),
                    None => match actor.user() {
                        Some(u) => crm_store::queries::users::find(conn, u.id.into())?
                            .and_then(|u| u.default_service_type),
                        None => None,
                    },
                };
                let input = NewInterest {
                    id: None,
                    title: title.chars().take(200).collect(),
                    scenario_id: a.scenario_id,
                    potential_amount: a.potential_amount,
                    currency: None,
                    service_type,
                    client_id,
                    contact_id,
                    responsible_id: responsible,
                };
                let interest = interests::create_interest_in(conn, actor, input, now, fallback)?;
                lead_on_timeline(conn, actor, interest.id.into(), &row, "lead_accepted")?;
                let version = row.version;
                row.interest_id = Some(interest.id.into());
                row.client_id = client_id.map(Into::into);
                row.contact_id = contact_id.map(Into::into);
                mark_processed(&mut row, actor, now, "accepted");
                if q::update_lead(conn, &row, version)? != 1 {
                    return Err(AppError::conflict(
                        None,
                        "the lead was processed by someone else a moment ago",
                    ));
                }
                outbox::record(
                    conn,
                    now,
                    Some(actor),
                    "lead.accepted",
                    "lead",
                    id,
                    serde_json::json!({"id": id, "interest_id": interest.id}),
                )?;
                let interest = interests::interest_view_in(conn, interest.id.into(), now, fallback)?;
                Ok(Accepted { lead: view(row), interest: Some(interest) })
            }
            Accept::Link { interest_id, then } => {
                let target =
                    sq::find_interest(conn, interest_id.into())?.ok_or(AppError::NotFound("interest"))?;
                if !visibility(conn, actor)?.allows(target.responsible_id.0) {
                    return Err(AppError::NotFound("interest"));
                }
                if !matches!(target.state.as_str(), "active" | "awaiting_loss_approval") {
                    return Err(AppError::Rules(vec![Unmet::new(
                        "interest_active",
                        "a lead can only be linked to an open interest",
                    )]));
                }
                lead_on_timeline(conn, actor, target.id, &row, "lead_linked")?;
                if let LinkThen::Task { title, due_at, assignee_id } = &then {
                    let mut p = Problems::new();
                    let t = title.trim();
                    if t.is_empty() || t.chars().count() > 200 {
                        p.push("task.title", "invalid", "1 to 200 characters");
                    }
                    if *due_at < now - Duration::minutes(1) {
                        p.push("task.due_at", "in_the_past", "must be in the future");
                    }
                    p.into_result()?;
                    let assignee = match assignee_id {
                        Some(a) => policy::assignable(
                            conn,
                            Some(actor),
                            *a,
                            "task.assignee_id",
                            policy::Holding::Task,
                        )?,
                        None => actor.user().map_or(target.responsible_id, |u| u.id.into()),
                    };
                    create_task(
                        conn,
                        Some(actor),
                        now,
                        Some(target.id),
                        t,
                        "follow_up",
                        assignee,
                        *due_at,
                        None,
                    )?;
                }
                timeline(
                    conn,
                    target.id,
                    Some(actor),
                    now,
                    "updated",
                    "A new request from the client was linked",
                    serde_json::json!({"lead_id": id}),
                )?;
                let version = row.version;
                row.interest_id = Some(target.id);
                if row.client_id.is_none() {
                    row.client_id = target.client_id;
                }
                mark_processed(&mut row, actor, now, "linked");
                if q::update_lead(conn, &row, version)? != 1 {
                    return Err(AppError::conflict(
                        None,
                        "the lead was processed by someone else a moment ago",
                    ));
                }
                outbox::record(
                    conn,
                    now,
                    Some(actor),
                    "lead.linked",
                    "lead",
                    id,
                    serde_json::json!({"id": id, "interest_id": interest_id}),
                )?;
                let interest = match then {
                    LinkThen::Open => Some(interests::interest_view_in(conn, target.id, now, fallback)?),
                    _ => None,
                };
                Ok(Accepted { lead: view(row), interest })
            }
        }
    })
}

/// Rejects a lead with a reason: spam, duplicate, not our business, or other (with text).
pub fn reject_lead(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    reason: &str,
    comment: Option<String>,
) -> Result<LeadView, AppError> {
    actor.require(&permissions::PROCESS_LEADS)?;
    let mut p = Problems::new();
    if !matches!(reason, "spam" | "duplicate" | "not_our_business" | "other") {
        p.push("reason", "invalid", "use spam, duplicate, not_our_business or other");
    }
    let comment = comment.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    if reason == "other" && comment.is_none() {
        p.push("comment", "required", "say why when the reason is other");
    }
    if comment.as_ref().is_some_and(|c| c.chars().count() > 2000) {
        p.push("comment", "too_long", "at most 2000 characters");
    }
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        let mut row = visible_lead(conn, actor, id)?;
        check_version(expected_version, row.version)?;
        must_be_new(&row)?;
        let version = row.version;
        row.reject_reason = Some(reason.to_owned());
        row.reject_comment = comment.clone();
        mark_processed(&mut row, actor, now, "rejected");
        if q::update_lead(conn, &row, version)? != 1 {
            return Err(AppError::conflict(None, "the lead was processed by someone else a moment ago"));
        }
        outbox::record(
            conn,
            now,
            Some(actor),
            "lead.rejected",
            "lead",
            id,
            serde_json::json!({"id": id, "reason": reason}),
        )?;
        Ok(view(row))
    })
}
