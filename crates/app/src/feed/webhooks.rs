//! Webhooks admins register: where the change feed is pushed, which event
//! types, and each one's signing secret (shown on creation and rotation
//! only). Targets must be public `https` addresses unless the deployment
//! allows private ones (`CRM_WEBHOOKS_ALLOW_PRIVATE`): a CRM must not be a
//! way into its own network.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use chrono::{DateTime, Utc};
use crm_domain::status::DeliveryStatus;
use crm_store::queries::outbox::{self as oq, FeedPosition};
use crm_store::queries::webhooks as q;
use crm_store::rows::{WebhookAttemptRow, WebhookDeliveryRow, WebhookRow};
use crm_store::DbConnection;
use uuid::Uuid;

use crate::feed::events::{parse_types, TypePattern};
use crate::identity::permissions;
use crate::identity::principal::Principal;
use crate::platform::error::{check_version, AppError, Problems};
use crate::platform::page::{Page, PageRequest};
use crate::App;

#[derive(Debug, Clone)]
pub struct WebhookView {
    pub id: Uuid,
    pub url: String,
    pub types: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    /// Why it was switched off by itself (a run of dead deliveries, a 410).
    pub disabled_reason: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(r: WebhookRow) -> Result<WebhookView, AppError> {
    Ok(WebhookView {
        id: r.id.0,
        url: r.url,
        types: serde_json::from_str(&r.types).map_err(AppError::internal)?,
        description: r.description,
        active: r.active,
        disabled_reason: r.disabled_reason,
        version: r.version,
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
    })
}

/// Why a target address is refused, or `None` when it is public.
fn private_reason(ip: IpAddr) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                Some("a loopback address")
            } else if v4.is_private() {
                Some("a private address")
            } else if v4.is_link_local() {
                Some("a link-local address (cloud metadata lives there)")
            } else if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || a == 0 {
                Some("not a unicast address")
            } else if a == 100 && (64..128).contains(&b) {
                Some("a shared (carrier-grade NAT) address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("a loopback address")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("not a unicast address")
            } else if first & 0xfe00 == 0xfc00 {
                Some("a unique-local address")
            } else if first & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else {
                None
            }
        }
    }
}

/// A target a delivery may be sent to: its URL and the addresses it
/// resolved to, every one of them allowed (a name that resolves to one
/// private address among public ones is refused: DNS answers can rotate).
#[derive(Debug, Clone)]
pub struct Target {
    pub url: url::Url,
    pub addrs: Vec<SocketAddr>,
}

/// Checks a webhook URL now (at creation and before every delivery, since a
/// DNS answer can change): `https` and public addresses only, unless
/// `allow_private`. Redirects are never followed, so this is the address
/// the request reaches.
pub fn check_target(raw: &str, allow_private: bool) -> Result<Target, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        other => return Err(format!("must be https (not {other})")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password; the signature authenticates us".to_owned());
    }
    let host = url.host_str().ok_or("has no host")?.trim_matches(['[', ']']).to_owned();
    let port = url.port_or_known_default().ok_or("has no port")?;
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| format!("{host} does not resolve: {e}"))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(format!("{host} does not resolve"));
    }
    if !allow_private {
        for a in &addrs {
            if let Some(why) = private_reason(a.ip()) {
                return Err(format!("{host} is {why} ({}); webhooks go to public addresses only", a.ip()));
            }
        }
    }
    Ok(Target { url, addrs })
}

#[derive(Debug, Clone, Default)]
pub struct WebhookInput {
    pub url: Option<String>,
    pub types: Option<Vec<String>>,
    /// `Some(None)`: clear it.
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
}

/// Types or prefixes one webhook may list.
const MAX_TYPES: usize = 50;

fn new_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key))
}

/// Checks and normalises the fields given; every bad one is named.
fn checked(
    app: &App,
    input: &WebhookInput,
    p: &mut Problems,
) -> (Option<String>, Option<Vec<String>>, Option<Option<String>>) {
    let url = input.url.as_deref().and_then(|u| {
        let u = p.text("url", u, 2000);
        match check_target(&u, app.settings().webhooks_allow_private) {
            Ok(_) => Some(u),
            Err(why) => {
                p.push("url", "url_refused", why);
                None
            }
        }
    });
    let types = input.types.as_ref().and_then(|t| match parse_types(t) {
        Ok(_) if t.len() > MAX_TYPES => {
            p.push("types", "too_many", format!("at most {MAX_TYPES} types or prefixes"));
            None
        }
        Ok(parsed) if parsed.iter().any(|p| matches!(p, TypePattern::Exact(k) if !k.is_stored())) => {
            p.push(
                "types",
                "never_delivered",
                "tombstones (`*.removed`) are made for one feed reader and webhook.test only by POST /webhooks/{id}/test; a webhook never receives them",
            );
            None
        }
        Ok(_) => Some(t.iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()),
        Err(AppError::Validation(errors) | AppError::Malformed(errors)) => {
            for e in errors {
                p.push("types", &e.code, e.message);
            }
            None
        }
        Err(_) => None,
    });
    let description = input.description.as_ref().map(|d| d.as_deref().map(|d| p.text("description", d, 500)));
    (url, types, description)
}

