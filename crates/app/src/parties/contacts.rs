//! Contact persons (Контактное лицо), of a client or on their own.

use chrono::{DateTime, Utc};
use crm_domain::contact_data::name_tokens;
use crm_domain::events::EventType;
use crm_domain::Phone;
use crm_store::queries::clients as q;
use crm_store::rows::ContactRow;
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::policy;
use crate::identity::principal::Principal;
use crate::parties::clients::*;
use crate::parties::duplicates::*;
use crate::parties::history::*;
use crate::platform::error::{check_version, AppError, Problems};
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::App;

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
    /// `YYYY-MM-DD`, or `--MM-DD` when the year is not known.
    pub birthday: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(in crate::parties) fn contact_view(
    row: ContactRow,
    points: &[crm_store::rows::ContactPointRow],
) -> ContactView {
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
        birthday: row.birthday,
        version: row.version,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    }
}

pub(crate) fn load_contact_view(conn: &mut DbConnection, row: ContactRow) -> Result<ContactView, AppError> {
    let points = q::points_of(conn, "contact", &[row.id])?;
    Ok(contact_view(row, &points))
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
    pub birthday: Option<String>,
    pub confirm_new: bool,
}

/// A birthday as given, checked: the stored text and its `MM-DD`.
fn birthday(p: &mut Problems, raw: Option<&str>) -> (Option<String>, Option<String>) {
    match raw.filter(|b| !b.trim().is_empty()) {
        Some(b) => match p.check("birthday", crm_domain::YearlyDate::parse(b)) {
            Some(d) => (Some(d.to_string()), Some(d.month_day())),
            None => (None, None),
        },
        None => (None, None),
    }
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
    let (birthday, birthday_md) = birthday(&mut p, input.birthday.as_deref());
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
        birthday,
        birthday_md,
    };
    q::insert_contact(conn, &row)?;
    q::replace_points(conn, "contact", row.id, &points)?;
    q::replace_tokens(conn, "contact", row.id, &name_tokens(&key))?;
    history(conn, actor, now, ("contact", row.id), &[("created", None, Some(name.clone()))])?;
    outbox::record(
        conn,
        now,
        Some(actor),
        EventType::ContactCreated,
        "contact",
        id,
        serde_json::json!({"id": id, "name": name, "client_id": input.client_id}),
    )?;
    load_contact_view(conn, row)
}

/// A contact is visible with its client, or, standing alone, to whoever
/// sees the person who entered it.
pub(in crate::parties) fn visible_contact(
    conn: &mut DbConnection,
    actor: &Principal,
    id: Uuid,
) -> Result<ContactRow, AppError> {
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
            next_key: page.next_key,
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
    pub birthday: Option<Option<String>>,
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
        let (birthday, birthday_md) = match &changes.birthday {
            Some(v) => birthday(&mut p, v.as_deref()),
            None => (row.birthday.clone(), row.birthday_md.clone()),
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
            ("birthday", row.birthday.clone(), birthday.clone()),
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
        row.birthday = birthday;
        row.birthday_md = birthday_md;
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
            EventType::ContactUpdated,
            "contact",
            id,
            serde_json::json!({"id": id, "version": row.version}),
        )?;
        load_contact_view(conn, row)
    })
}
