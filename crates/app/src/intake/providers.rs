//! Intake from the real channels, each in its provider's own format: call
//! events, Telegram Bot API updates, VK Callback API events, website forms
//! and raw e-mail. Every delivery is recorded so a redelivery changes nothing
//! and gets the same answer; raw payloads are kept (capped) for audit.

use chrono::{DateTime, Duration, TimeZone, Utc};
use crm_domain::{Email, Phone};
use crm_store::queries::{clients as cq, leads as q};
use crm_store::rows::{ChannelRow, LeadRow};
use crm_store::{DbConnection, DbUuid};
use serde_json::Value;
use uuid::Uuid;

use crate::identity::auth::sha256_hex;
use crate::identity::permissions;
use crate::identity::principal::Principal;
use crate::intake::leads::{intake_in, NewLead};
use crate::platform::error::{AppError, Problems};
use crate::App;

/// What a delivery came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The lead it made or joined; none when the event is not a lead.
    pub lead_id: Option<Uuid>,
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
        return Ok(Delivered { lead_id: lead.map(Into::into), first_time: false });
    }
    let lead = make(conn)?;
    match crm_store::db::savepoint(conn, |c| q::record_delivery(c, channel, delivery, lead, now.naive_utc()))
    {
        Ok(()) => Ok(Delivered { lead_id: lead.map(Into::into), first_time: true }),
        // The same delivery raced in on another connection and was recorded
        // first: this one is its repeat.
        Err(e) if crm_store::db::is_unique_violation(&e) => {
            let first = q::find_delivery(conn, channel, delivery)?.flatten().or(lead);
            Ok(Delivered { lead_id: first.map(Into::into), first_time: false })
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

// --- telephony -------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct CallEvent {
    pub call_id: String,
    pub from: String,
    pub to: String,
    pub direction: String,
    pub started_at: DateTime<Utc>,
    pub duration_seconds: i64,
    pub status: String,
    pub recording_url: Option<String>,
}

/// An inbound call from an unknown number, or a missed one, makes a lead;
/// the line called decides whose inbox it lands in.
pub fn call(app: &App, actor: &Principal, e: CallEvent, raw_payload: String) -> Result<Delivered, AppError> {
    actor.require(&permissions::PUSH_LEADS)?;
    let mut p = Problems::new();
    if e.call_id.trim().is_empty() || e.call_id.len() > 200 {
        p.push("call_id", "invalid", "1 to 200 characters");
    }
    if !matches!(e.direction.as_str(), "inbound" | "outbound") {
        p.push("direction", "invalid", "inbound or outbound");
    }
    if !matches!(e.status.as_str(), "answered" | "missed") {
        p.push("status", "invalid", "answered or missed");
    }
    if e.duration_seconds < 0 {
        p.push("duration_seconds", "negative", "must not be negative");
    }
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        once(conn, "phone", &e.call_id, now, |conn| {
            if e.direction != "inbound" {
                return Ok(None);
            }
            let caller = Phone::parse(&e.from).ok();
            let known = match &caller {
                Some(ph) => !cq::owners_of_points(conn, "phone", &[ph.as_str().to_owned()])?.is_empty(),
                None => false,
            };
            if known && e.status == "answered" {
                return Ok(None);
            }
            let line = match Phone::parse(&e.to) {
                Ok(to) => q::channel_by_address(conn, "phone", to.as_str())?,
                Err(_) => None,
            };
            let subject = if e.status == "missed" { "Missed call" } else { "Call from a new number" };
            let mut body = format!("{} call to {}, {} s", e.status, e.to, e.duration_seconds);
            if let Some(url) = &e.recording_url {
                body.push_str(&format!("\nrecording: {url}"));
            }
            let lead = NewLead {
                channel: "phone".into(),
                source: Some(line.as_ref().map_or_else(|| e.to.clone(), |l| l.name.clone())),
                external_id: Some(e.call_id.clone()),
                received_at: Some(e.started_at),
                phone: Some(e.from.clone()),
                subject: Some(subject.into()),
                body: Some(body),
                assignee_id: line.and_then(|l| l.assignee_id).map(Into::into),
                raw_payload: Some(raw_payload),
                ..Default::default()
            };
            let (row, _) = intake_in(conn, Some(actor), lead, now)?;
            Ok(Some(row.id))
        })
    })
}

// --- Telegram --------------------------------------------------------------

