//! E-mail from an interest: a plain-text letter to its contact (or whom the
//! manager names) with the interest's invoices and quotes as PDF. Recorded
//! before it is tried, so a failed send is kept and retried as invoice
//! sendings are; a sent one is a done e-mail interaction with its Message-ID,
//! which a reply names to join the same timeline (see `intake`).

use chrono::{DateTime, Utc};
use crm_domain::status::{EmailDirection, EmailStatus, OrderStatus};
use crm_store::queries::{documents as dq, orders as oq, sales as sq};
use crm_store::rows::InterestEmailRow;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use uuid::Uuid;

use crate::documents::invoices::{deliver, interest_recipient, invoice_pdf_seen, quote_pdf_seen, recipient};
use crate::identity::permissions;
use crate::identity::principal::{actor_parts, Principal};
use crate::platform::error::{AppError, Problems};
use crate::sales::visible_interest;
use crate::sales::work::{email_view, join_addresses, record_failed, record_sent, visible_email};
use crate::sales::work::{AttachmentKind, AttachmentRef, EmailView};
use crate::App;

/// How many addresses `to` and `cc` may each hold, and attachments a letter.
const MAX_ADDRESSES: usize = 20;
const MAX_ATTACHMENTS: usize = 10;

/// What the manager writes.
#[derive(Debug, Clone, Default)]
pub struct NewEmail {
    /// `None`: the interest's contact's address, else its client's.
    pub to: Option<Vec<String>>,
    pub cc: Vec<String>,
    pub subject: String,
    pub body: String,
    pub attachments: Vec<AttachmentRef>,
    /// An incoming e-mail of the same interest this one answers.
    pub reply_to: Option<Uuid>,
}

/// Checks a list of addresses, each by its own field name (`to[1]`).
fn addresses(p: &mut Problems, field: &str, list: &[String]) -> Vec<String> {
    if list.len() > MAX_ADDRESSES {
        p.push(field, "too_many", format!("at most {MAX_ADDRESSES} addresses"));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, raw) in list.iter().enumerate() {
        match recipient(raw) {
            Ok(a) if out.contains(&a) => {
                p.push(&format!("{field}[{i}]"), "duplicate", "this address is already listed")
            }
            Ok(a) => out.push(a),
            Err(AppError::Validation(errors)) => {
                for e in errors {
                    p.push(&format!("{field}[{i}]"), &e.code, e.message);
                }
            }
            Err(_) => p.push(&format!("{field}[{i}]"), "invalid_email", "not an address mail can go to"),
        }
    }
    out
}

/// The domain our Message-IDs carry: the From: address's, so a reply's
/// References point back at a name we own.
fn message_domain(app: &App) -> String {
    app.settings()
        .mail
        .from
        .parse::<Mailbox>()
        .map(|m| m.email.domain().to_owned())
        .unwrap_or_else(|_| "crm.invalid".to_owned())
}

