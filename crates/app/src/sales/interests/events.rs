//! Domain events raised elsewhere (payments, shipments, timers) applied to
//! an interest's scenario rules inside the caller's transaction.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use crm_domain::events::EventType;
use crm_store::queries::sales as q;
use crm_store::DbConnection;
use uuid::Uuid;

use super::*;
use crate::identity::principal::Principal;
use crate::platform::error::AppError;
use crate::platform::outbox;
use crate::sales::{apply_effects, parse_definition, user_tz};
use crate::App;

/// Runs a domain event's rules on an interest inside the caller's
/// transaction: a payment or a shipment (later use cases) calls this in the
/// same transaction as its own change, so the move, its tasks, the timeline
/// and the outbox commit together with it.
pub fn apply_event(
    conn: &mut DbConnection,
    actor: Option<&Principal>,
    now: DateTime<Utc>,
    fallback: Tz,
    interest: Uuid,
    event: crm_scenario::DomainEvent,
) -> Result<(), AppError> {
    q::lock_interest(conn, interest.into())?;
    let mut row = q::find_interest(conn, interest.into())?.ok_or(AppError::NotFound("interest"))?;
    let def = parse_definition(
        &q::find_scenario(conn, row.scenario_id)?.ok_or(AppError::NotFound("scenario"))?.definition,
    )?;
    let (snap, _) = snapshot(conn, &row)?;
    let tz = user_tz(conn, row.responsible_id, fallback)?;
    let effects = crm_scenario::decide_event(&def, &snap, event, now, tz);
    if effects.is_empty() {
        return Ok(());
    }
    let before = row.stage.clone();
    apply_effects(conn, actor, now, &def, &mut row, effects, &serde_json::json!({"event": event.as_str()}))?;
    let version = row.version;
    row.version += 1;
    row.updated_at = now.naive_utc();
    if q::update_interest(conn, &row, version)? != 1 {
        return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
    }
    let kind = if row.stage != before { EventType::InterestStageChanged } else { EventType::InterestUpdated };
    outbox::record(conn, now, actor, kind, "interest", interest, event_payload(&row))
}

/// A domain event reported from outside a use case (an integration's signal,
/// or a test): one transaction around [`apply_event`].
pub fn record_event(
    app: &App,
    interest: Uuid,
    event: crm_scenario::DomainEvent,
) -> Result<InterestView, AppError> {
    let now = app.now();
    let fallback = app.settings().default_time_zone.tz();
    app.write(|conn| {
        apply_event(conn, None, now, fallback, interest, event)?;
        let row = q::find_interest(conn, interest.into())?.ok_or(AppError::NotFound("interest"))?;
        let def = parse_definition(
            &q::find_scenario(conn, row.scenario_id)?.ok_or(AppError::NotFound("scenario"))?.definition,
        )?;
        view(conn, row, &def, now, fallback)
    })
}
