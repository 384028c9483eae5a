//! The lead inbox: taking a lead in from any channel, reading and listing.

use chrono::{DateTime, Utc};
use crm_domain::events::EventType;
use crm_domain::status::LeadStatus;
use crm_domain::{Email, Phone};
use crm_store::queries::clients as cq;
use crm_store::queries::leads as q;
use crm_store::queries::leads::LeadFilter;
use crm_store::rows::LeadRow;
use crm_store::DbConnection;
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::policy::{self};
use crate::identity::principal::Principal;

use crate::platform::error::{AppError, Problems};
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::App;

/// Raw payloads are kept for audit up to this size.
pub const MAX_RAW_PAYLOAD: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct LeadView {
    pub id: Uuid,
    pub channel: String,
    pub source: Option<String>,
    pub external_id: Option<String>,
    pub status: LeadStatus,
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

pub(crate) fn view(r: LeadRow) -> LeadView {
    LeadView {
        id: r.id.0,
        channel: r.channel,
        source: r.source,
        external_id: r.external_id,
        status: r.status.0,
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

pub(super) fn clip(s: Option<String>, max: usize) -> Option<String> {
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
        for hit in cq::owners_of_point(conn, kind, value)? {
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
    // A lead meant for someone away goes to their deputy while the absence runs.
    let assignee = match lead.assignee_id {
        Some(meant) => {
            let takes = crate::identity::policy::stand_in(conn, meant.into())?;
            if takes.0 != meant {
                notes.push(format!("meant for user {meant}, who is away; given to their deputy"));
            }
            Some(takes)
        }
        None => None,
    };
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
        status: LeadStatus::New.into(),
        received_at: lead.received_at.unwrap_or(now).naive_utc(),
        name: clip(lead.name, 300),
        phone,
        email,
        contact_as_given: (!as_given.is_empty()).then(|| as_given.join(", ")),
        subject: clip(lead.subject, 500),
        body: clip(lead.body, 20_000),
        client_id,
        contact_id,
        assignee_id: assignee,
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
    // A racing duplicate delivery that got in first made the lead: answer with it.
    if !q::insert_lead_once(conn, &row)? {
        if let Some(ext) = &lead.external_id {
            if let Some(existing) = q::find_by_external(conn, &lead.channel, ext)? {
                return Ok((existing, false));
            }
        }
        return Err(AppError::conflict(None, "a lead with the same external id already exists"));
    }
    outbox::record(
        conn,
        now,
        actor,
        EventType::LeadReceived,
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
pub(super) fn visible_lead(
    conn: &mut DbConnection,
    actor: &Principal,
    id: Uuid,
) -> Result<LeadRow, AppError> {
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
        if LeadStatus::parse(s).is_none() {
            return Err(AppError::malformed("status", "invalid", "use new, accepted, linked or rejected"));
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
        let syncs = page.syncs(filter.updated_since);
        let rows = q::list_leads(conn, &f, page.sync_query(filter.updated_since))?;
        Ok(Page::from_rows(rows, page, |r| r.id.0, view).keyed(syncs, |v| (v.updated_at, v.id)))
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
        status: Some(LeadStatus::New.as_str().into()),
        assignee_in: users,
        include_shared: shared,
        ..Default::default()
    };
    let count = q::count_leads(conn, &f)?;
    let rows = q::list_leads(conn, &f, crm_store::queries::PageQuery::first(limit))?;
    Ok((count, rows.into_iter().map(view).collect()))
}
