//! Appends the events that later feed the change feed and webhooks. Always
//! called inside the use case's transaction, so an event exists exactly when
//! its change does.

use chrono::{DateTime, Utc};
use crm_store::rows::OutboxEventRow;
use crm_store::DbConnection;
use uuid::Uuid;

use crate::identity::principal::Principal;
use crate::platform::error::AppError;

pub fn record(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    actor: Option<&Principal>,
    kind: &str,
    entity_type: &str,
    entity_id: Uuid,
    payload: serde_json::Value,
) -> Result<(), AppError> {
    let (actor_kind, actor_id) = match actor {
        Some(Principal::User(u)) => ("user", Some(u.id)),
        Some(Principal::ApiKey(k)) => ("api_key", Some(k.id)),
        None => ("system", None),
    };
    let row = OutboxEventRow {
        id: crm_domain::new_id().into(),
        kind: kind.to_owned(),
        entity_type: entity_type.to_owned(),
        entity_id: entity_id.into(),
        payload: payload.to_string(),
        occurred_at: now.naive_utc(),
        actor_kind: actor_kind.to_owned(),
        actor_id: actor_id.map(Into::into),
    };
    crm_store::queries::outbox::append(conn, &row)?;
    Ok(())
}
