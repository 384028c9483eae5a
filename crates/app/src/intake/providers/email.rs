//! Raw e-mail (RFC 5322): decoded, deduplicated by Message-ID, routed by mailbox.

use chrono::{TimeZone, Utc};
use crm_domain::status::LeadStatus;
use crm_domain::Email;
use crm_store::queries::leads as q;
use crm_store::queries::sales as sq;
use crm_store::rows::LeadRow;

use super::*;
use crate::identity::auth::sha256_hex;
use crate::identity::permissions;
use crate::identity::principal::Principal;
use crate::intake::leads::{intake_in, NewLead};
use crate::platform::error::AppError;
use crate::sales::work::{record_reply, IncomingEmail};
use crate::App;

/// A raw message (RFC 5322) as an MTA or a mail fetcher hands it over. The
/// `Message-ID` is the dedupe key (a digest of the message when it has none).
/// A message to a connected mailbox with an owner goes to that manager;
/// otherwise to the shared inbox. Text is taken from the plain part, or made
/// from the HTML one; charsets and transfer encodings are decoded.
///
/// A reply is not a new lead: when `In-Reply-To` or `References` names a
/// message of an interest (one we sent from it, an invoice e-mailed from its
/// order, or a reply already kept there) it joins that interest's timeline;
/// when it names an e-mail lead's own message, it joins the lead while it is
/// open, or the interest the lead became.
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
    let thread = parsed.as_ref().map(thread_of).unwrap_or_default();
    app.write(|conn| {
        let mut delivered = once(conn, "email", &message_id, now, |conn| {
            let mut lead = NewLead {
                channel: "email".into(),
                external_id: Some(message_id.clone()),
                raw_payload: Some(raw_text.clone()),
                ..Default::default()
            };
            let mut notes = Vec::new();
            if let Some(m) = parsed.as_ref().filter(|_| !thread.is_empty()) {
                let interest = match sq::interest_of_message(conn, &thread)? {
                    Some(i) => Some(i),
                    None => match sq::lead_of_message(conn, &thread)? {
                        Some(lead) if lead.status == LeadStatus::New => {
                            return join_lead(conn, lead, m, &clean, now).map(Some);
                        }
                        Some(lead) => lead.interest_id,
                        None => None,
                    },
                };
                if let Some(interest) = interest {
                    record_reply(conn, actor, now, interest, incoming(m, &message_id, &clean))?;
                    return Ok(None);
                }
            }
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
        })?;
        if delivered.lead_id.is_none() {
            delivered.interest_id =
                sq::incoming_email_by_message(conn, &bracketed(&message_id))?.map(|e| e.interest_id.0);
        }
        Ok(delivered)
    })
}

/// The messages a reply answers, nearest first (`In-Reply-To`, then
/// `References` from the last), each as written with and without `<>`:
/// we store our own with them, a parsed one comes without.
fn thread_of(m: &mail_parser::Message<'_>) -> Vec<String> {
    let mut ids: Vec<&str> = Vec::new();
    ids.extend(m.in_reply_to().as_text_list().unwrap_or_default().iter().map(|c| c.as_ref()));
    ids.extend(m.references().as_text_list().unwrap_or_default().iter().rev().map(|c| c.as_ref()));
    let mut out: Vec<String> = Vec::new();
    for id in ids.into_iter().take(50) {
        let bare = crm_domain::text::clean_inbound(id.trim().trim_start_matches('<').trim_end_matches('>')).0;
        if bare.is_empty() || bare.len() > 500 {
            continue;
        }
        for form in [format!("<{bare}>"), bare] {
            if !out.contains(&form) {
                out.push(form);
            }
        }
    }
    out
}

fn addresses_of(list: Option<&mail_parser::Address<'_>>, clean: &impl Fn(&str) -> String) -> Vec<String> {
    list.into_iter().flat_map(|a| a.iter()).filter_map(|a| a.address()).map(clean).take(50).collect()
}

/// A Message-ID as it is written in a header, `<…>` (the parser drops them;
/// a digest stands for a message that had none and stays as it is).
fn bracketed(id: &str) -> String {
    if id.starts_with('<') || id.starts_with("sha256:") {
        id.to_owned()
    } else {
        format!("<{id}>")
    }
}

/// A reply as the interest keeps it.
fn incoming(
    m: &mail_parser::Message<'_>,
    message_id: &str,
    clean: &impl Fn(&str) -> String,
) -> IncomingEmail {
    IncomingEmail {
        from: m.from().and_then(|a| a.first()).and_then(|a| a.address()).map(clean),
        to: addresses_of(m.to(), clean),
        cc: addresses_of(m.cc(), clean),
        subject: m.subject().map(clean),
        body: m.body_text(0).map(|b| clean(b.trim()).chars().take(100_000).collect()),
        message_id: bracketed(message_id),
        in_reply_to: m.in_reply_to().as_text().map(|id| bracketed(&clean(id))),
    }
}

/// Adds a reply to the open lead whose message it answers.
fn join_lead(
    conn: &mut crm_store::DbConnection,
    mut lead: LeadRow,
    m: &mail_parser::Message<'_>,
    clean: &impl Fn(&str) -> String,
    now: chrono::DateTime<Utc>,
) -> Result<crm_store::DbUuid, AppError> {
    let version = lead.version;
    let from = m.from().and_then(|a| a.first()).and_then(|a| a.address()).map(clean).unwrap_or_default();
    let text = m.body_text(0).map(|b| clean(b.trim())).unwrap_or_default();
    let addition: String = format!("— {from} wrote again: {text}").chars().take(20_000).collect();
    lead.body = Some(match lead.body.take() {
        Some(b) => format!("{b}\n\n{addition}"),
        None => addition,
    });
    lead.version += 1;
    lead.updated_at = now.naive_utc();
    q::update_lead(conn, &lead, version)?;
    Ok(lead.id)
}
