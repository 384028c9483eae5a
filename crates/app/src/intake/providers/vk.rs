//! VK Callback API events: the confirmation handshake and `message_new`.

use chrono::{TimeZone, Utc};
use crm_store::queries::leads as q;
use serde_json::Value;

use super::*;
use crate::identity::auth::sha256_hex;
use crate::intake::leads::NewLead;
use crate::platform::error::AppError;
use crate::App;

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
pub(super) fn vk_content(m: &Value) -> String {
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
