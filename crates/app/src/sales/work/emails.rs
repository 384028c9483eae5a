//! An interest's e-mails, both ways: the record of those sent from it (the
//! documents area sends them, since they carry its PDFs) and the replies that
//! came back, each also a done e-mail interaction on the timeline.

use chrono::{DateTime, Utc};
use crm_domain::events::EventType;
use crm_domain::status::{EmailDirection, EmailStatus, TimelineKind};
use crm_store::queries::sales as q;
use crm_store::rows::InterestEmailRow;
use crm_store::{DbConnection, DbUuid};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::principal::{actor_parts, Principal};
use crate::platform::error::AppError;
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::sales::work::{complete_interaction_row, plan_interaction_row};
use crate::sales::{notify, timeline, visible_interest};
use crate::App;

/// A document of the interest sent along as PDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    /// The invoice of an order (`id`: the order).
    Invoice,
    /// A printable quote (`id`: the quote).
    Quote,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    pub kind: AttachmentKind,
    pub id: Uuid,
}

#[derive(Debug, Clone)]
pub struct EmailView {
    pub id: Uuid,
    pub interest_id: Uuid,
    pub direction: EmailDirection,
    pub status: EmailStatus,
    pub from: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub body: String,
    pub attachments: Vec<AttachmentRef>,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub interaction_id: Option<Uuid>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Addresses as stored: joined by ", ".
pub(crate) fn join_addresses(list: &[String]) -> String {
    list.join(", ")
}

fn split_addresses(s: &str) -> Vec<String> {
    s.split(", ").filter(|a| !a.is_empty()).map(str::to_owned).collect()
}

pub fn email_view(r: InterestEmailRow) -> EmailView {
    EmailView {
        id: r.id.0,
        interest_id: r.interest_id.0,
        direction: r.direction.0,
        status: r.status.0,
        from: r.from_address,
        to: split_addresses(&r.to_addresses),
        cc: split_addresses(&r.cc_addresses),
        subject: r.subject,
        body: r.body,
        attachments: serde_json::from_str(&r.attachments).unwrap_or_default(),
        message_id: r.message_id,
        in_reply_to: r.in_reply_to,
        interaction_id: r.interaction_id.map(Into::into),
        attempts: r.attempts,
        last_error: r.last_error,
        sent_at: r.sent_at.map(|t| t.and_utc()),
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
    }
}

/// An interest's e-mails, both ways, oldest first.
pub fn list_emails(
    app: &App,
    actor: &Principal,
    interest: Uuid,
    page: PageRequest,
) -> Result<Page<EmailView>, AppError> {
    actor.require(&permissions::READ_INTERESTS)?;
    app.read(|conn| {
        visible_interest(conn, actor, interest)?;
        let rows = q::emails_of_page(conn, interest.into(), page.query())?;
        Ok(Page::from_rows(rows, page, |r| r.id.0, email_view))
    })
}

/// An e-mail the caller may see: one of an interest they see.
pub(crate) fn visible_email(
    conn: &mut DbConnection,
    actor: &Principal,
    id: Uuid,
) -> Result<InterestEmailRow, AppError> {
    let row = q::find_email(conn, id.into())?.ok_or(AppError::NotFound("e-mail"))?;
    visible_interest(conn, actor, row.interest_id.0).map_err(|_| AppError::NotFound("e-mail"))?;
    Ok(row)
}

pub fn get_email(app: &App, actor: &Principal, id: Uuid) -> Result<EmailView, AppError> {
    actor.require(&permissions::READ_INTERESTS)?;
    app.read(|conn| Ok(email_view(visible_email(conn, actor, id)?)))
}

/// Records a sent e-mail's outcome as a done e-mail interaction with its
/// Message-ID, on the timeline and in the feed.
pub(crate) fn record_sent(
    conn: &mut DbConnection,
    actor: &Principal,
    now: DateTime<Utc>,
    email: &mut InterestEmailRow,
) -> Result<(), AppError> {
    let to = email.to_addresses.clone();
    let interaction =
        plan_interaction_row(conn, actor, now, email.interest_id, "email", &email.subject, None)?;
    let interaction = complete_interaction_row(
        conn,
        actor,
        now,
        interaction,
        &format!("sent to {to}, Message-ID {}", email.message_id),
    )?;
    email.interaction_id = Some(interaction.id);
    timeline(
        conn,
        email.interest_id,
        Some(actor),
        now,
        TimelineKind::EmailSent,
        format!("E-mail \"{}\" sent to {to}", email.subject),
        serde_json::json!({"email_id": email.id.0, "interaction_id": interaction.id.0, "to": to, "message_id": email.message_id}),
    )?;
    outbox::record(
        conn,
        now,
        Some(actor),
        EventType::InteractionCreated,
        "interaction",
        interaction.id.0,
        serde_json::json!({"id": interaction.id.0, "interest_id": email.interest_id.0, "type": "email", "status": "done"}),
    )?;
    Ok(())
}

/// Records a failed attempt on the interest's timeline.
pub(crate) fn record_failed(
    conn: &mut DbConnection,
    actor: &Principal,
    now: DateTime<Utc>,
    email: &InterestEmailRow,
    why: &str,
) -> Result<(), AppError> {
    timeline(
        conn,
        email.interest_id,
        Some(actor),
        now,
        TimelineKind::EmailSendFailed,
        format!("E-mail \"{}\" could not be sent to {}: {why}", email.subject, email.to_addresses),
        serde_json::json!({"email_id": email.id.0, "error": why}),
    )
}

/// A message that came in answering one of ours, as the intake read it.
#[derive(Debug, Clone, Default)]
pub struct IncomingEmail {
    pub from: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub message_id: String,
    pub in_reply_to: Option<String>,
}

/// Adds a reply to its interest: an incoming e-mail, a done e-mail
/// interaction (whatever state the interest is in: a client answers when
/// they answer), a timeline entry and a notification to the responsible.
pub(crate) fn record_reply(
    conn: &mut DbConnection,
    actor: &Principal,
    now: DateTime<Utc>,
    interest: DbUuid,
    mail: IncomingEmail,
) -> Result<InterestEmailRow, AppError> {
    let interest_row = q::find_interest(conn, interest)?.ok_or(AppError::NotFound("interest"))?;
    let subject: String =
        mail.subject.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "(no subject)".into());
    let subject: String = subject.trim().chars().take(500).collect();
    let from = mail.from.clone().unwrap_or_else(|| "an unknown sender".into());
    let interaction = plan_interaction_row(conn, actor, now, interest, "email", &subject, None)?;
    let interaction = complete_interaction_row(
        conn,
        actor,
        now,
        interaction,
        &format!("received from {from}, Message-ID {}", mail.message_id),
    )?;
    let row = InterestEmailRow {
        id: crm_domain::new_id().into(),
        interest_id: interest,
        direction: EmailDirection::Incoming.into(),
        status: EmailStatus::Received.into(),
        from_address: mail.from,
        to_addresses: join_addresses(&mail.to),
        cc_addresses: join_addresses(&mail.cc),
        subject: subject.clone(),
        body: mail.body.unwrap_or_default(),
        attachments: "[]".into(),
        message_id: mail.message_id,
        in_reply_to: mail.in_reply_to,
        interaction_id: Some(interaction.id),
        attempts: 0,
        last_error: None,
        requested_by: actor_parts(Some(actor)).1,
        sent_at: None,
        version: 1,
        created_at: now.naive_utc(),
        updated_at: now.naive_utc(),
    };
    q::insert_email(conn, &row)?;
    timeline(
        conn,
        interest,
        Some(actor),
        now,
        TimelineKind::EmailReceived,
        format!("E-mail \"{subject}\" received from {from}"),
        serde_json::json!({"email_id": row.id.0, "interaction_id": interaction.id.0, "from": row.from_address, "message_id": row.message_id}),
    )?;
    notify(
        conn,
        interest_row.responsible_id,
        Some(interest),
        &format!("{from} replied on \"{}\": {subject}", interest_row.title),
        now,
    )?;
    outbox::record(
        conn,
        now,
        Some(actor),
        EventType::InteractionCreated,
        "interaction",
        interaction.id.0,
        serde_json::json!({"id": interaction.id.0, "interest_id": interest.0, "type": "email", "status": "done"}),
    )?;
    Ok(row)
}
