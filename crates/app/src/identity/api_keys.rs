//! API keys for integrations: created by an admin, shown once, stored as a
//! digest, scoped, expiring and revocable.

use chrono::{DateTime, Utc};
use crm_domain::events::EventType;
use crm_domain::{PersonName, Scope};
use crm_store::queries::auth as q;
use crm_store::rows::ApiKeyRow;
use rand::RngCore;
use uuid::Uuid;

use crate::identity::auth;
use crate::identity::auth::{parse_scopes, sha256_hex, API_KEY_PREFIX};
use crate::identity::permissions;
use crate::identity::principal::Principal;
use crate::platform::error::{AppError, Problems};
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::App;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    Active,
    Expired,
    Revoked,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Expired => "expired",
            KeyStatus::Revoked => "revoked",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    /// The public part of the key (`crm_<prefix>_…`), to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub status: KeyStatus,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

pub(crate) fn view(row: ApiKeyRow, now: DateTime<Utc>) -> ApiKeyView {
    let status = if row.revoked_at.is_some() {
        KeyStatus::Revoked
    } else if row.expires_at.is_some_and(|t| t <= now.naive_utc()) {
        KeyStatus::Expired
    } else {
        KeyStatus::Active
    };
    ApiKeyView {
        id: row.id.0,
        name: row.name,
        prefix: format!("{API_KEY_PREFIX}{}", row.prefix),
        scopes: parse_scopes(&row.scopes),
        status,
        created_by: row.created_by.map(Into::into),
        created_at: row.created_at.and_utc(),
        expires_at: row.expires_at.map(|t| t.and_utc()),
        revoked_at: row.revoked_at.map(|t| t.and_utc()),
        last_used_at: row.last_used_at.map(|t| t.and_utc()),
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewApiKey {
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A key just made: the only time its secret is seen.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    pub key: ApiKeyView,
    pub secret: String,
}

pub fn create_api_key(app: &App, actor: &Principal, input: NewApiKey) -> Result<CreatedApiKey, AppError> {
    actor.require(&permissions::MANAGE_API_KEYS)?;
    let now = app.now();
    let mut p = Problems::new();
    let name = p.check("name", PersonName::parse(&input.name));
    let mut scopes = Vec::new();
    if input.scopes.is_empty() {
        p.push("scopes", "empty", "name at least one scope");
    }
    for (i, raw) in input.scopes.iter().enumerate() {
        if let Some(scope) = p.check(&format!("scopes[{i}]"), raw.parse::<Scope>()) {
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
    }
    if input.expires_at.is_some_and(|t| t <= now) {
        p.push("expires_at", "in_the_past", "must be in the future");
    }
    p.into_result()?;
    let Some(name) = name else {
        return Err(AppError::internal("validated name missing"));
    };
    scopes.sort();

    let mut prefix_bytes = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut prefix_bytes);
    let prefix = hex::encode(prefix_bytes);
    let secret = format!("{API_KEY_PREFIX}{prefix}_{}", auth::random_token(32));
    let id = crm_domain::new_id();
    let row = ApiKeyRow {
        id: id.into(),
        name: name.as_str().to_owned(),
        prefix,
        secret_hash: sha256_hex(&secret),
        scopes: scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "),
        created_by: actor.user().map(|u| u.id.into()),
        created_at: now.naive_utc(),
        expires_at: input.expires_at.map(|t| t.naive_utc()),
        revoked_at: None,
        last_used_at: None,
    };
    app.write(|conn| {
        q::insert_api_key(conn, &row)?;
        let key = view(row.clone(), now);
        outbox::record(
            conn,
            now,
            Some(actor),
            EventType::ApiKeyCreated,
            "api_key",
            id,
            serde_json::json!({"id": id, "name": key.name, "scopes": row.scopes, "expires_at": key.expires_at}),
        )?;
        Ok(CreatedApiKey { key, secret })
    })
}

pub fn list_api_keys(app: &App, actor: &Principal, page: PageRequest) -> Result<Page<ApiKeyView>, AppError> {
    actor.require(&permissions::MANAGE_API_KEYS)?;
    let now = app.now();
    let rows = app.read(|conn| Ok(q::list_api_keys(conn, page.query())?))?;
    Ok(Page::from_rows(rows, page, |r| r.id.0, |r| view(r, now)))
}

/// Revokes a key; revoking a revoked key changes nothing and succeeds.
pub fn revoke_api_key(app: &App, actor: &Principal, id: Uuid) -> Result<(), AppError> {
    actor.require(&permissions::MANAGE_API_KEYS)?;
    let now = app.now();
    app.write(|conn| {
        q::find_api_key(conn, id.into())?.ok_or(AppError::NotFound("API key"))?;
        if q::revoke_api_key(conn, id.into(), now.naive_utc())? == 1 {
            outbox::record(
                conn,
                now,
                Some(actor),
                EventType::ApiKeyRevoked,
                "api_key",
                id,
                serde_json::json!({"id": id}),
            )?;
        }
        Ok(())
    })
}
