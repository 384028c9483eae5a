//! A user's calendar feed (Мои дела in any calendar): a personal URL with
//! an unguessable token that serves their planned interactions and open
//! tasks, for Google, Yandex or Outlook to subscribe to.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use crm_store::queries::{clients as clq, sales as q, users as uq};
use crm_store::rows::{CalendarFeedRow, InterestRow};
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::identity::auth::{random_token, sha256_hex};
use crate::identity::permissions;
use crate::identity::principal::Principal;
use crate::platform::error::AppError;
use crate::App;

/// Every feed token starts so, which tells it from other secrets in logs.
pub const TOKEN_PREFIX: &str = "cal_";
/// How far back and ahead the feed reaches, in days.
pub const DAYS_BACK: i64 = 30;
pub const DAYS_AHEAD: i64 = 180;

/// One entry of the feed.
#[derive(Debug, Clone)]
pub struct CalendarItem {
    /// Stable across feeds and versions: `interaction-<id>` or `task-<id>`.
    pub uid: String,
    pub summary: String,
    /// The client, the contact and the interest, a line each, where known.
    pub description: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The entity's version, counted from 0 as calendars count revisions.
    pub sequence: u32,
    pub last_modified: DateTime<Utc>,
    pub cancelled: bool,
}

#[derive(Debug, Clone)]
pub struct CalendarFeed {
    pub user_name: String,
    /// The user's zone: every time is written in it.
    pub time_zone: Tz,
    /// When the feed was read (each entry's DTSTAMP).
    pub generated_at: DateTime<Utc>,
    /// The window the feed covers.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// By start.
    pub items: Vec<CalendarItem>,
}

/// Makes the caller a new feed token, replacing the one they had (which
/// stops working at once). The token is returned this once; only its digest
/// is kept.
pub fn issue_feed(app: &App, actor: &Principal) -> Result<String, AppError> {
    actor.require(&permissions::CALENDAR_FEED)?;
    let Some(me) = actor.user() else {
        return Err(AppError::Forbidden("API keys have no calendar".to_owned()));
    };
    let token = format!("{TOKEN_PREFIX}{}", random_token(32));
    let row = CalendarFeedRow {
        user_id: me.id.into(),
        token_hash: sha256_hex(&token),
        created_at: app.now().naive_utc(),
    };
    app.write(|conn| Ok(q::replace_calendar_feed(conn, &row)?))?;
    Ok(token)
}

/// Revokes the caller's feed; the URL answers 404 from now on. Revoking
/// when there is none changes nothing.
pub fn revoke_feed(app: &App, actor: &Principal) -> Result<(), AppError> {
    actor.require(&permissions::CALENDAR_FEED)?;
    let Some(me) = actor.user() else {
        return Err(AppError::Forbidden("API keys have no calendar".to_owned()));
    };
    let user: DbUuid = me.id.into();
    app.write(|conn| Ok(q::delete_calendar_feed(conn, user).map(|_| ())?))
}

/// The feed a token opens: the user's planned (and cancelled) interactions
/// on the interests they are responsible for and their open (and cancelled)
/// tasks, from [`DAYS_BACK`] days ago to [`DAYS_AHEAD`] ahead. An unknown
/// or revoked token, or a deactivated user's, is not found.
pub fn feed(app: &App, token: &str) -> Result<CalendarFeed, AppError> {
    let now = app.now();
    let (from, to) = (now - Duration::days(DAYS_BACK), now + Duration::days(DAYS_AHEAD));
    let fallback = app.settings().default_time_zone.tz();
    app.read(|conn| {
        let found = q::find_calendar_feed(conn, &sha256_hex(token))?;
        let user = match found {
            Some(f) => uq::find(conn, f.user_id)?.filter(|u| u.active),
            None => None,
        };
        let Some(user) = user else { return Err(AppError::NotFound("calendar feed")) };
        let time_zone = crate::sales::user_tz(conn, user.id, fallback)?;
        let mut about = About::default();
        let mut items = Vec::new();
        for i in q::calendar_interactions(conn, user.id, from.naive_utc(), to.naive_utc())? {
            let Some(at) = i.planned_at else { continue };
            let starts_at = at.and_utc();
            // Meetings hold an hour, anything else half of one.
            let minutes = if i.kind == "meeting" { 60 } else { 30 };
            items.push(CalendarItem {
                uid: format!("interaction-{}", i.id.0),
                summary: format!("{}: {}", capitalised(&i.kind), i.subject),
                description: about.describe(conn, Some(i.interest_id))?,
                starts_at,
                ends_at: starts_at + Duration::minutes(minutes),
                sequence: sequence(i.version),
                last_modified: i.updated_at.and_utc(),
                cancelled: i.status.as_str() == "cancelled",
            });
        }
        for t in q::calendar_tasks(conn, user.id, from.naive_utc(), to.naive_utc())? {
            let due = t.due_at.and_utc();
            items.push(CalendarItem {
                uid: format!("task-{}", t.id.0),
                summary: format!("Task: {}", t.title),
                description: about.describe(conn, t.interest_id)?,
                starts_at: due,
                ends_at: due + Duration::minutes(15),
                sequence: sequence(t.version),
                last_modified: t.updated_at.and_utc(),
                cancelled: t.status.as_str() == "cancelled",
            });
        }
        items.sort_by(|a, b| a.starts_at.cmp(&b.starts_at).then_with(|| a.uid.cmp(&b.uid)));
        Ok(CalendarFeed { user_name: user.name, time_zone, generated_at: now, from, to, items })
    })
}

fn sequence(version: i64) -> u32 {
    u32::try_from(version.saturating_sub(1)).unwrap_or(u32::MAX)
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// The client, contact and interest lines of entries, each interest read once.
#[derive(Default)]
struct About {
    seen: HashMap<DbUuid, String>,
}

impl About {
    fn describe(&mut self, conn: &mut DbConnection, interest: Option<DbUuid>) -> Result<String, AppError> {
        let Some(id) = interest else { return Ok(String::new()) };
        if let Some(text) = self.seen.get(&id) {
            return Ok(text.clone());
        }
        let text = match q::find_interest(conn, id)? {
            Some(i) => lines(conn, &i)?,
            None => String::new(),
        };
        self.seen.insert(id, text.clone());
        Ok(text)
    }
}

fn lines(conn: &mut DbConnection, i: &InterestRow) -> Result<String, AppError> {
    let mut out = Vec::new();
    if let Some(c) = i.client_id.map(|c| clq::find_client(conn, c)).transpose()?.flatten() {
        out.push(format!("Client: {}", c.name));
    }
    if let Some(c) = i.contact_id.map(|c| clq::find_contact(conn, c)).transpose()?.flatten() {
        out.push(format!("Contact: {}", c.name));
    }
    out.push(format!("Interest: {} ({})", i.title, Uuid::from(i.id)));
    Ok(out.join("\n"))
}
