//! Turns the change feed into webhook deliveries and keeps their schedule.
//! The API's dispatcher sends them; this side decides what is due and what
//! an attempt's outcome means. Deliveries are claimed by lease in short
//! transactions (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so several
//! instances send each one once, and no transaction stays open while a
//! receiver is slow (an open one would hold the feed's horizon back).

use chrono::{DateTime, Duration, Utc};
use crm_domain::events::EventType;
use crm_domain::status::DeliveryStatus;
use crm_store::queries::outbox::{self as oq, FeedPosition};
use crm_store::queries::webhooks as q;
use crm_store::rows::{WebhookAttemptRow, WebhookDeliveryRow};
use crm_store::DbWord;
use uuid::Uuid;

use crate::feed::events::{FeedItem, TypePattern};
use crate::feed::webhooks::{check_target, patterns, Target};
use crate::platform::error::AppError;
use crate::App;

/// Waits after the 1st, 2nd, … failed attempt; after the last the delivery
/// is dead. About a day in all.
pub const RETRY_SCHEDULE: [Duration; 7] = [
    Duration::seconds(5),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(5),
    Duration::hours(10),
    Duration::hours(10),
];

/// Dead deliveries in a row after which an endpoint is switched off.
pub const DEAD_RUN_LIMIT: i32 = 5;

/// How long a claimed delivery is held for its dispatcher (well past the
/// 10 s an attempt may take); a crashed dispatcher's claim lapses after it.
const LEASE: Duration = Duration::minutes(2);

/// Feed events one webhook takes into its queue per run.
const ENQUEUE_BATCH: i64 = 500;

/// Turns new feed events into deliveries, for every active webhook another
/// instance is not handling this moment. Returns how many were added.
pub fn enqueue(app: &App) -> Result<usize, AppError> {
    let now = app.now().naive_utc();
    app.write(|conn| {
        let mut added = 0;
        for mut hook in q::claim_active(conn)? {
            let wanted = patterns(&hook)?;
            let sql: Option<Vec<String>> =
                (!wanted.is_empty()).then(|| wanted.iter().map(TypePattern::sql).collect());
            let from = FeedPosition { tx_id: hook.feed_tx_id, seq: hook.feed_seq };
            let events = oq::feed_after(conn, from, sql.as_deref(), ENQUEUE_BATCH)?;
            let Some(last) = events.last().map(FeedPosition::of) else { continue };
            let rows: Vec<WebhookDeliveryRow> = events
                .into_iter()
                .filter(|e| {
                    EventType::parse(&e.kind)
                        .is_some_and(|k| wanted.is_empty() || wanted.iter().any(|p| p.matches(k)))
                })
                .map(|e| WebhookDeliveryRow {
                    id: crm_domain::new_id().into(),
                    webhook_id: hook.id,
                    event_id: e.id,
                    event_type: e.kind,
                    event_tx_id: e.tx_id,
                    event_seq: e.seq.unwrap_or(0),
                    entity_key: format!("{}:{}", e.entity_type, e.entity_id.0),
                    status: DbWord(DeliveryStatus::Pending),
                    attempts: 0,
                    next_attempt_at: now,
                    leased_until: None,
                    last_status: None,
                    created_at: now,
                    updated_at: now,
                })
                .collect();
            added += q::insert_deliveries(conn, &rows)?;
            hook.feed_tx_id = last.tx_id;
            hook.feed_seq = last.seq;
            q::set_position(conn, hook.id, last)?;
        }
        Ok(added)
    })
}

/// A delivery claimed for sending.
#[derive(Debug, Clone)]
pub struct Job {
    pub delivery_id: Uuid,
    pub webhook_id: Uuid,
    pub target: Target,
    pub secret: String,
    pub event: FeedItem,
    /// 1 for the first attempt.
    pub attempt: i32,
}

