//! Raw e-mail (RFC 5322): decoded, deduplicated by Message-ID, routed by mailbox.

use chrono::{TimeZone, Utc};
use crm_domain::Email;
use crm_store::queries::leads as q;
use crm_store::rows::LeadRow;

use super::*;
use crate::identity::auth::sha256_hex;
use crate::identity::permissions;
use crate::identity::principal::Principal;
use crate::intake::leads::{intake_in, NewLead};
use crate::platform::error::AppError;
use crate::App;

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
