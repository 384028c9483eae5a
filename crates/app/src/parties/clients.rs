//! Clients (Клиент): companies and people we sell to — creating, reading,
//! listing and changing them, with the duplicate check on every write.

use chrono::{DateTime, Utc};
use crm_domain::contact_data::{handle, name_key, name_tokens};
use crm_domain::events::EventType;
use crm_domain::status::ClientStatus;
use crm_domain::{Role, TaxId};
use crm_store::queries::clients as q;
use crm_store::rows::ClientRow;
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::policy;
use crate::identity::principal::Principal;
use crate::parties::duplicates::*;
use crate::parties::history::*;
use crate::platform::error::{check_version, AppError, Problems};
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::App;

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
    pub status: ClientStatus,
    pub founded_on: Option<chrono::NaiveDate>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(in crate::parties) fn client_view(
    row: ClientRow,
    points: &[crm_store::rows::ContactPointRow],
) -> ClientView {
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
        status: row.status.0,
        founded_on: row.founded_on,
        version: row.version,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    }
}

pub(crate) fn load_client_view(conn: &mut DbConnection, row: ClientRow) -> Result<ClientView, AppError> {
    let points = q::points_of(conn, "client", &[row.id])?;
    Ok(client_view(row, &points))
}

pub(in crate::parties) fn check_name(p: &mut Problems, field: &str, raw: &str) -> (String, String) {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        p.push(field, "blank", "must not be blank");
    } else if name.chars().count() > 300 {
        p.push(field, "too_long", "must be at most 300 characters");
    }
    let key = name_key(&name);
    (name, key)
}

pub(in crate::parties) fn optional_text(
    p: &mut Problems,
    field: &str,
    raw: Option<&str>,
    max: usize,
) -> Option<String> {
    let t = raw.map(str::trim).filter(|t| !t.is_empty())?;
    if t.chars().count() > max {
        p.push(field, "too_long", format!("must be at most {max} characters"));
    }
    Some(t.to_owned())
}

pub(in crate::parties) fn optional_handle(
    p: &mut Problems,
    field: &str,
    raw: Option<&str>,
) -> Option<String> {
    let raw = raw.filter(|r| !r.trim().is_empty())?;
    p.check(field, handle(raw))
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
    pub founded_on: Option<chrono::NaiveDate>,
    pub confirm_new: bool,
}

/// A founding date: not in the future. Returns it with its `MM-DD`.
fn founded(
    p: &mut Problems,
    on: Option<chrono::NaiveDate>,
    now: DateTime<Utc>,
) -> (Option<chrono::NaiveDate>, Option<String>) {
    match on {
        // Today anywhere on Earth: the caller's zone is not known here.
        Some(d) if d > (now + chrono::Duration::hours(14)).date_naive() => {
            p.push("founded_on", "in_the_future", "a client cannot have been founded after today");
            (None, None)
        }
        Some(d) => (Some(d), Some(crm_domain::YearlyDate::of(d).month_day())),
        None => (None, None),
    }
}

pub(in crate::parties) fn check_status(p: &mut Problems, raw: &str) -> ClientStatus {
    use ClientStatus::*;
    // An unreadable word is reported; the default only fills the gap until
    // `into_result` refuses the request.
    p.word("status", raw, &[Prospect, Active, Inactive], "use prospect, active or inactive")
        .unwrap_or(Prospect)
}

pub(in crate::parties) fn check_kind_and_tax(
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
    let status = check_status(&mut p, input.status.as_deref().unwrap_or(ClientStatus::Active.as_str()));
    let (founded_on, founded_md) = founded(&mut p, input.founded_on, now);
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
        status: status.into(),
        version: 1,
        created_at: now.naive_utc(),
        updated_at: now.naive_utc(),
        founded_on,
        founded_md,
    };
    q::insert_client(conn, &row)?;
    q::replace_points(conn, "client", row.id, &points)?;
    q::replace_tokens(conn, "client", row.id, &name_tokens(&key))?;
    history(conn, actor, now, ("client", row.id), &[("created", None, Some(name.clone()))])?;
    outbox::record(
        conn,
        now,
        Some(actor),
        EventType::ClientCreated,
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
        let syncs = page.syncs(filter.updated_since);
        let rows = q::list_clients(conn, &store, page.sync_query(filter.updated_since))?;
        let page = Page::from_rows(rows, page, |r| r.id.0, |r| r);
        let ids: Vec<DbUuid> = page.items.iter().map(|r| r.id).collect();
        let points = if ids.is_empty() { Vec::new() } else { q::points_of(conn, "client", &ids)? };
        Ok(Page {
            items: page.items.into_iter().map(|r| client_view(r, &points)).collect(),
            next_after: page.next_after,
            next_key: page.next_key,
        }
        .keyed(syncs, |v| (v.updated_at, v.id)))
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
    pub founded_on: Option<Option<chrono::NaiveDate>>,
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
        let status = changes.status.as_deref().map(|s| check_status(&mut p, s)).unwrap_or(row.status.0);
        let (founded_on, founded_md) = match changes.founded_on {
            Some(on) => founded(&mut p, on, now),
            None => (row.founded_on, row.founded_md.clone()),
        };
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
            ("status", Some(row.status.as_str().to_owned()), Some(status.as_str().to_owned())),
            ("founded_on", row.founded_on.map(|d| d.to_string()), founded_on.map(|d| d.to_string())),
        ];
        history(conn, actor, now, ("client", row.id), &changed)?;
        let version = row.version;
        row.name = name;
        row.name_key = key.clone();
        row.kind = kind_raw;
        row.tax_id = tax.map(|t| t.as_str().to_owned());
        row.address = address;
        row.responsible_id = responsible;
        row.status = status.into();
        row.founded_on = founded_on;
        row.founded_md = founded_md;
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
            EventType::ClientUpdated,
            "client",
            id,
            serde_json::json!({"id": id, "name": row.name, "version": row.version}),
        )?;
        load_client_view(conn, row)
    })
}