/// E-mails the interest's contact (or `to`) from the interest. The letter is
/// stored first, then tried; the outcome is recorded on it and the timeline.
pub fn send_email(
    app: &App,
    actor: &Principal,
    interest: Uuid,
    input: NewEmail,
) -> Result<EmailView, AppError> {
    actor.require(&permissions::WRITE_INTERESTS)?;
    let mut p = Problems::new();
    let to = input.to.as_deref().map(|list| {
        if list.is_empty() {
            p.push("to", "empty", "name at least one address, or leave \"to\" out for the contact's");
        }
        addresses(&mut p, "to", list)
    });
    let cc = addresses(&mut p, "cc", &input.cc);
    let subject = p.text("subject", &input.subject, 500);
    let body = input.body.trim_end().to_owned();
    if body.trim().is_empty() {
        p.push("body", "blank", "must not be blank");
    } else if body.chars().count() > 100_000 {
        p.push("body", "too_long", "must be at most 100000 characters");
    }
    if input.attachments.len() > MAX_ATTACHMENTS {
        p.push("attachments", "too_many", format!("at most {MAX_ATTACHMENTS} documents"));
    }
    for (i, a) in input.attachments.iter().enumerate() {
        let (may, what) = match a.kind {
            AttachmentKind::Invoice => (actor.may(&permissions::READ_INVOICES), "invoices"),
            AttachmentKind::Quote => (actor.may(&permissions::READ_QUOTES), "quotes"),
        };
        if !may {
            p.push(
                &format!("attachments[{i}]"),
                "not_allowed",
                format!("you may not read {what}, so you may not send one"),
            );
        } else if input.attachments[..i].contains(a) {
            p.push(&format!("attachments[{i}]"), "duplicate", "this document is already attached");
        }
    }
    p.into_result()?;
    let now = app.now();
    let id = crm_domain::new_id();
    let message_id = format!("<email.{id}@{}>", message_domain(app));
    let email = app.write(|conn| {
        let (row, _) = visible_interest(conn, actor, interest)?;
        let mut p = Problems::new();
        for (i, a) in input.attachments.iter().enumerate() {
            let field = format!("attachments[{i}]");
            let of_interest = match a.kind {
                AttachmentKind::Invoice => match oq::find_order(conn, a.id.into())? {
                    Some(o) if o.interest_id == row.id && o.status == OrderStatus::Cancelled => {
                        p.push(
                            &field,
                            "cancelled",
                            format!("order {} is cancelled: it has no invoice", o.number),
                        );
                        true
                    }
                    Some(o) => o.interest_id == row.id,
                    None => false,
                },
                AttachmentKind::Quote => {
                    dq::find_quote(conn, a.id.into())?.is_some_and(|q| q.interest_id == row.id)
                }
            };
            if !of_interest {
                p.push(&field, "of_interest", "no document of this interest has this id");
            }
        }
        let in_reply_to = match input.reply_to {
            Some(r) => match sq::find_email(conn, r.into())? {
                Some(e) if e.interest_id == row.id && e.direction == EmailDirection::Incoming => {
                    Some(e.message_id)
                }
                _ => {
                    p.push("reply_to", "of_interest", "no e-mail received on this interest has this id");
                    None
                }
            },
            None => None,
        };
        p.into_result()?;
        let recipients = match &to {
            Some(list) => list.clone(),
            None => vec![interest_recipient(conn, &row)?.ok_or_else(|| {
                AppError::rule(
                    "recipient_known",
                    "the interest's contact and client have no e-mail; give \"to\"",
                )
            })?],
        };
        let e = InterestEmailRow {
            id: id.into(),
            interest_id: row.id,
            direction: EmailDirection::Outgoing.into(),
            status: EmailStatus::Pending.into(),
            from_address: Some(app.settings().mail.from.clone()),
            to_addresses: join_addresses(&recipients),
            cc_addresses: join_addresses(&cc),
            subject: subject.clone(),
            body: body.clone(),
            attachments: serde_json::to_string(&input.attachments)
                .map_err(|e| AppError::Internal(e.to_string()))?,
            message_id: message_id.clone(),
            in_reply_to,
            interaction_id: None,
            attempts: 0,
            last_error: None,
            requested_by: actor_parts(Some(actor)).1,
            sent_at: None,
            version: 1,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
        };
        sq::insert_email(conn, &e)?;
        Ok(e)
    })?;
    attempt(app, actor, email)
}

/// How long an attempt may stay unanswered before a retry may take it over.
const ATTEMPT_HOLD: chrono::Duration = chrono::Duration::minutes(2);

/// Tries a failed letter again (or one whose attempt was cut off more than
/// two minutes ago). It is claimed first, so two retries at once send one.
pub fn retry_email(app: &App, actor: &Principal, id: Uuid) -> Result<EmailView, AppError> {
    actor.require(&permissions::WRITE_INTERESTS)?;
    let now = app.now();
    let email = app.write(|conn| {
        let e = visible_email(conn, actor, id)?;
        if e.direction == EmailDirection::Incoming {
            return Err(AppError::conflict(None, "this e-mail was received; only ours are sent"));
        }
        if e.status == EmailStatus::Sent {
            return Err(AppError::conflict(None, "this e-mail was already sent"));
        }
        if sq::claim_email(conn, e.id, now.naive_utc(), (now - ATTEMPT_HOLD).naive_utc())? != 1 {
            return Err(AppError::conflict(
                None,
                "this e-mail is being sent right now; look again in a few minutes",
            ));
        }
        sq::find_email(conn, e.id)?.ok_or(AppError::NotFound("e-mail"))
    })?;
    attempt(app, actor, email)
}

