//! Website forms: per-form origins, the honeypot and the per-address limit.

use chrono::Duration;
use crm_domain::{Email, Phone};
use crm_store::queries::leads as q;
use crm_store::rows::ChannelRow;
use uuid::Uuid;

use super::*;
use crate::identity::auth::sha256_hex;
use crate::intake::leads::{intake_in, NewLead};
use crate::platform::error::{AppError, Problems};
use crate::App;

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