/// Claims up to `limit` due deliveries, the oldest first, never one whose
/// entity has an earlier delivery still pending (one entity's events reach
/// a receiver in order). A target that no longer passes the address check
/// fails its attempt without being sent.
pub fn claim(app: &App, limit: i64) -> Result<Vec<Job>, AppError> {
    let now = app.now();
    let allow_private = app.settings().webhooks_allow_private;
    let mut refused = Vec::new();
    // Claimed and leased in one short transaction; the address check (a DNS
    // lookup) comes after it commits, so no transaction waits on a resolver.
    let claimed = app.write(|conn| {
        let mut claimed = Vec::new();
        for d in q::claim_due(conn, now.naive_utc(), limit)? {
            if q::earlier_pending(conn, &d)? {
                continue;
            }
            let Some(hook) = q::find_webhook(conn, d.webhook_id)? else { continue };
            if !hook.active {
                continue;
            }
            q::lease(conn, d.id, (now + LEASE).naive_utc())?;
            match oq::find_feed_event(conn, d.event_id)? {
                Some(row) => claimed.push((d, hook, crate::feed::events::whole(row)?)),
                None => {
                    refused.push((d.id.0, "the event is no longer kept (CRM_EVENTS_RETENTION)".to_owned()))
                }
            }
        }
        Ok(claimed)
    })?;
    let mut jobs = Vec::new();
    for (d, hook, event) in claimed {
        match check_target(&hook.url, allow_private) {
            Ok(target) => jobs.push(Job {
                delivery_id: d.id.0,
                webhook_id: hook.id.0,
                target,
                secret: hook.secret,
                event,
                attempt: d.attempts + 1,
            }),
            Err(why) => refused.push((d.id.0, why)),
        }
    }
    for (id, why) in refused {
        record(app, id, &Outcome { status_code: None, latency_ms: 0, error: Some(why), excerpt: None })?;
    }
    Ok(jobs)
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The receiver's status; `None` when none came (timeout, refused
    /// connection, address check).
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// The first KiB of the answer.
    pub excerpt: Option<String>,
}

fn retry_after(attempts: i32) -> Option<Duration> {
    usize::try_from(attempts).ok().and_then(|n| n.checked_sub(1)).and_then(|i| RETRY_SCHEDULE.get(i)).copied()
}

/// Records an attempt and moves the delivery on: delivered on a 2xx; else
/// retried on the schedule, or dead after its last step. A 410 from the
/// receiver kills the delivery and switches the webhook off at once; a run
/// of dead deliveries switches it off too. Admins are told either way.
pub fn record(app: &App, delivery: Uuid, outcome: &Outcome) -> Result<DeliveryStatus, AppError> {
    let now: DateTime<Utc> = app.now();
    app.write(|conn| {
        let d = q::find_delivery(conn, delivery.into())?.ok_or(AppError::NotFound("webhook delivery"))?;
        q::insert_attempt(
            conn,
            &WebhookAttemptRow {
                id: crm_domain::new_id().into(),
                delivery_id: d.id,
                attempted_at: now.naive_utc(),
                status_code: outcome.status_code.map(i32::from),
                latency_ms: outcome.latency_ms,
                error: outcome.error.clone(),
                response_excerpt: outcome.excerpt.clone(),
            },
        )?;
        let attempts = d.attempts + 1;
        let ok = outcome.status_code.is_some_and(|s| (200..300).contains(&s));
        let gone = outcome.status_code == Some(410);
        let (status, next) = if ok {
            (DeliveryStatus::Succeeded, now)
        } else if gone {
            (DeliveryStatus::Dead, now)
        } else {
            match retry_after(attempts) {
                Some(wait) => (DeliveryStatus::Pending, now + wait),
                None => (DeliveryStatus::Dead, now),
            }
        };
        let last = outcome.status_code.map(i32::from);
        q::set_outcome(conn, d.id, status, attempts, next.naive_utc(), last, now.naive_utc())?;
        let Some(mut hook) = q::find_webhook(conn, d.webhook_id)? else { return Ok(status) };
        let before = (hook.dead_run, hook.active);
        match status {
            DeliveryStatus::Succeeded => hook.dead_run = 0,
            DeliveryStatus::Dead => hook.dead_run += 1,
            DeliveryStatus::Pending => {}
        }
        let why = if gone {
            Some("the receiver answered 410 Gone".to_owned())
        } else if hook.dead_run >= DEAD_RUN_LIMIT {
            Some(format!("{} deliveries in a row failed every attempt", hook.dead_run))
        } else {
            None
        };
        if let (Some(why), true) = (why, hook.active) {
            hook.active = false;
            hook.disabled_reason = Some(why.clone());
            for admin in crm_store::queries::users::active_with_role(conn, "admin")? {
                crate::sales::notify(
                    conn,
                    admin,
                    None,
                    &format!(
                        "Webhook to {} was switched off: {why}. Fix the receiver, then replay.",
                        hook.url
                    ),
                    now,
                )?;
            }
        }
        if (hook.dead_run, hook.active) != before {
            q::set_health(
                conn,
                hook.id,
                hook.dead_run,
                hook.active,
                hook.disabled_reason.as_deref(),
                now.naive_utc(),
            )?;
        }
        Ok(status)
    })
}