/// Registers a webhook; it receives events written from now on (`replay`
/// sends older ones). Returns it and its secret, shown this once.
pub fn create_webhook(
    app: &App,
    actor: &Principal,
    input: WebhookInput,
) -> Result<(WebhookView, String), AppError> {
    actor.require(&permissions::MANAGE_WEBHOOKS)?;
    let mut p = Problems::new();
    if input.url.is_none() {
        p.push("url", "required", "the receiver's https URL");
    }
    let (url, types, description) = checked(app, &input, &mut p);
    p.into_result()?;
    let url = url.ok_or_else(|| AppError::internal("validated url missing"))?;
    let now = app.now();
    let secret = new_secret();
    app.write(|conn| {
        let start = oq::feed_end(conn)?.unwrap_or_default();
        let row = WebhookRow {
            id: crm_domain::new_id().into(),
            url,
            types: serde_json::to_string(&types.unwrap_or_default()).map_err(AppError::internal)?,
            description: description.flatten(),
            secret: secret.clone(),
            active: input.active.unwrap_or(true),
            disabled_reason: None,
            dead_run: 0,
            feed_tx_id: start.tx_id,
            feed_seq: start.seq,
            created_by: actor.user().map(|u| u.id.into()),
            version: 1,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
        };
        q::insert_webhook(conn, &row)?;
        Ok((view(row)?, secret.clone()))
    })
}

fn found(conn: &mut DbConnection, id: Uuid) -> Result<WebhookRow, AppError> {
    q::find_webhook(conn, id.into())?.ok_or(AppError::NotFound("webhook"))
}

pub fn get_webhook(app: &App, actor: &Principal, id: Uuid) -> Result<WebhookView, AppError> {
    actor.require(&permissions::MANAGE_WEBHOOKS)?;
    app.read(|conn| view(found(conn, id)?))
}

pub fn list_webhooks(app: &App, actor: &Principal, page: PageRequest) -> Result<Page<WebhookView>, AppError> {
    actor.require(&permissions::MANAGE_WEBHOOKS)?;
    app.read(|conn| {
        Page::try_from_rows(
            q::list_webhooks(conn, page.query())?,
            page,
            |r| r.id.0,
            |rows| rows.into_iter().map(view).collect(),
        )
    })
}

/// Changes what is given. Switching a webhook back on clears why it was off
/// and its run of dead deliveries (`replay` then sends what it missed).
pub fn update_webhook(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected: Option<i64>,
    input: WebhookInput,
) -> Result<WebhookView, AppError> {
    actor.require(&permissions::MANAGE_WEBHOOKS)?;
    let mut p = Problems::new();
    let (url, types, description) = checked(app, &input, &mut p);
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        let mut row = found(conn, id)?;
        check_version(expected, row.version)?;
        if let Some(u) = url {
            row.url = u;
        }
        if let Some(t) = types {
            row.types = serde_json::to_string(&t).map_err(AppError::internal)?;
        }
        if let Some(d) = description {
            row.description = d;
        }
        if let Some(a) = input.active {
            if a && !row.active {
                row.disabled_reason = None;
                row.dead_run = 0;
            }
            row.active = a;
        }
        let version = row.version;
        row.version += 1;
        row.updated_at = now.naive_utc();
        if q::update_webhook(conn, &row, version)? != 1 {
            return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
        }
        view(row)
    })
}

/// Deletes a webhook and its delivery history.
pub fn delete_webhook(app: &App, actor: &Principal, id: Uuid) -> Result<(), AppError> {
    actor.require(&permissions::MANAGE_WEBHOOKS)?;
    app.write(|conn| {
        if q::delete_webhook(conn, id.into())? == 0 {
            return Err(AppError::NotFound("webhook"));
        }
        Ok(())
    })
}

/// A new secret, shown this once; the old one stops signing at once.
pub fn rotate_secret(app: &App, actor: &Principal, id: Uuid) -> Result<(WebhookView, String), AppError> {
    actor.require(&permissions::MANAGE_WEBHOOKS)?;
    let now = app.now();
    let secret = new_secret();
    app.write(|conn| {
        let mut row = found(conn, id)?;
        let version = row.version;
        row.secret = secret.clone();
        row.version += 1;
        row.updated_at = now.naive_utc();
        if q::update_webhook(conn, &row, version)? != 1 {
            return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
        }
        Ok((view(row)?, secret.clone()))
    })
}