/// A Telegram Bot API `Update` from the webhook. The bot is recognised by the
/// `X-Telegram-Bot-Api-Secret-Token` it was set up with; anything else is 401.
/// Updates that are not messages are acknowledged and make no lead, so
/// Telegram does not redeliver them.
pub fn telegram(app: &App, secret_token: Option<&str>, update: &Value) -> Result<Delivered, AppError> {
    let bad = || AppError::Unauthenticated("unknown or missing X-Telegram-Bot-Api-Secret-Token".to_owned());
    let token = secret_token.filter(|t| !t.is_empty()).ok_or_else(bad)?;
    let now = app.now();
    let update_id = update
        .get("update_id")
        .and_then(Value::as_i64)
        .ok_or_else(|| AppError::field("update_id", "required", "an Update has an update_id"))?;
    let mut update = update.clone();
    let dropped = clean_json(&mut update);
    let update = &update;
    app.write(|conn| {
        let bot = q::channel_by_secret(conn, "telegram", &sha256_hex(token))?.ok_or_else(bad)?;
        let channel_key = format!("telegram:{}", bot.id.0);
        once(conn, &channel_key, &update_id.to_string(), now, |conn| {
            // A message, or a new text of one: an edit of a message of an open
            // lead is appended to it, marked as edited, so nothing said is lost.
            let (message, edited) = match (update.get("message"), update.get("edited_message")) {
                (Some(m), _) => (m, false),
                (None, Some(m)) => (m, true),
                (None, None) => return Ok(None),
            };
            let said = telegram_content(message);
            let from = message.get("from");
            let name = [from.and_then(|f| f.get("first_name")), from.and_then(|f| f.get("last_name"))]
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" ");
            let username = from.and_then(|f| f.get("username")).and_then(Value::as_str);
            let chat =
                message.get("chat").and_then(|c| c.get("id")).and_then(Value::as_i64).unwrap_or(update_id);
            let sent = message
                .get(if edited { "edit_date" } else { "date" })
                .and_then(Value::as_i64)
                .and_then(|d| Utc.timestamp_opt(d, 0).single());
            // A shared contact card names the person better than the chat does.
            let name = said.contact_name.clone().unwrap_or(name);
            let body = if edited { format!("[edited] {}", said.text) } else { said.text };
            let lead = NewLead {
                channel: "telegram".into(),
                source: Some(bot.name.clone()),
                external_id: Some(format!("{}:{update_id}", bot.id.0)),
                thread_key: Some(format!("{}:{chat}", bot.id.0)),
                received_at: sent,
                name: Some(match username {
                    Some(u) if name.is_empty() => format!("@{u}"),
                    Some(u) => format!("{name} (@{u})"),
                    None => name,
                })
                .filter(|n| !n.is_empty()),
                phone: said.phone,
                subject: Some("Telegram message".into()),
                body: Some(body),
                assignee_id: bot.assignee_id.map(Into::into),
                raw_payload: raw(update),
                notes: dropped_notes(dropped),
                ..Default::default()
            };
            Ok(Some(join_or_make(conn, lead, now)?))
        })
    })
}

/// What one messenger message says, in words a manager reads on the lead.
#[derive(Debug, Default, PartialEq)]
struct Said {
    text: String,
    phone: Option<String>,
    contact_name: Option<String>,
}

