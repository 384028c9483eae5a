//! Intake from the real channels, each in its provider's own format: call
//! events, Telegram Bot API updates, VK Callback API events, website forms
//! and raw e-mail. Every delivery is recorded so a redelivery changes nothing
//! and gets the same answer; raw payloads are kept (capped) for audit.

mod calls;
mod email;
mod forms;
mod telegram;
mod vk;

pub use calls::*;
pub use email::*;
pub use forms::*;
pub use telegram::*;
pub use vk::*;

use chrono::{DateTime, Utc};
use crm_domain::Phone;
use crm_store::queries::leads as q;
use crm_store::{DbConnection, DbUuid};
use serde_json::Value;
use uuid::Uuid;

use crate::intake::leads::{intake_in, NewLead};
use crate::platform::error::AppError;

/// What a delivery came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The lead it made or joined; none when the event is not a lead.
    pub lead_id: Option<Uuid>,
    /// The interest a reply joined (an e-mail answering one of ours).
    pub interest_id: Option<Uuid>,
    /// False when this delivery was seen before.
    pub first_time: bool,
}

/// Runs `make` once per (channel, delivery id); a repeat returns what the first made.
fn once(
    conn: &mut DbConnection,
    channel: &str,
    delivery: &str,
    now: DateTime<Utc>,
    make: impl FnOnce(&mut DbConnection) -> Result<Option<DbUuid>, AppError>,
) -> Result<Delivered, AppError> {
    if let Some(lead) = q::find_delivery(conn, channel, delivery)? {
        return Ok(Delivered { lead_id: lead.map(Into::into), interest_id: None, first_time: false });
    }
    let lead = make(conn)?;
    match crm_store::db::savepoint(conn, |c| q::record_delivery(c, channel, delivery, lead, now.naive_utc()))
    {
        Ok(()) => Ok(Delivered { lead_id: lead.map(Into::into), interest_id: None, first_time: true }),
        // The same delivery raced in on another connection and was recorded
        // first: this one is its repeat.
        Err(e) if crm_store::db::is_unique_violation(&e) => {
            let first = q::find_delivery(conn, channel, delivery)?.flatten().or(lead);
            Ok(Delivered { lead_id: first.map(Into::into), interest_id: None, first_time: false })
        }
        Err(e) => Err(e.into()),
    }
}

/// Adds a later message to the open lead of the same conversation, or makes a new lead.
fn join_or_make(conn: &mut DbConnection, lead: NewLead, now: DateTime<Utc>) -> Result<DbUuid, AppError> {
    if let Some(thread) = &lead.thread_key {
        if let Some(mut open) = q::open_thread(conn, &lead.channel, thread)? {
            let version = open.version;
            let addition = lead.body.clone().unwrap_or_default();
            open.body = Some(match open.body.take() {
                Some(b) if !addition.is_empty() => format!("{b}\n\n{addition}"),
                Some(b) => b,
                None => addition,
            });
            if open.phone.is_none() {
                open.phone =
                    lead.phone.as_deref().and_then(|p| Phone::parse(p).ok()).map(|p| p.as_str().to_owned());
            }
            if open.name.is_none() {
                open.name = lead.name.clone();
            }
            for note in &lead.notes {
                open.parse_note = Some(match open.parse_note.take() {
                    Some(n) => format!("{n}; {note}"),
                    None => note.clone(),
                });
            }
            open.version += 1;
            open.updated_at = now.naive_utc();
            q::update_lead(conn, &open, version)?;
            return Ok(open.id);
        }
    }
    let (row, _) = intake_in(conn, None, lead, now)?;
    Ok(row.id)
}

fn raw(v: &Value) -> Option<String> {
    Some(v.to_string())
}

/// What one messenger message says, in words a manager reads on the lead.
#[derive(Debug, Default, PartialEq)]
struct Said {
    pub(super) text: String,
    pub(super) phone: Option<String>,
    pub(super) contact_name: Option<String>,
}

/// `m:ss` for a duration in seconds.
fn clock_duration(seconds: Option<i64>) -> String {
    let s = seconds.unwrap_or(0).max(0);
    format!("{}:{:02}", s / 60, s % 60)
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

/// Drops control characters from every string (keys too) of a channel's
/// JSON in place; returns how many went.
fn clean_json(v: &mut Value) -> usize {
    match v {
        Value::String(s) => crm_domain::text::clean_in_place(s),
        Value::Array(items) => items.iter_mut().map(clean_json).sum(),
        Value::Object(map) => {
            let mut dropped = 0;
            for (k, mut item) in std::mem::take(map) {
                let (key, n) = crm_domain::text::clean_inbound(&k);
                dropped += n + clean_json(&mut item);
                map.insert(key, item);
            }
            dropped
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
    }
}

fn dropped_notes(n: usize) -> Vec<String> {
    if n == 0 {
        Vec::new()
    } else {
        vec![crm_domain::text::dropped_note(n)]
    }
}
