//! The per-field history of clients and contacts: who changed what, when.

use chrono::{DateTime, Utc};
use crm_store::queries::clients as q;
use crm_store::rows::HistoryRow;
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::principal::actor_parts;
use crate::identity::principal::Principal;
use crate::parties::clients::*;
use crate::parties::contacts::*;
use crate::platform::error::AppError;
use crate::platform::page::{Page, PageRequest};
use crate::App;

pub(crate) fn history(
    conn: &mut DbConnection,
    actor: &Principal,
    now: DateTime<Utc>,
    entity: (&str, DbUuid),
    changes: &[(&str, Option<String>, Option<String>)],
) -> Result<(), AppError> {
    let (actor_kind, actor_id) = actor_parts(Some(actor));
    for (field, old, new) in changes {
        if old == new {
            continue;
        }
        q::insert_history(
            conn,
            &HistoryRow {
                id: crm_domain::new_id().into(),
                entity_type: entity.0.to_owned(),
                entity_id: entity.1,
                field: (*field).to_owned(),
                old_value: old.clone(),
                new_value: new.clone(),
                actor_kind: actor_kind.to_owned(),
                actor_id,
                changed_at: now.naive_utc(),
            },
        )?;
    }
    Ok(())
}

pub(in crate::parties) fn joined(points: &[(String, String)], kind: &str) -> Option<String> {
    let v: Vec<&str> = points.iter().filter(|(k, _)| k == kind).map(|(_, v)| v.as_str()).collect();
    (!v.is_empty()).then(|| v.join(", "))
}

#[derive(Debug, Clone)]
pub struct HistoryView {
    pub id: Uuid,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub changed_at: DateTime<Utc>,
}

/// Who changed which field of a client or contact, from what to what, when; newest first.
pub fn entity_history(
    app: &App,
    actor: &Principal,
    entity_type: &str,
    id: Uuid,
    page: PageRequest,
) -> Result<Page<HistoryView>, AppError> {
    actor.require(&permissions::READ_CLIENTS)?;
    app.read(|conn| {
        match entity_type {
            "client" => {
                visible_client(conn, actor, id)?;
            }
            _ => {
                visible_contact(conn, actor, id)?;
            }
        }
        let rows = q::list_history(
            conn,
            entity_type,
            id.into(),
            page.after.map(Into::into),
            i64::from(page.limit) + 1,
        )?;
        Ok(Page::from_rows(
            rows,
            page,
            |r| r.id.0,
            |r| HistoryView {
                id: r.id.0,
                field: r.field,
                old_value: r.old_value,
                new_value: r.new_value,
                actor_kind: r.actor_kind,
                actor_id: r.actor_id.map(Into::into),
                changed_at: r.changed_at.and_utc(),
            },
        ))
    })
}
