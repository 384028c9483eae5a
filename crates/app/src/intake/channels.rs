//! Where leads come from: mailboxes, Telegram bots, VK groups, phone lines and
//! website forms. Secrets are kept as digests and never returned.

use chrono::{DateTime, Utc};
use crm_domain::events::EventType;
use crm_domain::{Email, Phone};
use crm_store::queries::leads as q;
use crm_store::rows::ChannelRow;
use uuid::Uuid;

use crate::identity::auth::{random_token, sha256_hex};
use crate::identity::permissions;
use crate::identity::policy;
use crate::identity::principal::Principal;
use crate::platform::error::{AppError, Problems};
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::App;

pub const KINDS: [&str; 5] = ["email", "telegram", "vk", "phone", "form"];

#[derive(Debug, Clone)]
pub struct ChannelView {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    /// Mailbox address, bot name, VK group id, line number or form key.
    pub address: String,
    pub has_secret: bool,
    pub has_confirmation: bool,
    pub assignee_id: Option<Uuid>,
    pub allowed_origins: Vec<String>,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn view(r: ChannelRow) -> ChannelView {
    ChannelView {
        id: r.id.0,
        kind: r.kind,
        name: r.name,
        address: r.address,
        has_secret: r.secret_hash.is_some(),
        has_confirmation: r.confirmation.is_some(),
        assignee_id: r.assignee_id.map(Into::into),
        allowed_origins: r.allowed_origins.split_whitespace().map(str::to_owned).collect(),
        active: r.active,
        version: r.version,
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewChannel {
    pub kind: String,
    pub name: String,
    pub address: Option<String>,
    pub secret: Option<String>,
    pub confirmation: Option<String>,
    pub assignee_id: Option<Uuid>,
    pub allowed_origins: Vec<String>,
}

fn valid_origin(o: &str) -> bool {
    let rest = o.strip_prefix("https://").or_else(|| o.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.contains('/') && !r.contains(char::is_whitespace))
}

/// Registers a channel. Telegram needs the webhook's secret token, VK the
/// confirmation string (and optionally its secret key); a form gets a key
/// generated when none is given.
pub fn create_channel(app: &App, actor: &Principal, input: NewChannel) -> Result<ChannelView, AppError> {
    actor.require(&permissions::MANAGE_CHANNELS)?;
    let mut p = Problems::new();
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        p.push("name", "invalid", "1 to 200 characters");
    }
    let address = input.address.as_deref().map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned);
    let address = match input.kind.as_str() {
        "email" => address
            .as_deref()
            .and_then(|a| p.check("address", Email::parse(a)))
            .map(|e| e.as_str().to_owned()),
        "phone" => address
            .as_deref()
            .and_then(|a| p.check("address", Phone::parse(a)))
            .map(|ph| ph.as_str().to_owned()),
        "vk" => {
            if !address.as_deref().is_some_and(|a| !a.is_empty() && a.chars().all(|c| c.is_ascii_digit())) {
                p.push("address", "invalid_group_id", "the VK group id (digits)");
            }
            address
        }
        "telegram" => address.or_else(|| Some(format!("bot-{}", &random_token(6)))),
        "form" => {
            if address.as_deref().is_some_and(|a| {
                a.len() < 8 || !a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            }) {
                p.push("address", "invalid", "a form key of at least 8 letters, digits, - or _");
            }
            address.or_else(|| Some(random_token(12)))
        }
        _ => {
            p.push("kind", "invalid", "use email, telegram, vk, phone or form");
            None
        }
    };
    if (input.kind == "email" || input.kind == "phone") && address.is_none() && !p.has("address") {
        p.push("address", "required", "the mailbox address or the line's number");
    }
    let secret = input.secret.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if input.kind == "telegram" {
        match secret {
            Some(s)
                if s.len() <= 256 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') => {
            }
            _ => p.push("secret", "required", "Telegram's secret_token: 1–256 of A-Z, a-z, 0-9, _ and -"),
        }
    }
    let confirmation =
        input.confirmation.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    if input.kind == "vk" && confirmation.is_none() {
        p.push("confirmation", "required", "the confirmation string VK shows for the callback server");
    }
    for (i, o) in input.allowed_origins.iter().enumerate() {
        if !valid_origin(o) {
            p.push(
                &format!("allowed_origins[{i}]"),
                "invalid_origin",
                "an origin such as https://example.com",
            );
        }
    }
    p.into_result()?;
    let Some(address) = address else { return Err(AppError::internal("validated address missing")) };
    let now = app.now();
    app.write(|conn| {
        if let Some(a) = input.assignee_id {
            policy::assignable(conn, Some(actor), a, "assignee", policy::Holding::Sales)?;
        }
        if q::channel_by_address(conn, &input.kind, &address)?.is_some() {
            return Err(AppError::conflict(
                Some("address"),
                format!("a {} channel {address} already exists", input.kind),
            ));
        }
        let row = ChannelRow {
            id: crm_domain::new_id().into(),
            kind: input.kind.clone(),
            name: name.clone(),
            address: address.clone(),
            secret_hash: secret.map(sha256_hex),
            confirmation: confirmation.clone(),
            assignee_id: input.assignee_id.map(Into::into),
            allowed_origins: input.allowed_origins.join(" "),
            active: true,
            version: 1,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
        };
        q::insert_channel(conn, &row)?;
        outbox::record(
            conn,
            now,
            Some(actor),
            EventType::ChannelCreated,
            "channel",
            row.id.0,
            serde_json::json!({"id": row.id.0, "kind": row.kind, "name": row.name}),
        )?;
        Ok(view(row))
    })
}

pub fn list_channels(
    app: &App,
    actor: &Principal,
    kind: Option<String>,
    updated_since: Option<DateTime<Utc>>,
    page: PageRequest,
) -> Result<Page<ChannelView>, AppError> {
    actor.require(&permissions::MANAGE_CHANNELS)?;
    let syncs = page.syncs(updated_since);
    let since = updated_since.map(|t| t.naive_utc());
    let rows =
        app.read(|conn| Ok(q::list_channels(conn, kind.as_deref(), since, page.sync_query(updated_since))?))?;
    Ok(Page::from_rows(rows, page, |r| r.id.0, view).keyed(syncs, |v| (v.updated_at, v.id)))
}

/// Stops a channel: its deliveries are refused from now on.
pub fn deactivate_channel(app: &App, actor: &Principal, id: Uuid) -> Result<(), AppError> {
    actor.require(&permissions::MANAGE_CHANNELS)?;
    let now = app.now();
    app.write(|conn| {
        let mut row = q::find_channel(conn, id.into())?.ok_or(AppError::NotFound("channel"))?;
        if row.active {
            let v = row.version;
            row.active = false;
            row.version += 1;
            row.updated_at = now.naive_utc();
            q::update_channel(conn, &row, v)?;
            outbox::record(
                conn,
                now,
                Some(actor),
                EventType::ChannelDeactivated,
                "channel",
                id,
                serde_json::json!({"id": id}),
            )?;
        }
        Ok(())
    })
}
