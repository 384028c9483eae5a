//! Clients' dates that come round every year: their important dates (kept
//! here), contacts' birthdays and clients' foundings (kept on them), and the
//! list of those coming up that the caller sees.

use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::events::EventType;
use crm_domain::YearlyDate;
use crm_store::queries::parties::dates as q;
use crm_store::rows::{ClientDateRow, ClientRow, ContactRow};
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::policy;
use crate::identity::principal::{actor_parts, Principal};
use crate::parties::clients::visible_client;
use crate::parties::history::history;
use crate::platform::error::{AppError, Problems};
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::App;

/// The widest window `upcoming_dates` looks ahead.
pub const MAX_DAYS: u32 = 60;

#[derive(Debug, Clone)]
pub struct ClientDateView {
    pub id: Uuid,
    pub client_id: Uuid,
    pub title: String,
    /// `YYYY-MM-DD`, or `--MM-DD` when the year is not known.
    pub date: String,
    pub created_at: DateTime<Utc>,
    /// Set once removed (the change feed's `client_date.deleted` shows it so).
    pub deleted_at: Option<DateTime<Utc>>,
}

pub(crate) fn date_view(r: ClientDateRow) -> ClientDateView {
    ClientDateView {
        id: r.id.0,
        client_id: r.client_id.0,
        title: r.title,
        date: r.date,
        created_at: r.created_at.and_utc(),
        deleted_at: r.deleted_at.map(|t| t.and_utc()),
    }
}

/// Writes a date's event: the feed renders it as GET returns it.
fn record(
    conn: &mut DbConnection,
    actor: &Principal,
    now: DateTime<Utc>,
    kind: EventType,
    row: &ClientDateRow,
) -> Result<(), AppError> {
    outbox::record(
        conn,
        now,
        Some(actor),
        kind,
        "client_date",
        row.id.0,
        serde_json::json!({"id": row.id.0, "client_id": row.client_id.0, "title": row.title, "date": row.date}),
    )
}

/// Adds an important date to a client (a contract's anniversary, a
/// professional holiday…); it comes round every year.
pub fn add_client_date(
    app: &App,
    actor: &Principal,
    client: Uuid,
    title: &str,
    date: &str,
) -> Result<ClientDateView, AppError> {
    actor.require(&permissions::WRITE_CLIENTS)?;
    let mut p = Problems::new();
    let title = p.text("title", title, 200);
    let date = p.check("date", YearlyDate::parse(date));
    p.into_result()?;
    let date = date.ok_or_else(|| AppError::internal("validated date missing"))?;
    let now = app.now();
    app.write(|conn| {
        let c = visible_client(conn, actor, client)?;
        let row = ClientDateRow {
            id: crm_domain::new_id().into(),
            client_id: c.id,
            title: title.clone(),
            date: date.to_string(),
            md: date.month_day(),
            created_by: actor_parts(Some(actor)).1,
            created_at: now.naive_utc(),
            deleted_at: None,
        };
        q::insert_client_date(conn, &row)?;
        record(conn, actor, now, EventType::ClientDateAdded, &row)?;
        history(
            conn,
            actor,
            now,
            ("client", c.id),
            &[("important_date", None, Some(format!("{title}: {date}")))],
        )?;
        Ok(date_view(row))
    })
}

pub fn list_client_dates(
    app: &App,
    actor: &Principal,
    client: Uuid,
    page: PageRequest,
) -> Result<Page<ClientDateView>, AppError> {
    actor.require(&permissions::READ_CLIENTS)?;
    app.read(|conn| {
        let c = visible_client(conn, actor, client)?;
        let rows = q::client_dates_page(conn, c.id, page.query())?;
        Ok(Page::from_rows(rows, page, |r| r.id.0, date_view))
    })
}

pub fn get_client_date(app: &App, actor: &Principal, id: Uuid) -> Result<ClientDateView, AppError> {
    actor.require(&permissions::READ_CLIENTS)?;
    app.read(|conn| {
        let row = q::find_client_date(conn, id.into())?
            .filter(|d| d.deleted_at.is_none())
            .ok_or(AppError::NotFound("client date"))?;
        visible_client(conn, actor, row.client_id.0).map_err(|_| AppError::NotFound("client date"))?;
        Ok(date_view(row))
    })
}

pub fn delete_client_date(app: &App, actor: &Principal, id: Uuid) -> Result<(), AppError> {
    actor.require(&permissions::WRITE_CLIENTS)?;
    let now = app.now();
    app.write(|conn| {
        let row = q::find_client_date(conn, id.into())?
            .filter(|d| d.deleted_at.is_none())
            .ok_or(AppError::NotFound("client date"))?;
        visible_client(conn, actor, row.client_id.0).map_err(|_| AppError::NotFound("client date"))?;
        q::delete_client_date(conn, row.id, now.naive_utc())?;
        let gone = q::find_client_date(conn, row.id)?.ok_or(AppError::NotFound("client date"))?;
        record(conn, actor, now, EventType::ClientDateDeleted, &gone)?;
        history(
            conn,
            actor,
            now,
            ("client", row.client_id),
            &[("important_date", Some(format!("{}: {}", row.title, row.date)), None)],
        )?;
        Ok(())
    })
}

/// What comes round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DateKind {
    Birthday,
    Founded,
    Important,
}

impl DateKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DateKind::Birthday => "birthday",
            DateKind::Founded => "founded",
            DateKind::Important => "important",
        }
    }
}

