//! Appends the events that later feed the change feed and webhooks. Always
//! called inside the use case's transaction, so an event exists exactly when
//! its change does.

use std::cell::RefCell;

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
    // Inside `App::write` the event waits to be rendered and inserted in one
    // go before the commit; elsewhere (no such transaction) it goes in now.
    let unbuffered = COLLECTED.with(|c| match c.borrow_mut().as_mut() {
        Some(events) => {
            events.push(row);
            None
        }
        None => Some(row),
    });
    if let Some(row) = unbuffered {
        crm_store::queries::outbox::append(conn, &row)?;
    }
    Ok(())
}

thread_local! {
    /// The events of the write transaction running on this thread, in the
    /// order they were recorded. A transaction runs on one thread from
    /// `BEGIN` to `COMMIT` (diesel is synchronous), so a thread-local
    /// cannot mix two transactions' events.
    static COLLECTED: RefCell<Option<Vec<OutboxEventRow>>> = const { RefCell::new(None) };
}

/// Events being collected for one write transaction; a write nested inside
/// (another connection, another transaction) collects its own, and the
/// outer one's are put back when it ends.
///
/// Events recorded inside a savepoint that rolls back would survive it:
/// record none there (none of today's savepoints do; they guard one insert).
pub(crate) struct Collecting {
    outer: Option<Vec<OutboxEventRow>>,
}

pub(crate) fn collect() -> Collecting {
    Collecting { outer: COLLECTED.with(|c| c.replace(Some(Vec::new()))) }
}

impl Collecting {
    /// The events recorded so far, leaving none.
    pub(crate) fn take(&mut self) -> Vec<OutboxEventRow> {
        COLLECTED.with(|c| c.borrow_mut().as_mut().map(std::mem::take).unwrap_or_default())
    }
}

impl Drop for Collecting {
    fn drop(&mut self) {
        let outer = self.outer.take();
        COLLECTED.with(|c| *c.borrow_mut() = outer);
    }
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
