//! Telephony: call events from the PBX; an unknown or missed inbound call
//! becomes a lead.

use chrono::{DateTime, Utc};
use crm_domain::status::{CallStatus, Word};
use crm_domain::Phone;
use crm_store::queries::{clients as cq, leads as q};

use super::*;
use crate::identity::permissions;
use crate::identity::principal::Principal;
use crate::intake::leads::{intake_in, NewLead};
use crate::platform::error::{AppError, Problems};
use crate::App;

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
    let status = p.word("status", &e.status, CallStatus::ALL, "answered or missed");
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
                Some(ph) => !cq::owners_of_point(conn, "phone", ph.as_str())?.is_empty(),
                None => false,
            };
            if known && status == Some(CallStatus::Answered) {
                return Ok(None);
            }
            let line = match Phone::parse(&e.to) {
                Ok(to) => q::channel_by_address(conn, "phone", to.as_str())?,
                Err(_) => None,
            };
            let subject =
                if status == Some(CallStatus::Missed) { "Missed call" } else { "Call from a new number" };
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