#[derive(Debug, Clone)]
pub struct UpcomingDate {
    pub kind: DateKind,
    /// The day it comes round.
    pub on: NaiveDate,
    /// As recorded: `YYYY-MM-DD`, or `--MM-DD` without the year.
    pub date: String,
    /// The age or anniversary it marks, when the year is known.
    pub years: Option<i32>,
    /// What it is, in words: "Birthday of Anna Smirnova", the date's title.
    pub title: String,
    pub client_id: Option<Uuid>,
    pub client_name: Option<String>,
    pub client_status: Option<crm_domain::status::ClientStatus>,
    pub contact_id: Option<Uuid>,
    pub contact_name: Option<String>,
    /// The important date's id (kind `important`).
    pub date_id: Option<Uuid>,
    /// Who looks after it: the client's responsible, or the contact's.
    pub responsible_id: Option<Uuid>,
}

impl UpcomingDate {
    /// What it belongs to: the contact, the client or the important date.
    pub fn subject(&self) -> Option<Uuid> {
        match self.kind {
            DateKind::Birthday => self.contact_id,
            DateKind::Founded => self.client_id,
            DateKind::Important => self.date_id,
        }
    }
}

fn upcoming(
    kind: DateKind,
    raw: &str,
    from: NaiveDate,
    to: NaiveDate,
    client: Option<&ClientRow>,
) -> Option<UpcomingDate> {
    let date = YearlyDate::parse(raw).ok()?;
    let on = date.next_from(from).filter(|d| *d <= to)?;
    Some(UpcomingDate {
        kind,
        on,
        date: date.to_string(),
        years: date.years_on(on),
        title: String::new(),
        client_id: client.map(|c| c.id.0),
        client_name: client.map(|c| c.name.clone()),
        client_status: client.map(|c| c.status.0),
        contact_id: None,
        contact_name: None,
        date_id: None,
        responsible_id: client.and_then(|c| c.responsible_id).map(Into::into),
    })
}

/// Every date coming round from `from` to `to` (inclusive) of the clients
/// and contacts of the responsible in `users` (`None`: all), by day.
pub(crate) fn dates_between(
    conn: &mut DbConnection,
    users: Option<&[DbUuid]>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<UpcomingDate>, AppError> {
    let keys = YearlyDate::keys_between(from, to);
    let mut out = Vec::new();
    for (contact, client) in q::contacts_born_on(conn, &keys, users)? {
        let ContactRow { id, name, birthday, responsible_id, .. } = contact;
        let Some(mut d) =
            birthday.as_deref().and_then(|b| upcoming(DateKind::Birthday, b, from, to, client.as_ref()))
        else {
            continue;
        };
        d.title = format!("Birthday of {name}");
        d.contact_id = Some(id.0);
        d.contact_name = Some(name);
        if client.is_none() {
            d.responsible_id = responsible_id.map(Into::into);
        }
        out.push(d);
    }
    for client in q::clients_founded_on(conn, &keys, users)? {
        let Some(founded) = client.founded_on else { continue };
        if let Some(mut d) = upcoming(DateKind::Founded, &founded.to_string(), from, to, Some(&client)) {
            d.title = format!("{} founded", client.name);
            out.push(d);
        }
    }
    for (date, client) in q::client_dates_on(conn, &keys, users)? {
        if let Some(mut d) = upcoming(DateKind::Important, &date.date, from, to, Some(&client)) {
            d.title = date.title;
            d.date_id = Some(date.id.0);
            out.push(d);
        }
    }
    out.sort_by_key(UpcomingDate::key);
    Ok(out)
}

/// Today in the organisation's zone: dates are days, not instants.
pub(crate) fn today(app: &App) -> NaiveDate {
    app.now().with_timezone(&app.settings().default_time_zone.tz()).date_naive()
}

/// Where a page of upcoming dates ends: the day, the kind and the subject.
pub type DateKey = (NaiveDate, DateKind, Option<Uuid>);

impl UpcomingDate {
    pub fn key(&self) -> DateKey {
        (self.on, self.kind, self.subject())
    }
}

impl DateKind {
    pub fn parse(s: &str) -> Option<Self> {
        [DateKind::Birthday, DateKind::Founded, DateKind::Important].into_iter().find(|k| k.as_str() == s)
    }
}

/// Birthdays, foundings and important dates of the clients and contacts the
/// caller sees, from today (in the organisation's zone) for `days` days, by
/// day; a page of `limit` after `after`, and the key the next page starts after.
pub fn upcoming_dates(
    app: &App,
    actor: &Principal,
    days: u32,
    after: Option<DateKey>,
    limit: usize,
) -> Result<(Vec<UpcomingDate>, Option<DateKey>), AppError> {
    actor.require(&permissions::READ_CLIENTS)?;
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(AppError::field("days", "out_of_range", format!("look 1 to {MAX_DAYS} days ahead")));
    }
    let from = today(app);
    let to = from + chrono::Days::new(u64::from(days - 1));
    let all = app.read(|conn| {
        let vis = policy::clients(conn, actor)?;
        let users = vis.filter();
        dates_between(conn, users.as_deref(), from, to)
    })?;
    let mut rest: Vec<UpcomingDate> = all.into_iter().filter(|d| after.is_none_or(|a| d.key() > a)).collect();
    let next = if rest.len() > limit {
        rest.truncate(limit);
        rest.last().map(UpcomingDate::key)
    } else {
        None
    };
    Ok((rest, next))
}
