//! An interest's timeline, newest first.

use chrono::{DateTime, Utc};
use crm_store::queries::sales as q;
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::principal::Principal;
use crate::platform::error::AppError;
use crate::platform::page::{Page, PageRequest};
use crate::sales::visible_interest;
use crate::App;

#[derive(Debug, Clone)]
pub struct TimelineView {
    pub id: Uuid,
    pub kind: String,
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub summary: String,
    pub details: serde_json::Value,
}

/// The interest's timeline, newest first.
pub fn interest_timeline(
    app: &App,
    actor: &Principal,
    id: Uuid,
    page: PageRequest,
) -> Result<Page<TimelineView>, AppError> {
    actor.require(&permissions::READ_INTERESTS)?;
    app.read(|conn| {
        visible_interest(conn, actor, id)?;
        let rows = q::list_timeline(conn, id.into(), page.after.map(Into::into), i64::from(page.limit) + 1)?;
        let page = Page::from_rows(
            rows,
            page,
            |r| r.id.0,
            |r| TimelineView {
                id: r.id.0,
                kind: r.kind,
                actor_kind: r.actor_kind,
                actor_id: r.actor_id.map(Into::into),
                occurred_at: r.occurred_at.and_utc(),
                summary: r.summary,
                details: serde_json::from_str(&r.payload).unwrap_or(serde_json::Value::Null),
            },
        );
        Ok(page)
    })
}