fn build_message(
    app: &App,
    email: &InterestEmailRow,
    files: Vec<(String, Vec<u8>)>,
) -> Result<Message, String> {
    let from: Mailbox = app.settings().mail.from.parse().map_err(|e| format!("From: {e}"))?;
    let mut b =
        Message::builder().from(from).message_id(Some(email.message_id.clone())).subject(&email.subject);
    for a in email.to_addresses.split(", ").filter(|a| !a.is_empty()) {
        b = b.to(a.parse().map_err(|e| format!("To: {e}"))?);
    }
    for a in email.cc_addresses.split(", ").filter(|a| !a.is_empty()) {
        b = b.cc(a.parse().map_err(|e| format!("Cc: {e}"))?);
    }
    if let Some(r) = &email.in_reply_to {
        b = b.in_reply_to(r.clone()).references(r.clone());
    }
    let text = SinglePart::plain(email.body.clone());
    if files.is_empty() {
        return b.singlepart(text).map_err(|e| e.to_string());
    }
    let pdf = ContentType::parse("application/pdf").map_err(|e| e.to_string())?;
    let mut parts = MultiPart::mixed().singlepart(text);
    for (name, bytes) in files {
        parts = parts.singlepart(Attachment::new(name).body(bytes, pdf.clone()));
    }
    b.multipart(parts).map_err(|e| e.to_string())
}

/// One attempt outside any transaction (SMTP may take seconds), then its
/// outcome recorded in one. The Message-ID stays the same across attempts,
/// so a reply to any of them finds the interest.
fn attempt(app: &App, actor: &Principal, email: InterestEmailRow) -> Result<EmailView, AppError> {
    let refs: Vec<AttachmentRef> = serde_json::from_str(&email.attachments).unwrap_or_default();
    let mut files = Vec::with_capacity(refs.len());
    let mut outcome: Result<(), String> = Ok(());
    for r in &refs {
        let file = match r.kind {
            AttachmentKind::Invoice => invoice_pdf_seen(app, actor, r.id),
            AttachmentKind::Quote => quote_pdf_seen(app, actor, r.id),
        };
        match file {
            Ok(f) => files.push(f),
            Err(e) => {
                outcome = Err(format!("the {:?} {} could not be drawn: {e}", r.kind, r.id).to_lowercase());
                break;
            }
        }
    }
    let outcome = outcome.and_then(|()| build_message(app, &email, files)).and_then(|m| deliver(app, &m));
    let now: DateTime<Utc> = app.now();
    let saved = app.write(|conn| {
        let mut e = sq::find_email(conn, email.id)?.ok_or(AppError::NotFound("e-mail"))?;
        e.attempts += 1;
        e.updated_at = now.naive_utc();
        e.version += 1;
        match &outcome {
            Ok(()) => {
                e.status = EmailStatus::Sent.into();
                e.sent_at = Some(now.naive_utc());
                e.last_error = None;
                record_sent(conn, actor, now, &mut e)?;
            }
            Err(why) => {
                e.status = EmailStatus::Failed.into();
                e.last_error = Some(why.chars().take(1000).collect());
                record_failed(conn, actor, now, &e, why)?;
            }
        }
        sq::update_email(conn, &e)?;
        Ok(e)
    })?;
    match outcome {
        Ok(()) => Ok(email_view(saved)),
        Err(why) => {
            tracing::warn!(email = %saved.id.0, error = %why, "interest e-mail failed");
            Err(AppError::DeliveryFailed { message: why, attempt: saved.id.0, path: "interest-emails" })
        }
    }
}
