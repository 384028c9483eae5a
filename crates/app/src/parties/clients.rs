//! Clients and contacts: parsed contact details, duplicate search backed by
//! indexes on the normalised values, and field-level history.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use crm_domain::contact_data::{handle, name_key, name_similarity, name_tokens};
use crm_domain::{Email, Phone, Role, TaxId};
use crm_store::queries::clients as q;
use crm_store::rows::{ClientRow, ContactRow, HistoryRow};
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::policy;
use crate::identity::principal::actor_parts;
use crate::identity::principal::Principal;
use crate::platform::error::{check_version, AppError, Problems};
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::App;

const MAX_POINTS: usize = 10;
/// Names at least this alike are reported as `similar_name`.
const SIMILAR: f64 = 0.85;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    Company,
    Person,
}

impl ClientKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Company => "company",
            ClientKind::Person => "person",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "company" => Some(ClientKind::Company),
            "person" => Some(ClientKind::Person),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ClientView {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub tax_id: Option<String>,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub address: Option<String>,
    pub responsible_id: Option<Uuid>,
    pub status: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct ContactView {
    pub id: Uuid,
    pub client_id: Option<Uuid>,
    pub name: String,
    pub position: Option<String>,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub telegram: Option<String>,
    pub vk: Option<String>,
    pub whatsapp: Option<String>,
    pub responsible_id: Option<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub use crm_domain::duplicates::{Candidate, MatchKind, MatchReason, PartyKind};

/// `ООО «Ромашка»` → `О** «Р******»`: the first letter of each word, the rest
/// starred, so a colleague can tell which record it is without learning it.
pub fn mask_name(name: &str) -> String {
    name.split(' ')
        .map(|w| {
            let mut seen_letter = false;
            w.chars()
                .map(|c| {
                    if c.is_alphanumeric() {
                        if seen_letter {
                            '*'
                        } else {
                            seen_letter = true;
                            c
                        }
                    } else {
                        c
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Candidates as this viewer may see them: records outside their view keep
/// the id, the match reasons (whose values the viewer typed themselves), the
/// responsible manager's name and a masked name; a similar name's value is
/// masked too. Nothing else of the record leaves.
fn conceal(
    conn: &mut DbConnection,
    actor: &Principal,
    candidates: Vec<Candidate>,
) -> Result<Vec<Candidate>, AppError> {
    let vis = policy::clients(conn, actor)?;
    // A contact of a client is seen as its client is (as GET /contacts/{id} judges).
    let owners: Vec<DbUuid> = candidates.iter().filter_map(|c| c.client_id.map(Into::into)).collect();
    let owner_responsible: HashMap<Uuid, Option<DbUuid>> = if owners.is_empty() {
        HashMap::new()
    } else {
        q::find_clients(conn, &owners)?.into_iter().map(|c| (c.id.0, c.responsible_id)).collect()
    };
    let people: Vec<DbUuid> = candidates.iter().filter_map(|c| c.responsible_id.map(Into::into)).collect();
    let names: HashMap<Uuid, String> = if people.is_empty() {
        HashMap::new()
    } else {
        crm_store::queries::users::find_many(conn, &people)?.into_iter().map(|u| (u.id.0, u.name)).collect()
    };
    Ok(candidates
        .into_iter()
        .map(|mut c| {
            c.responsible_name = c.responsible_id.and_then(|r| names.get(&r).cloned());
            let judged_by = match c.client_id {
                Some(owner) => owner_responsible.get(&owner).copied().flatten(),
                None => c.responsible_id.map(Into::into),
            };
            c.visible = policy::sees(&vis, judged_by);
            if !c.visible {
                c.name = mask_name(&c.name);
                for r in &mut c.reasons {
                    if r.reason == MatchKind::SimilarName {
                        r.value = mask_name(&r.value);
                    }
                }
            }
            c
        })
        .collect())
}

fn client_view(row: ClientRow, points: &[crm_store::rows::ContactPointRow]) -> ClientView {
    let mine = |kind: &str| {
        points.iter().filter(|p| p.owner_id == row.id && p.kind == kind).map(|p| p.value.clone()).collect()
    };
    ClientView {
        phones: mine("phone"),
        emails: mine("email"),
        id: row.id.0,
        name: row.name,
        kind: row.kind,
        tax_id: row.tax_id,
        address: row.address,
        responsible_id: row.responsible_id.map(Into::into),
        status: row.status,
        version: row.version,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    }
}

fn contact_view(row: ContactRow, points: &[crm_store::rows::ContactPointRow]) -> ContactView {
    let mine = |kind: &str| {
        points.iter().filter(|p| p.owner_id == row.id && p.kind == kind).map(|p| p.value.clone()).collect()
    };
    ContactView {
        phones: mine("phone"),
        emails: mine("email"),
        id: row.id.0,
        client_id: row.client_id.map(Into::into),
        name: row.name,
        position: row.position,
        telegram: row.telegram,
        vk: row.vk,
        whatsapp: row.whatsapp,
        responsible_id: row.responsible_id.map(Into::into),
        version: row.version,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    }
}

pub(crate) fn load_client_view(conn: &mut DbConnection, row: ClientRow) -> Result<ClientView, AppError> {
    let points = q::points_of(conn, "client", &[row.id])?;
    Ok(client_view(row, &points))
}

pub(crate) fn load_contact_view(conn: &mut DbConnection, row: ContactRow) -> Result<ContactView, AppError> {
    let points = q::points_of(conn, "contact", &[row.id])?;
    Ok(contact_view(row, &points))
}

/// Parsed phones and e-mails, every bad one reported by its index.
pub(crate) fn parse_points(p: &mut Problems, phones: &[String], emails: &[String]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    if phones.len() > MAX_POINTS {
        p.push("phones", "too_many", format!("at most {MAX_POINTS}"));
    }
    if emails.len() > MAX_POINTS {
        p.push("emails", "too_many", format!("at most {MAX_POINTS}"));
    }
    for (i, raw) in phones.iter().enumerate() {
        if let Some(phone) = p.check(&format!("phones[{i}]"), Phone::parse(raw)) {
            let v = ("phone".to_owned(), phone.as_str().to_owned());
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    for (i, raw) in emails.iter().enumerate() {
        if let Some(email) = p.check(&format!("emails[{i}]"), Email::parse(raw)) {
            let v = ("email".to_owned(), email.as_str().to_owned());
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

fn check_name(p: &mut Problems, field: &str, raw: &str) -> (String, String) {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        p.push(field, "blank", "must not be blank");
    } else if name.chars().count() > 300 {
        p.push(field, "too_long", "must be at most 300 characters");
    }
    let key = name_key(&name);
    (name, key)
}

fn optional_text(p: &mut Problems, field: &str, raw: Option<&str>, max: usize) -> Option<String> {
    let t = raw.map(str::trim).filter(|t| !t.is_empty())?;
    if t.chars().count() > max {
        p.push(field, "too_long", format!("must be at most {max} characters"));
    }
    Some(t.to_owned())
}

fn optional_handle(p: &mut Problems, field: &str, raw: Option<&str>) -> Option<String> {
    let raw = raw.filter(|r| !r.trim().is_empty())?;
    p.check(field, handle(raw))
}

/// Candidates that share a phone, e-mail or tax id, or have a similar name.
/// Every lookup goes through an index on the normalised value.
pub(crate) fn find_candidates(
    conn: &mut DbConnection,
    actor: &Principal,
    name: Option<&str>,
    points: &[(String, String)],
    tax_id: Option<&str>,
    exclude: Option<Uuid>,
) -> Result<Vec<Candidate>, AppError> {
    let found = find_candidates_unmasked(conn, name, points, tax_id, exclude)?;
    conceal(conn, actor, found)
}

/// A stored owner kind; anything else is a corrupt row, not a guess.
fn owner_kind(raw: &str) -> Result<PartyKind, AppError> {
    PartyKind::parse(raw).ok_or_else(|| AppError::internal(format!("contact point owner kind {raw:?}")))
}

fn find_candidates_unmasked(
    conn: &mut DbConnection,
    name: Option<&str>,
    points: &[(String, String)],
    tax_id: Option<&str>,
    exclude: Option<Uuid>,
) -> Result<Vec<Candidate>, AppError> {
    let mut reasons: HashMap<(PartyKind, DbUuid), Vec<MatchReason>> = HashMap::new();
    for kind in ["phone", "email"] {
        let values: Vec<String> = points.iter().filter(|(k, _)| k == kind).map(|(_, v)| v.clone()).collect();
        if values.is_empty() {
            continue;
        }
        for hit in q::owners_of_points(conn, kind, &values)? {
            let owner = owner_kind(&hit.owner_kind)?;
            let reason = if kind == "phone" { MatchKind::SamePhone } else { MatchKind::SameEmail };
            reasons.entry((owner, hit.owner_id)).or_default().push(MatchReason {
                reason,
                value: hit.value,
                score: None,
            });
        }
    }
    if let Some(tax) = tax_id {
        for c in q::clients_by_tax_id(conn, tax)? {
            reasons.entry((PartyKind::Client, c.id)).or_default().push(MatchReason {
                reason: MatchKind::SameTaxId,
                value: tax.to_owned(),
                score: None,
            });
        }
    }
    let key = name.map(name_key).unwrap_or_default();
    let tokens = name_tokens(&key);
    let mut named: Vec<(PartyKind, DbUuid)> = Vec::new();
    if !tokens.is_empty() {
        for t in q::owners_of_tokens(conn, &tokens, 500)? {
            named.push((owner_kind(&t.owner_kind)?, t.owner_id));
        }
    }
    let client_ids: Vec<DbUuid> = reasons
        .keys()
        .chain(named.iter())
        .filter(|(k, _)| *k == PartyKind::Client)
        .map(|(_, id)| *id)
        .collect();
    let contact_ids: Vec<DbUuid> = reasons
        .keys()
        .chain(named.iter())
        .filter(|(k, _)| *k == PartyKind::Contact)
        .map(|(_, id)| *id)
        .collect();
    let clients: HashMap<DbUuid, ClientRow> =
        q::find_clients(conn, &client_ids)?.into_iter().map(|c| (c.id, c)).collect();
    let contacts: HashMap<DbUuid, ContactRow> =
        q::find_contacts(conn, &contact_ids)?.into_iter().map(|c| (c.id, c)).collect();
    for owner in named {
        let other_key = match owner.0 {
            PartyKind::Client => clients.get(&owner.1).map(|c| c.name_key.as_str()),
            PartyKind::Contact => contacts.get(&owner.1).map(|c| c.name_key.as_str()),
        };
        let Some(other_key) = other_key else { continue };
        let score = name_similarity(&key, other_key);
        if score >= SIMILAR {
            let entry = reasons.entry(owner).or_default();
            if !entry.iter().any(|r| r.reason == MatchKind::SimilarName) {
                entry.push(MatchReason {
                    reason: MatchKind::SimilarName,
                    value: other_key.to_owned(),
                    score: Some((score * 100.0).round() / 100.0),
                });
            }
        }
    }
    let mut out: Vec<Candidate> = reasons
        .into_iter()
        .filter(|((_, id), _)| Some(id.0) != exclude)
        .filter_map(|((kind, id), reasons)| {
            let score: f64 = reasons
                .iter()
                .map(|r| match r.reason {
                    MatchKind::SameTaxId => 1.0,
                    MatchKind::SamePhone | MatchKind::SameEmail => 0.9,
                    MatchKind::SimilarName => 0.6 * r.score.unwrap_or(0.0),
                })
                .sum();
            match kind {
                PartyKind::Client => clients.get(&id).map(|c| Candidate {
                    kind,
                    id: id.0,
                    name: c.name.clone(),
                    client_id: None,
                    responsible_id: c.responsible_id.map(Into::into),
                    responsible_name: None,
                    visible: false,
                    reasons,
                    score,
                }),
                PartyKind::Contact => contacts.get(&id).map(|c| Candidate {
                    kind,
                    id: id.0,
                    name: c.name.clone(),
                    client_id: c.client_id.map(Into::into),
                    responsible_id: c.responsible_id.map(Into::into),
                    responsible_name: None,
                    visible: false,
                    reasons,
                    score,
                }),
            }
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.name.cmp(&b.name)));
    out.truncate(20);
    Ok(out)
}

/// Only exact matches (phone, e-mail, tax id) block a create; similar names are advice.
fn blocking(candidates: Vec<Candidate>) -> Vec<Candidate> {
    candidates.into_iter().filter(|c| c.reasons.iter().any(|r| r.reason != MatchKind::SimilarName)).collect()
}

/// A contact may share its own client's (or a colleague's) office phone or e-mail.
fn outside_client(candidates: Vec<Candidate>, client: Option<Uuid>) -> Vec<Candidate> {
    match client {
        None => candidates,
        Some(client) => {
            candidates.into_iter().filter(|c| c.id != client && c.client_id != Some(client)).collect()
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct DuplicateQuery {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub tax_id: Option<String>,
}

/// Looks for clients and contacts that match any of the given details.
pub fn search_duplicates(
    app: &App,
    actor: &Principal,
    query: DuplicateQuery,
) -> Result<Vec<Candidate>, AppError> {
    actor.require(&permissions::READ_CLIENTS)?;
    let mut p = Problems::new();
    if query.name.is_none() && query.phone.is_none() && query.email.is_none() && query.tax_id.is_none() {
        p.push("name", "required", "give at least one of name, phone, email, tax_id");
    }
    let phones: Vec<String> = query.phone.iter().cloned().collect();
    let emails: Vec<String> = query.email.iter().cloned().collect();
    let mut points = parse_points(&mut p, &phones, &emails);
    let tax = query.tax_id.as_deref().and_then(|t| p.check("tax_id", TaxId::parse(t)));
    // Report the request's own field names, not the list positions used inside.
    p.into_result().map_err(|e| match e {
        AppError::Validation(mut fields) => {
            for f in &mut fields {
                f.field = f.field.replace("phones[0]", "phone").replace("emails[0]", "email");
            }
            AppError::Validation(fields)
        }
        other => other,
    })?;
    points.dedup();
    app.read(|conn| {
        find_candidates(conn, actor, query.name.as_deref(), &points, tax.as_ref().map(TaxId::as_str), None)
    })
}

fn history(
    conn: &mut DbConnection,
    actor: &Principal,
    now: DateTime<Utc>,
    entity: (&str, DbUuid),
    changes: &[(&str, Option<String>, Option<String>)],
) -> Result<(), AppError> {
    let (actor_kind, actor_id) = actor_parts(Some(actor));
    for (field, old, new) in changes {
        if old == new {
            continue;
        }
        q::insert_history(
            conn,
            &HistoryRow {
                id: crm_domain::new_id().into(),
                entity_type: entity.0.to_owned(),
                entity_id: entity.1,
                field: (*field).to_owned(),
                old_value: old.clone(),
                new_value: new.clone(),
                actor_kind: actor_kind.to_owned(),
                actor_id,
                changed_at: now.naive_utc(),
            },
        )?;
    }
    Ok(())
}

fn joined(points: &[(String, String)], kind: &str) -> Option<String> {
    let v: Vec<&str> = points.iter().filter(|(k, _)| k == kind).map(|(_, v)| v.as_str()).collect();
    (!v.is_empty()).then(|| v.join(", "))
}

#[derive(Debug, Clone, Default)]
pub struct ClientInput {
    pub id: Option<Uuid>,
    pub name: String,
    pub kind: String,
    pub tax_id: Option<String>,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub address: Option<String>,
    pub responsible_id: Option<Uuid>,
    pub status: Option<String>,
    pub confirm_new: bool,
}

fn check_status(p: &mut Problems, raw: &str) -> String {
    if !matches!(raw, "prospect" | "active" | "inactive") {
        p.push("status", "invalid", "use prospect, active or inactive");
    }
    raw.to_owned()
}

fn check_kind_and_tax(
    p: &mut Problems,
    kind: &str,
    tax: Option<&str>,
) -> (Option<ClientKind>, Option<TaxId>) {
    let k = ClientKind::parse(kind);
    if k.is_none() {
        p.push("kind", "invalid", "use company or person");
    }
    let t = tax.filter(|t| !t.trim().is_empty()).and_then(|t| p.check("tax_id", TaxId::parse(t)));
    if let (Some(k), Some(t)) = (k, &t) {
        if (k == ClientKind::Company) != t.is_organisation() {
            p.push("tax_id", "kind_mismatch", "companies have a 10-digit ИНН, people a 12-digit one");
        }
    }
    (k, t)
}

/// Creates a client. Matching an existing client or contact by phone, e-mail
/// or tax id is 409 with the candidates unless `confirm_new` is set.
pub fn create_client(app: &App, actor: &Principal, input: ClientInput) -> Result<ClientView, AppError> {
    let now = app.now();
    app.write(|conn| create_client_in(conn, actor, input, now))
}

/// [`create_client`] inside the caller's transaction (used when one use case makes several records).
pub(crate) fn create_client_in(
    conn: &mut DbConnection,
    actor: &Principal,
    input: ClientInput,
    now: DateTime<Utc>,
) -> Result<ClientView, AppError> {
    actor.require(&permissions::WRITE_CLIENTS)?;
    let mut p = Problems::new();
    let (name, key) = check_name(&mut p, "name", &input.name);
    let (kind, tax) = check_kind_and_tax(&mut p, &input.kind, input.tax_id.as_deref());
    let points = parse_points(&mut p, &input.phones, &input.emails);
    let address = optional_text(&mut p, "address", input.address.as_deref(), 500);
    let status = check_status(&mut p, input.status.as_deref().unwrap_or("active"));
    p.into_result()?;
    let kind = kind.ok_or_else(|| AppError::internal("validated kind missing"))?;
    let id = input.id.unwrap_or_else(crm_domain::new_id);
    let vis = policy::clients(conn, actor)?;
    let responsible = match (input.responsible_id, actor) {
        (Some(r), _) => {
            if let Principal::User(u) = actor {
                if u.role == Role::Manager && u.id != r || !vis.allows(r) {
                    return Err(AppError::Forbidden("you may not make that user responsible".to_owned()));
                }
            }
            Some(policy::assignable(conn, Some(actor), r, "responsible", policy::Holding::Sales)?)
        }
        (None, Principal::User(u)) => Some(u.id.into()),
        (None, Principal::ApiKey(_)) => None,
    };
    if q::find_client(conn, id.into())?.is_some() {
        return Err(AppError::conflict(Some("id"), format!("a client with id {id} already exists")));
    }
    if !input.confirm_new {
        let found = blocking(find_candidates(
            conn,
            actor,
            Some(&name),
            &points,
            tax.as_ref().map(TaxId::as_str),
            None,
        )?);
        if !found.is_empty() {
            return Err(AppError::Duplicates(found));
        }
    }
    let row = ClientRow {
        id: id.into(),
        name: name.clone(),
        name_key: key.clone(),
        kind: kind.as_str().to_owned(),
        tax_id: tax.as_ref().map(|t| t.as_str().to_owned()),
        address,
        responsible_id: responsible,
        status,
        version: 1,
        created_at: now.naive_utc(),
        updated_at: now.naive_utc(),
    };
    q::insert_client(conn, &row)?;
    q::replace_points(conn, "client", row.id, &points)?;
    q::replace_tokens(conn, "client", row.id, &name_tokens(&key))?;
    history(conn, actor, now, ("client", row.id), &[("created", None, Some(name.clone()))])?;
    outbox::record(
        conn,
        now,
        Some(actor),
        "client.created",
        "client",
        id,
        serde_json::json!({"id": id, "name": name}),
    )?;
    load_client_view(conn, row)
}

pub(crate) fn visible_client(
    conn: &mut DbConnection,
    actor: &Principal,
    id: Uuid,
) -> Result<ClientRow, AppError> {
    let row = q::find_client(conn, id.into())?.ok_or(AppError::NotFound("client"))?;
    let vis = policy::clients(conn, actor)?;
    if !policy::sees(&vis, row.responsible_id) {
        return Err(AppError::NotFound("client"));
    }
    Ok(row)
}

pub fn get_client(app: &App, actor: &Principal, id: Uuid) -> Result<ClientView, AppError> {
    actor.require(&permissions::READ_CLIENTS)?;
    app.read(|conn| {
        let row = visible_client(conn, actor, id)?;
        load_client_view(conn, row)
    })
}

/// Whether the actor may see this client (used by interests and leads).
pub(crate) fn client_visible(conn: &mut DbConnection, actor: &Principal, id: Uuid) -> Result<bool, AppError> {
    Ok(visible_client(conn, actor, id).is_ok())
}

#[derive(Debug, Clone, Default)]
pub struct ClientListFilter {
    pub kind: Option<String>,
    pub status: Option<String>,
    pub updated_since: Option<DateTime<Utc>>,
}

pub fn list_clients(
    app: &App,
    actor: &Principal,
    filter: ClientListFilter,
    page: PageRequest,
) -> Result<Page<ClientView>, AppError> {
    actor.require(&permissions::READ_CLIENTS)?;
    app.read(|conn| {
        let vis = policy::clients(conn, actor)?;
        let store = q::ClientFilter {
            responsible_in: vis.filter(),
            kind: filter.kind.clone(),
            status: filter.status.clone(),
            updated_since: filter.updated_since.map(|t| t.naive_utc()),
        };
        let rows = q::list_clients(conn, &store, page.query())?;
        let page = Page::from_rows(rows, page, |r| r.id.0, |r| r);
        let ids: Vec<DbUuid> = page.items.iter().map(|r| r.id).collect();
        let points = if ids.is_empty() { Vec::new() } else { q::points_of(conn, "client", &ids)? };
        Ok(Page {
            items: page.items.into_iter().map(|r| client_view(r, &points)).collect(),
            next_after: page.next_after,
        })
    })
}

#[derive(Debug, Clone, Default)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub tax_id: Option<Option<String>>,
    pub phones: Option<Vec<String>>,
    pub emails: Option<Vec<String>>,
    pub address: Option<Option<String>>,
    pub responsible_id: Option<Uuid>,
    pub status: Option<String>,
    pub confirm_new: bool,
}

pub fn update_client(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    changes: ClientChanges,
) -> Result<ClientView, AppError> {
    actor.require(&permissions::WRITE_CLIENTS)?;
    let now = app.now();
    app.write(|conn| {
        let mut row = visible_client(conn, actor, id)?;
        check_version(expected_version, row.version)?;
        let old_points: Vec<(String, String)> =
            q::points_of(conn, "client", &[row.id])?.into_iter().map(|p| (p.kind, p.value)).collect();
        let mut p = Problems::new();
        let (name, key) = match &changes.name {
            Some(n) => check_name(&mut p, "name", n),
            None => (row.name.clone(), row.name_key.clone()),
        };
        let kind_raw = changes.kind.clone().unwrap_or_else(|| row.kind.clone());
        let tax_raw = match &changes.tax_id {
            Some(t) => t.clone(),
            None => row.tax_id.clone(),
        };
        let (_, tax) = check_kind_and_tax(&mut p, &kind_raw, tax_raw.as_deref());
        let phones: Vec<String> = changes.phones.clone().unwrap_or_else(|| {
            old_points.iter().filter(|(k, _)| k == "phone").map(|(_, v)| v.clone()).collect()
        });
        let emails: Vec<String> = changes.emails.clone().unwrap_or_else(|| {
            old_points.iter().filter(|(k, _)| k == "email").map(|(_, v)| v.clone()).collect()
        });
        let points = parse_points(&mut p, &phones, &emails);
        let address = match &changes.address {
            Some(a) => optional_text(&mut p, "address", a.as_deref(), 500),
            None => row.address.clone(),
        };
        let status =
            changes.status.as_deref().map(|s| check_status(&mut p, s)).unwrap_or_else(|| row.status.clone());
        p.into_result()?;

        let new_points: Vec<(String, String)> =
            points.iter().filter(|pt| !old_points.contains(pt)).cloned().collect();
        let new_tax = tax.as_ref().map(TaxId::as_str).filter(|t| row.tax_id.as_deref() != Some(*t));
        if !changes.confirm_new && (!new_points.is_empty() || new_tax.is_some()) {
            let found = blocking(find_candidates(conn, actor, None, &new_points, new_tax, Some(id))?);
            if !found.is_empty() {
                return Err(AppError::Duplicates(found));
            }
        }
        let mut responsible = row.responsible_id;
        if let Some(r) = changes.responsible_id {
            if Some(r) != row.responsible_id.map(Uuid::from) {
                let allowed = match actor {
                    Principal::User(u) => matches!(u.role, Role::Head | Role::Admin | Role::Integration),
                    Principal::ApiKey(_) => true,
                };
                if !allowed {
                    return Err(AppError::Forbidden(
                        "only a head or an admin may hand a client to someone else".to_owned(),
                    ));
                }
                responsible =
                    Some(policy::assignable(conn, Some(actor), r, "responsible", policy::Holding::Sales)?);
            }
        }
        let fmt = |v: Option<DbUuid>| v.map(|u| u.0.to_string());
        let changed = [
            ("name", Some(row.name.clone()), Some(name.clone())),
            ("kind", Some(row.kind.clone()), Some(kind_raw.clone())),
            ("tax_id", row.tax_id.clone(), tax.as_ref().map(|t| t.as_str().to_owned())),
            ("phones", joined(&old_points, "phone"), joined(&points, "phone")),
            ("emails", joined(&old_points, "email"), joined(&points, "email")),
            ("address", row.address.clone(), address.clone()),
            ("responsible_id", fmt(row.responsible_id), fmt(responsible)),
            ("status", Some(row.status.clone()), Some(status.clone())),
        ];
        history(conn, actor, now, ("client", row.id), &changed)?;
        let version = row.version;
        row.name = name;
        row.name_key = key.clone();
        row.kind = kind_raw;
        row.tax_id = tax.map(|t| t.as_str().to_owned());
        row.address = address;
        row.responsible_id = responsible;
        row.status = status;
        row.version += 1;
        row.updated_at = now.naive_utc();
        if q::update_client(conn, &row, version)? != 1 {
            return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
        }
        q::replace_points(conn, "client", row.id, &points)?;
        q::replace_tokens(conn, "client", row.id, &name_tokens(&key))?;
        outbox::record(
            conn,
            now,
            Some(actor),
            "client.updated",
            "client",
            id,
            serde_json::json!({"id": id, "name": row.name, "version": row.version}),
        )?;
        load_client_view(conn, row)
    })
}

#[derive(Debug, Clone, Default)]
pub struct ContactInput {
    pub id: Option<Uuid>,
    pub client_id: Option<Uuid>,
    pub name: String,
    pub position: Option<String>,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub telegram: Option<String>,
    pub vk: Option<String>,
    pub whatsapp: Option<String>,
    pub confirm_new: bool,
}

/// Creates a contact, of a client or standing alone until a client is made.
pub fn create_contact(app: &App, actor: &Principal, input: ContactInput) -> Result<ContactView, AppError> {
    let now = app.now();
    app.write(|conn| create_contact_in(conn, actor, input, now))
}

/// [`create_contact`] inside the caller's transaction (used when one use case makes several records).
pub(crate) fn create_contact_in(
    conn: &mut DbConnection,
    actor: &Principal,
    input: ContactInput,
    now: DateTime<Utc>,
) -> Result<ContactView, AppError> {
    actor.require(&permissions::WRITE_CLIENTS)?;
    let mut p = Problems::new();
    let (name, key) = check_name(&mut p, "name", &input.name);
    let position = optional_text(&mut p, "position", input.position.as_deref(), 200);
    let points = parse_points(&mut p, &input.phones, &input.emails);
    let telegram = optional_handle(&mut p, "telegram", input.telegram.as_deref());
    let vk = optional_handle(&mut p, "vk", input.vk.as_deref());
    let whatsapp = match input.whatsapp.as_deref().filter(|w| !w.trim().is_empty()) {
        Some(w) => p.check("whatsapp", Phone::parse(w)).map(|ph| ph.as_str().to_owned()),
        None => None,
    };
    p.into_result()?;
    let id = input.id.unwrap_or_else(crm_domain::new_id);
    if let Some(client) = input.client_id {
        visible_client(conn, actor, client)?;
    }
    if q::find_contact(conn, id.into())?.is_some() {
        return Err(AppError::conflict(Some("id"), format!("a contact with id {id} already exists")));
    }
    if !input.confirm_new {
        let found = outside_client(
            blocking(find_candidates(conn, actor, None, &points, None, None)?),
            input.client_id,
        );
        if !found.is_empty() {
            return Err(AppError::Duplicates(found));
        }
    }
    let row = ContactRow {
        id: id.into(),
        client_id: input.client_id.map(Into::into),
        name: name.clone(),
        name_key: key.clone(),
        position,
        telegram,
        vk,
        whatsapp,
        responsible_id: actor.user().map(|u| u.id.into()),
        version: 1,
        created_at: now.naive_utc(),
        updated_at: now.naive_utc(),
    };
    q::insert_contact(conn, &row)?;
    q::replace_points(conn, "contact", row.id, &points)?;
    q::replace_tokens(conn, "contact", row.id, &name_tokens(&key))?;
    history(conn, actor, now, ("contact", row.id), &[("created", None, Some(name.clone()))])?;
    outbox::record(
        conn,
        now,
        Some(actor),
        "contact.created",
        "contact",
        id,
        serde_json::json!({"id": id, "name": name, "client_id": input.client_id}),
    )?;
    load_contact_view(conn, row)
}

/// A contact is visible with its client, or, standing alone, to whoever
/// sees the person who entered it.
fn visible_contact(conn: &mut DbConnection, actor: &Principal, id: Uuid) -> Result<ContactRow, AppError> {
    let row = q::find_contact(conn, id.into())?.ok_or(AppError::NotFound("contact"))?;
    let ok = match row.client_id {
        Some(c) => client_visible(conn, actor, c.0)?,
        None => policy::sees(&policy::clients(conn, actor)?, row.responsible_id),
    };
    if !ok {
        return Err(AppError::NotFound("contact"));
    }
    Ok(row)
}

pub(crate) fn contact_visible(
    conn: &mut DbConnection,
    actor: &Principal,
    id: Uuid,
) -> Result<bool, AppError> {
    Ok(visible_contact(conn, actor, id).is_ok())
}

pub fn get_contact(app: &App, actor: &Principal, id: Uuid) -> Result<ContactView, AppError> {
    actor.require(&permissions::READ_CLIENTS)?;
    app.read(|conn| {
        let row = visible_contact(conn, actor, id)?;
        load_contact_view(conn, row)
    })
}

pub fn list_client_contacts(
    app: &App,
    actor: &Principal,
    client: Uuid,
    page: PageRequest,
) -> Result<Page<ContactView>, AppError> {
    actor.require(&permissions::READ_CLIENTS)?;
    app.read(|conn| {
        visible_client(conn, actor, client)?;
        let rows = q::contacts_of_client(conn, client.into(), page.query())?;
        let page = Page::from_rows(rows, page, |r| r.id.0, |r| r);
        let ids: Vec<DbUuid> = page.items.iter().map(|r| r.id).collect();
        let points = if ids.is_empty() { Vec::new() } else { q::points_of(conn, "contact", &ids)? };
        Ok(Page {
            items: page.items.into_iter().map(|r| contact_view(r, &points)).collect(),
            next_after: page.next_after,
        })
    })
}

#[derive(Debug, Clone, Default)]
pub struct ContactChanges {
    pub client_id: Option<Option<Uuid>>,
    pub name: Option<String>,
    pub position: Option<Option<String>>,
    pub phones: Option<Vec<String>>,
    pub emails: Option<Vec<String>>,
    pub telegram: Option<Option<String>>,
    pub vk: Option<Option<String>>,
    pub whatsapp: Option<Option<String>>,
    pub confirm_new: bool,
}

pub fn update_contact(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    changes: ContactChanges,
) -> Result<ContactView, AppError> {
    actor.require(&permissions::WRITE_CLIENTS)?;
    let now = app.now();
    app.write(|conn| {
        let mut row = visible_contact(conn, actor, id)?;
        check_version(expected_version, row.version)?;
        let old_points: Vec<(String, String)> =
            q::points_of(conn, "contact", &[row.id])?.into_iter().map(|p| (p.kind, p.value)).collect();
        let mut p = Problems::new();
        let (name, key) = match &changes.name {
            Some(n) => check_name(&mut p, "name", n),
            None => (row.name.clone(), row.name_key.clone()),
        };
        let position = match &changes.position {
            Some(v) => optional_text(&mut p, "position", v.as_deref(), 200),
            None => row.position.clone(),
        };
        let telegram = match &changes.telegram {
            Some(v) => optional_handle(&mut p, "telegram", v.as_deref()),
            None => row.telegram.clone(),
        };
        let vk = match &changes.vk {
            Some(v) => optional_handle(&mut p, "vk", v.as_deref()),
            None => row.vk.clone(),
        };
        let whatsapp = match &changes.whatsapp {
            Some(Some(w)) if !w.trim().is_empty() => {
                p.check("whatsapp", Phone::parse(w)).map(|ph| ph.as_str().to_owned())
            }
            Some(_) => None,
            None => row.whatsapp.clone(),
        };
        let phones = changes.phones.clone().unwrap_or_else(|| {
            old_points.iter().filter(|(k, _)| k == "phone").map(|(_, v)| v.clone()).collect()
        });
        let emails = changes.emails.clone().unwrap_or_else(|| {
            old_points.iter().filter(|(k, _)| k == "email").map(|(_, v)| v.clone()).collect()
        });
        let points = parse_points(&mut p, &phones, &emails);
        p.into_result()?;
        let client_id = match changes.client_id {
            Some(Some(c)) => {
                visible_client(conn, actor, c)?;
                Some(DbUuid::from(c))
            }
            Some(None) => None,
            None => row.client_id,
        };
        let new_points: Vec<(String, String)> =
            points.iter().filter(|pt| !old_points.contains(pt)).cloned().collect();
        if !changes.confirm_new && !new_points.is_empty() {
            let found = outside_client(
                blocking(find_candidates(conn, actor, None, &new_points, None, Some(id))?),
                client_id.map(Uuid::from),
            );
            if !found.is_empty() {
                return Err(AppError::Duplicates(found));
            }
        }
        let fmt = |v: Option<DbUuid>| v.map(|u| u.0.to_string());
        let changed = [
            ("client_id", fmt(row.client_id), fmt(client_id)),
            ("name", Some(row.name.clone()), Some(name.clone())),
            ("position", row.position.clone(), position.clone()),
            ("phones", joined(&old_points, "phone"), joined(&points, "phone")),
            ("emails", joined(&old_points, "email"), joined(&points, "email")),
            ("telegram", row.telegram.clone(), telegram.clone()),
            ("vk", row.vk.clone(), vk.clone()),
            ("whatsapp", row.whatsapp.clone(), whatsapp.clone()),
        ];
        history(conn, actor, now, ("contact", row.id), &changed)?;
        let version = row.version;
        row.client_id = client_id;
        row.name = name;
        row.name_key = key.clone();
        row.position = position;
        row.telegram = telegram;
        row.vk = vk;
        row.whatsapp = whatsapp;
        row.version += 1;
        row.updated_at = now.naive_utc();
        if q::update_contact(conn, &row, version)? != 1 {
            return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
        }
        q::replace_points(conn, "contact", row.id, &points)?;
        q::replace_tokens(conn, "contact", row.id, &name_tokens(&key))?;
        outbox::record(
            conn,
            now,
            Some(actor),
            "contact.updated",
            "contact",
            id,
            serde_json::json!({"id": id, "version": row.version}),
        )?;
        load_contact_view(conn, row)
    })
}

#[derive(Debug, Clone)]
pub struct HistoryView {
    pub id: Uuid,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub changed_at: DateTime<Utc>,
}

/// Who changed which field of a client or contact, from what to what, when; newest first.
pub fn entity_history(
    app: &App,
    actor: &Principal,
    entity_type: &str,
    id: Uuid,
    page: PageRequest,
) -> Result<Page<HistoryView>, AppError> {
    actor.require(&permissions::READ_CLIENTS)?;
    app.read(|conn| {
        match entity_type {
            "client" => {
                visible_client(conn, actor, id)?;
            }
            _ => {
                visible_contact(conn, actor, id)?;
            }
        }
        let rows = q::list_history(
            conn,
            entity_type,
            id.into(),
            page.after.map(Into::into),
            i64::from(page.limit) + 1,
        )?;
        Ok(Page::from_rows(
            rows,
            page,
            |r| r.id.0,
            |r| HistoryView {
                id: r.id.0,
                field: r.field,
                old_value: r.old_value,
                new_value: r.new_value,
                actor_kind: r.actor_kind,
                actor_id: r.actor_id.map(Into::into),
                changed_at: r.changed_at.and_utc(),
            },
        ))
    })
}
