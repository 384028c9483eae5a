//! Telegram Bot API updates: messages, edits and attachments of a chat join
//! its open lead.

use chrono::{TimeZone, Utc};
use crm_store::queries::leads as q;
use serde_json::Value;

use super::*;
use crate::identity::auth::sha256_hex;
use crate::intake::leads::NewLead;
use crate::platform::error::AppError;
use crate::App;

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

/// Every kind of Telegram message as text: its text or caption, and a line
/// describing what else it carries (`[photo]`, `[voice 0:12]`, `[location
/// 55.75,37.61]`…) with the file ids, so the manager can fetch the file
/// through the bot. A message of a kind we do not know is still a line.
pub(super) fn telegram_content(m: &Value) -> Said {
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