/// `m:ss` for a duration in seconds.
fn clock_duration(seconds: Option<i64>) -> String {
    let s = seconds.unwrap_or(0).max(0);
    format!("{}:{:02}", s / 60, s % 60)
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

/// Every kind of Telegram message as text: its text or caption, and a line
/// describing what else it carries (`[photo]`, `[voice 0:12]`, `[location
/// 55.75,37.61]`…) with the file ids, so the manager can fetch the file
/// through the bot. A message of a kind we do not know is still a line.
fn telegram_content(m: &Value) -> Said {
    let mut said = Said::default();
    let mut parts: Vec<String> = Vec::new();
    let file = |v: &Value| str_of(v, "file_id").map(|id| format!(" file_id={id}")).unwrap_or_default();
    if let Some(photo) = m.get("photo").and_then(Value::as_array) {
        // Sizes come smallest first; the last is the original.
        parts.push(format!("[photo{}]", photo.last().map(file).unwrap_or_default()));
    }
    for (key, label) in [("video", "video"), ("video_note", "video note"), ("voice", "voice")] {
        if let Some(v) = m.get(key) {
            let d = clock_duration(v.get("duration").and_then(Value::as_i64));
            parts.push(format!("[{label} {d}{}]", file(v)));
        }
    }
    if let Some(a) = m.get("audio") {
        let title = [str_of(a, "performer"), str_of(a, "title")].into_iter().flatten().collect::<Vec<_>>();
        let d = clock_duration(a.get("duration").and_then(Value::as_i64));
        let title = if title.is_empty() { String::new() } else { format!(" {}", title.join(" – ")) };
        parts.push(format!("[audio{title} {d}{}]", file(a)));
    }
    if let Some(d) = m.get("animation") {
        parts.push(format!("[animation{}]", file(d)));
    } else if let Some(d) = m.get("document") {
        let name = str_of(d, "file_name").map(|n| format!(" {n}")).unwrap_or_default();
        parts.push(format!("[document{name}{}]", file(d)));
    }
    if let Some(st) = m.get("sticker") {
        let emoji = str_of(st, "emoji").map(|e| format!(" {e}")).unwrap_or_default();
        parts.push(format!("[sticker{emoji}{}]", file(st)));
    }
    if let Some(v) = m.get("venue") {
        let place = [str_of(v, "title"), str_of(v, "address")].into_iter().flatten().collect::<Vec<_>>();
        parts.push(format!("[venue {}]", place.join(", ")));
    }
    if let Some(loc) = m.get("location").filter(|_| m.get("venue").is_none()) {
        let coord = |k: &str| loc.get(k).and_then(Value::as_f64).unwrap_or_default();
        parts.push(format!("[location {:.5},{:.5}]", coord("latitude"), coord("longitude")));
    }
    if let Some(c) = m.get("contact") {
        let name = [str_of(c, "first_name"), str_of(c, "last_name")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let phone = str_of(c, "phone_number").map(str::to_owned);
        let mut line = "[contact".to_owned();
        if !name.is_empty() {
            line.push_str(&format!(" {name}"));
            said.contact_name = Some(name);
        }
        if let Some(ph) = &phone {
            line.push_str(&format!(", shared phone {ph}"));
        }
        line.push(']');
        parts.push(line);
        said.phone = phone;
    }
    if let Some(p) = m.get("poll") {
        parts.push(format!("[poll {}]", str_of(p, "question").unwrap_or_default()));
    }
    if let Some(d) = m.get("dice") {
        let emoji = str_of(d, "emoji").unwrap_or("🎲");
        parts.push(format!("[dice {emoji} {}]", d.get("value").and_then(Value::as_i64).unwrap_or_default()));
    }
    let words = str_of(m, "text").or_else(|| str_of(m, "caption"));
    if parts.is_empty() && words.is_none() {
        // A kind of message this version does not describe: still a request.
        let keys: Vec<&str> = m
            .as_object()
            .map(|o| {
                o.keys()
                    .map(String::as_str)
                    .filter(|k| !matches!(*k, "message_id" | "date" | "edit_date" | "chat" | "from"))
                    .collect()
            })
            .unwrap_or_default();
        parts.push(format!(
            "[message: {}]",
            if keys.is_empty() { "empty".to_owned() } else { keys.join(", ") }
        ));
    }
    said.text = match words {
        Some(w) if parts.is_empty() => w.to_owned(),
        Some(w) => format!("{w}\n{}", parts.join("\n")),
        None => parts.join("\n"),
    };
    said
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

// --- VK --------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VkAnswer {
    /// The confirmation string, answered as plain text.
    Confirmation(String),
    /// `ok`: VK takes the event as delivered.
    Ok(Delivered),
}

/// A VK Callback API event for a configured group: `confirmation` is answered
/// with the stored string; the `secret` must match when one is set (403
/// otherwise); `message_new` makes a lead; anything else is acknowledged.
pub fn vk(app: &App, event: &Value) -> Result<VkAnswer, AppError> {
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| AppError::field("type", "required", "a VK event has a type"))?;
    let group = event
        .get("group_id")
        .and_then(|g| g.as_i64().map(|n| n.to_string()).or_else(|| g.as_str().map(str::to_owned)))
        .ok_or_else(|| AppError::field("group_id", "required", "a VK event names its group"))?;
    let kind = crm_domain::text::clean_inbound(kind).0;
    let group = crm_domain::text::clean_inbound(&group).0;
    let mut event = event.clone();
    let dropped = clean_json(&mut event);
    let event = &event;
    let now = app.now();
    app.write(|conn| {
        let channel = q::channel_by_address(conn, "vk", &group)?
            .ok_or_else(|| AppError::Forbidden(format!("VK group {group} is not connected")))?;
        if kind == "confirmation" {
            return Ok(VkAnswer::Confirmation(channel.confirmation.clone().unwrap_or_default()));
        }
        if let Some(expected) = &channel.secret_hash {
            let given = event.get("secret").and_then(Value::as_str).map(sha256_hex);
            if given.as_deref() != Some(expected.as_str()) {
                return Err(AppError::Forbidden("the VK secret key does not match".to_owned()));
            }
        }
        let event_id = event
            .get("event_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| sha256_hex(&event.to_string()));
        let delivered = once(conn, &format!("vk:{}", channel.id.0), &event_id, now, |conn| {
            // A new message, or an edit of one (appended to the open lead, marked).
            let edited = match kind.as_str() {
                "message_new" => false,
                "message_edit" => true,
                _ => return Ok(None),
            };
            let object = event.get("object").cloned().unwrap_or(Value::Null);
            // API 5.103+ wraps the message; older versions (and message_edit) send it bare.
            let message = object.get("message").cloned().unwrap_or(object);
            let from = message.get("from_id").and_then(Value::as_i64).unwrap_or_default();
            let peer = message.get("peer_id").and_then(Value::as_i64).unwrap_or(from);
            let text = vk_content(&message);
            let text = if edited { format!("[edited] {text}") } else { text };
            let sent =
                message.get("date").and_then(Value::as_i64).and_then(|d| Utc.timestamp_opt(d, 0).single());
            let lead = NewLead {
                channel: "vk".into(),
                source: Some(channel.name.clone()),
                external_id: Some(format!("{}:{event_id}", channel.id.0)),
                thread_key: Some(format!("{}:{peer}", channel.id.0)),
                received_at: sent,
                name: Some(format!("VK user id{from}")),
                subject: Some("VK message".into()),
                body: Some(text),
                assignee_id: channel.assignee_id.map(Into::into),
                raw_payload: raw(event),
                notes: dropped_notes(dropped),
                ..Default::default()
            };
            Ok(Some(join_or_make(conn, lead, now)?))
        })?;
        Ok(VkAnswer::Ok(delivered))
    })
}

/// A VK message as text: its text, then one line per attachment (`[photo
/// photo-1_456]`, `[voice 0:12 doc…]`, `[location 55.75,37.61]`…) with VK's
/// own attachment id (`<type><owner_id>_<id>`), so nothing it carried is lost.
fn vk_content(m: &Value) -> String {
    let mut lines: Vec<String> = Vec::new();
    if let Some(t) = str_of(m, "text") {
        lines.push(t.to_owned());
    }
    for a in m.get("attachments").and_then(Value::as_array).into_iter().flatten() {
        let kind = str_of(a, "type").unwrap_or("attachment");
        let body = a.get(kind).cloned().unwrap_or(Value::Null);
        let id = match (body.get("owner_id").and_then(Value::as_i64), body.get("id").and_then(Value::as_i64))
        {
            (Some(owner), Some(id)) => format!(" {kind}{owner}_{id}"),
            _ => String::new(),
        };
        let line = match kind {
            "audio_message" => {
                format!("[voice {}{id}]", clock_duration(body.get("duration").and_then(Value::as_i64)))
            }
            "doc" => format!(
                "[document{}{id}]",
                str_of(&body, "title").map(|t| format!(" {t}")).unwrap_or_default()
            ),
            "video" => {
                format!("[video{}{id}]", str_of(&body, "title").map(|t| format!(" {t}")).unwrap_or_default())
            }
            "audio" => {
                let t = [str_of(&body, "artist"), str_of(&body, "title")]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>();
                format!("[audio {}{id}]", t.join(" – "))
            }
            "link" => format!("[link {}]", str_of(&body, "url").unwrap_or_default()),
            "sticker" => format!(
                "[sticker{}]",
                body.get("sticker_id").and_then(Value::as_i64).map(|n| format!(" {n}")).unwrap_or_default()
            ),
            "wall" => format!("[wall post{id}]"),
            other => format!("[{other}{id}]"),
        };
        lines.push(line);
    }
    if let Some(c) = m.get("geo").and_then(|g| g.get("coordinates")) {
        let coord = |k: &str| c.get(k).and_then(Value::as_f64).unwrap_or_default();
        lines.push(format!("[location {:.5},{:.5}]", coord("latitude"), coord("longitude")));
    }
    if lines.is_empty() {
        lines.push("[message without text]".to_owned());
    }
    lines.join("\n")
}

// --- website forms ---------------------------------------------------------

/// Posts a form may make from one address in ten minutes.
pub const FORM_POSTS_PER_ADDRESS: i64 = 5;

#[derive(Debug, Clone)]
pub enum FormOutcome {
    Lead(Uuid),
    /// The honeypot was filled: answered as success, nothing stored.
    Ignored,
}

/// The form behind a key, and whether an origin may post to it.
pub fn form_origin_allowed(
    app: &App,
    form_key: &str,
    origin: Option<&str>,
) -> Result<(ChannelRow, bool), AppError> {
    let form = app
        .read(|conn| Ok(q::channel_by_address(conn, "form", form_key)?))?
        .ok_or(AppError::NotFound("form"))?;
    let allowed = match origin {
        None => true,
        Some(o) => form.allowed_origins.split_whitespace().any(|a| a == o),
    };
    Ok((form, allowed))
}

/// A website form post: fields as the form names them (`name`, `phone`,
/// `email`, `subject`, `message`); `website` is the honeypot bots fill in.
pub fn form(
    app: &App,
    form_key: &str,
    origin: Option<&str>,
    address: &str,
    fields: &std::collections::HashMap<String, String>,
) -> Result<FormOutcome, AppError> {
    let (form, allowed) = form_origin_allowed(app, form_key, origin)?;
    if !allowed {
        return Err(AppError::Forbidden("this site may not post to the form".to_owned()));
    }
    // What a visitor typed is channel content: control characters go, and the lead says so.
    let mut dropped = 0;
    let fields: std::collections::HashMap<String, String> = fields
        .iter()
        .map(|(k, v)| {
            let (k, a) = crm_domain::text::clean_inbound(k);
            let (v, b) = crm_domain::text::clean_inbound(v);
            dropped += a + b;
            (k, v)
        })
        .collect();
    let fields = &fields;
    let get = |k: &str| fields.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if get("website").is_some() {
        return Ok(FormOutcome::Ignored);
    }
    let now = app.now();
    let mut p = Problems::new();
    let phone = get("phone");
    let email = get("email");
    if let Some(ph) = &phone {
        p.check("phone", Phone::parse(ph));
    }
    if let Some(e) = &email {
        p.check("email", Email::parse(e));
    }
    if phone.is_none() && email.is_none() {
        p.push("phone", "required", "leave a phone number or an e-mail so we can answer");
    }
    for (k, v) in fields {
        if v.len() > 10_000 {
            p.push(k, "too_long", "at most 10000 characters");
        }
    }
    p.into_result()?;
    let bucket = format!("form:{}:{address}", form.id.0);
    // A double submit (or a browser retry) of the same fields from the same
    // address within ten minutes is one delivery.
    let mut sorted: Vec<(&String, &String)> = fields.iter().collect();
    sorted.sort();
    let window = now.timestamp() / 600;
    let delivery =
        sha256_hex(&format!("{address}|{window}|{}", serde_json::to_string(&sorted).unwrap_or_default()));
    app.write(|conn| {
        if let Some(Some(lead)) = q::find_delivery(conn, &format!("form:{}", form.id.0), &delivery)? {
            return Ok(FormOutcome::Lead(lead.0));
        }
        let hits = q::hit(conn, &bucket, now.naive_utc(), (now - Duration::minutes(10)).naive_utc())?;
        if hits > FORM_POSTS_PER_ADDRESS {
            return Err(AppError::RateLimited { retry_after: std::time::Duration::from_secs(600) });
        }
        let lead = NewLead {
            channel: "form".into(),
            source: Some(form.name.clone()),
            name: get("name"),
            phone: phone.clone(),
            email: email.clone(),
            subject: get("subject").or_else(|| Some(format!("Form: {}", form.name))),
            body: get("message").or_else(|| get("text")).or_else(|| get("comment")),
            assignee_id: form.assignee_id.map(Into::into),
            raw_payload: serde_json::to_string(fields).ok(),
            notes: dropped_notes(dropped),
            ..Default::default()
        };
        let (row, _) = intake_in(conn, None, lead, now)?;
        q::record_delivery(conn, &format!("form:{}", form.id.0), &delivery, Some(row.id), now.naive_utc())?;
        Ok(FormOutcome::Lead(row.id.0))
    })
}

// --- e-mail ----------------------------------------------------------------

/// A raw message (RFC 5322) as an MTA or a mail fetcher hands it over. The
/// `Message-ID` is the dedupe key (a digest of the message when it has none).
/// A message to a connected mailbox with an owner goes to that manager;
/// otherwise to the shared inbox. Text is taken from the plain part, or made
/// from the HTML one; charsets and transfer encodings are decoded.
pub fn email(app: &App, actor: &Principal, raw_message: &[u8]) -> Result<Delivered, AppError> {
    actor.require(&permissions::PUSH_LEADS)?;
    if raw_message.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::field("body", "empty", "send the raw message as the body"));
    }
    let parsed = mail_parser::MessageParser::default().parse(raw_message);
    // Control characters may sit in the raw bytes or appear only once a part
    // is decoded (base64, quoted-printable): every text taken is cleaned.
    let (raw_text, raw_dropped) = crm_domain::text::clean_inbound(&String::from_utf8_lossy(raw_message));
    let dropped = std::cell::Cell::new(0usize);
    let clean = |s: &str| {
        let (kept, n) = crm_domain::text::clean_inbound(s);
        dropped.set(dropped.get() + n);
        kept
    };
    let now = app.now();
    let message_id = parsed
        .as_ref()
        .and_then(|m| m.message_id().map(|id| crm_domain::text::clean_inbound(id).0))
        .unwrap_or_else(|| format!("sha256:{}", sha256_hex(&raw_text)));
    app.write(|conn| {
        once(conn, "email", &message_id, now, |conn| {
            let mut lead = NewLead {
                channel: "email".into(),
                external_id: Some(message_id.clone()),
                raw_payload: Some(raw_text.clone()),
                ..Default::default()
            };
            let mut notes = Vec::new();
            match &parsed {
                Some(m) => {
                    let from = m.from().and_then(|a| a.first());
                    lead.name = from.and_then(|a| a.name()).map(clean);
                    lead.email = from.and_then(|a| a.address()).map(clean);
                    lead.subject = m.subject().map(clean);
                    lead.body = m.body_text(0).map(|b| clean(b.trim()));
                    lead.received_at = m.date().and_then(|d| Utc.timestamp_opt(d.to_timestamp(), 0).single());
                    if lead.email.is_none() {
                        notes.push("no sender address".to_owned());
                    }
                    if lead.body.is_none() {
                        notes.push("no text part".to_owned());
                    }
                    let recipients: Vec<String> = m
                        .to()
                        .into_iter()
                        .chain(m.cc())
                        .flat_map(|a| a.iter())
                        .filter_map(|a| a.address())
                        .filter_map(|a| Email::parse(a).ok())
                        .map(|e| e.as_str().to_owned())
                        .collect();
                    for r in recipients {
                        if let Some(mailbox) = q::channel_by_address(conn, "email", &r)? {
                            lead.source = Some(mailbox.name.clone());
                            lead.assignee_id = mailbox.assignee_id.map(Into::into);
                            break;
                        }
                    }
                }
                None => {
                    notes.push("not a MIME message; kept as given".to_owned());
                    lead.subject = Some("Unreadable e-mail".into());
                    lead.body = Some(raw_text.chars().take(20_000).collect());
                }
            }
            // The raw text's count covers what the plain message held; a
            // decoded part's own count is what its encoding hid.
            let n = raw_dropped.max(dropped.get());
            if n > 0 {
                notes.push(crm_domain::text::dropped_note(n));
            }
            let (mut row, _): (LeadRow, bool) = intake_in(conn, Some(actor), lead, now)?;
            if !notes.is_empty() {
                let version = row.version;
                let note = notes.join("; ");
                row.parse_note = Some(match row.parse_note.take() {
                    Some(n) => format!("{n}; {note}"),
                    None => note,
                });
                row.version += 1;
                q::update_lead(conn, &row, version)?;
            }
            Ok(Some(row.id))
        })
    })
}