/// Sends everything since `after` again (and what was never enqueued), and
/// switches the webhook on: how an endpoint back from an outage catches up.
/// Returns how many deliveries were put back in the queue.
pub fn replay(app: &App, actor: &Principal, id: Uuid, after: FeedPosition) -> Result<usize, AppError> {
    actor.require(&permissions::MANAGE_WEBHOOKS)?;
    let now = app.now();
    app.write(|conn| {
        if let Some(h) = oq::horizon(conn)? {
            if after < h {
                return Err(AppError::CursorExpired);
            }
        }
        let mut row = found(conn, id)?;
        let again = q::reset_after(conn, row.id, after, now.naive_utc())?;
        let position = FeedPosition { tx_id: row.feed_tx_id, seq: row.feed_seq };
        if after < position {
            row.feed_tx_id = after.tx_id;
            row.feed_seq = after.seq;
        }
        let version = row.version;
        row.active = true;
        row.disabled_reason = None;
        row.dead_run = 0;
        row.version += 1;
        row.updated_at = now.naive_utc();
        if q::update_webhook(conn, &row, version)? != 1 {
            return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
        }
        Ok(again)
    })
}

#[derive(Debug, Clone)]
pub struct AttemptView {
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// The first KiB of the receiver's answer.
    pub response_excerpt: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DeliveryView {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: Vec<AttemptView>,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn delivery_views(
    conn: &mut DbConnection,
    rows: Vec<WebhookDeliveryRow>,
) -> Result<Vec<DeliveryView>, AppError> {
    let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
    let mut attempts: Vec<WebhookAttemptRow> = q::attempts_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mine: Vec<AttemptView> = attempts
                .iter()
                .filter(|a| a.delivery_id == r.id)
                .map(|a| AttemptView {
                    attempted_at: a.attempted_at.and_utc(),
                    status_code: a.status_code,
                    latency_ms: a.latency_ms,
                    error: a.error.clone(),
                    response_excerpt: a.response_excerpt.clone(),
                })
                .collect();
            attempts.retain(|a| a.delivery_id != r.id);
            DeliveryView {
                id: r.id.0,
                webhook_id: r.webhook_id.0,
                event_id: r.event_id.0,
                event_type: r.event_type,
                status: r.status.0,
                attempts: mine,
                next_attempt_at: (r.status.0 == DeliveryStatus::Pending).then(|| r.next_attempt_at.and_utc()),
                created_at: r.created_at.and_utc(),
                updated_at: r.updated_at.and_utc(),
            }
        })
        .collect())
}

pub fn list_deliveries(
    app: &App,
    actor: &Principal,
    id: Uuid,
    status: Option<DeliveryStatus>,
    page: PageRequest,
) -> Result<Page<DeliveryView>, AppError> {
    actor.require(&permissions::MANAGE_WEBHOOKS)?;
    app.read(|conn| {
        found(conn, id)?;
        let rows = q::list_deliveries(conn, id.into(), status, page.query())?;
        Page::try_from_rows(rows, page, |r| r.id.0, |rows| delivery_views(conn, rows))
    })
}

/// Puts one delivery back in the queue, due now, with a fresh schedule.
pub fn redeliver(app: &App, actor: &Principal, delivery: Uuid) -> Result<DeliveryView, AppError> {
    actor.require(&permissions::MANAGE_WEBHOOKS)?;
    let now = app.now().naive_utc();
    app.write(|conn| {
        let row = q::find_delivery(conn, delivery.into())?.ok_or(AppError::NotFound("webhook delivery"))?;
        q::set_outcome(conn, row.id, DeliveryStatus::Pending, 0, now, row.last_status, now)?;
        let row = q::find_delivery(conn, row.id)?.ok_or(AppError::NotFound("webhook delivery"))?;
        delivery_views(conn, vec![row])?.pop().ok_or_else(|| AppError::internal("delivery view missing"))
    })
}

/// What `POST /webhooks/{id}/test` sends to: the target (checked now) and secret.
pub struct TestTarget {
    pub target: Target,
    pub secret: String,
    pub webhook_id: Uuid,
}

pub fn test_target(app: &App, actor: &Principal, id: Uuid) -> Result<TestTarget, AppError> {
    actor.require(&permissions::MANAGE_WEBHOOKS)?;
    let row = app.read(|conn| found(conn, id))?;
    let target = check_target(&row.url, app.settings().webhooks_allow_private)
        .map_err(|why| AppError::rule("url_refused", why))?;
    Ok(TestTarget { target, secret: row.secret, webhook_id: row.id.0 })
}

/// The patterns a webhook's `types` hold (checked when they were stored).
pub(crate) fn patterns(row: &WebhookRow) -> Result<Vec<TypePattern>, AppError> {
    let raw: Vec<String> = serde_json::from_str(&row.types).map_err(AppError::internal)?;
    parse_types(&raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_https_targets_pass_unless_private_ones_are_allowed() {
        for refused in [
            "http://93.184.216.34/",
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd12::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://localhost:8443/",
            "https://u:p@93.184.216.34/",
        ] {
            assert!(check_target(refused, false).is_err(), "{refused} passed");
        }
        let t = check_target("https://93.184.216.34:8443/hook", false).unwrap();
        assert_eq!(t.addrs, vec!["93.184.216.34:8443".parse().unwrap()]);
        assert!(check_target("https://[2606:2800:220:1:248:1893:25c8:1946]/", false).is_ok());
        // The override admits plain http and private addresses, never other schemes.
        assert!(check_target("http://127.0.0.1:9/hook", true).is_ok());
        assert!(check_target("ftp://127.0.0.1/", true).is_err());
    }
}
