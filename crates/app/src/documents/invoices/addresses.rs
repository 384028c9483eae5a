//! Mail as the mailer (lettre) takes it: the addresses it goes from and to,
//! and its delivery over SMTP or into the mail folder.

use crm_domain::Email;
use lettre::message::Mailbox;
use lettre::{FileTransport, Message, SmtpTransport, Transport};

use crate::platform::error::AppError;
use crate::App;

/// Refuses an SMTP URL lettre cannot use (checked at start-up).
pub fn check_smtp_url(url: &str) -> Result<(), String> {
    SmtpTransport::from_url(url).map(|_| ()).map_err(|e| format!("not a usable smtp:// or smtps:// URL: {e}"))
}

/// Refuses a From: mailbox that does not parse (`Name <addr@host>` or `addr@host`).
pub fn check_mailbox(raw: &str) -> Result<(), String> {
    raw.parse::<Mailbox>().map(|_| ()).map_err(|e| format!("{raw:?} is not a mailbox: {e}"))
}

/// A recipient the caller named: an e-mail address the mailer also takes,
/// checked before an attempt is recorded, so an address it would refuse is
/// the caller's to fix (422), not a failed delivery (502).
pub(crate) fn recipient(raw: &str) -> Result<String, AppError> {
    let email = Email::parse(raw).map_err(|e| AppError::field("to", e.code, e.message))?.to_string();
    email.parse::<lettre::Address>().map_err(|e| {
        AppError::field("to", "invalid_email", format!("{raw:?} is not an address mail can go to: {e}"))
    })?;
    Ok(email)
}

/// Where a letter about an interest goes when none is named: its contact's
/// e-mail, else its client's.
pub(crate) fn interest_recipient(
    conn: &mut crm_store::DbConnection,
    interest: &crm_store::rows::InterestRow,
) -> Result<Option<String>, AppError> {
    for (kind, owner) in [("contact", interest.contact_id), ("client", interest.client_id)] {
        if let Some(owner) = owner {
            let points = crm_store::queries::clients::points_of(conn, kind, &[owner])?;
            if let Some(p) = points.into_iter().find(|p| p.kind == "email") {
                return Ok(Some(p.value));
            }
        }
    }
    Ok(None)
}

/// Sends one message: over SMTP when `CRM_SMTP_URL` is set, else as an
/// `.eml` file in the mail folder. The error is the reason, for the record.
pub(crate) fn deliver(app: &App, message: &Message) -> Result<(), String> {
    let mail = &app.settings().mail;
    match &mail.smtp_url {
        Some(url) => {
            let transport = SmtpTransport::from_url(url)
                .map_err(|e| e.to_string())?
                .timeout(Some(std::time::Duration::from_secs(15)))
                .build();
            transport.send(message).map(|_| ()).map_err(|e| format!("SMTP: {e}"))
        }
        None => {
            std::fs::create_dir_all(&mail.dir)
                .map_err(|e| format!("mail folder {}: {e}", mail.dir.display()))?;
            FileTransport::new(&mail.dir).send(message).map(|_| ()).map_err(|e| format!("mail folder: {e}"))
        }
    }
}
