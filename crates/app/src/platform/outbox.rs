//! Appends the events that later feed the change feed and webhooks. Always
//! called inside the use case's transaction, so an event exists exactly when
//! its change does.

use chrono::{DateTime, Utc};
use crm_domain::events::EventType;
use crm_store::rows::OutboxEventRow;
use crm_store::DbConnection;
use uuid::Uuid;

use crate::platform::actor::Actor;
use crate::platform::error::AppError;

pub fn record(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    actor: impl Into<Actor>,
    kind: EventType,
    entity_type: &str,
    entity_id: Uuid,
    payload: serde_json::Value,
) -> Result<(), AppError> {
    let (actor_kind, actor_id) = actor.into().parts();
    let row = OutboxEventRow {
        id: crm_domain::new_id().into(),
        kind: kind.as_str().to_owned(),
        entity_type: entity_type.to_owned(),
        entity_id: entity_id.into(),
        payload: payload.to_string(),
        occurred_at: now.naive_utc(),
        actor_kind: actor_kind.to_owned(),
        actor_id,
    };
    crm_store::queries::outbox::append(conn, &row)?;
    Ok(())
}

/// Who may see an entity at one change, as the feed checks it: a reader sees
/// it when their visibility takes in one of `owners` (the responsible whose
/// scope decides, as GET decides) or when they are one of `persons` (a
/// task's assignee and creator see it whoever owns its interest).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Audience {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<Uuid>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub persons: Vec<Uuid>,
}
