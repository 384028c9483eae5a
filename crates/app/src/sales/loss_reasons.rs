//! Why deals are lost: a list the heads keep.

use chrono::{DateTime, Utc};
use crm_domain::events::EventType;
use crm_domain::PersonName;
use crm_store::queries::sales as q;
use crm_store::rows::LossReasonRow;
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::principal::Principal;
use crate::platform::error::{AppError, Problems};
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::App;

#[derive(Debug, Clone)]
pub struct LossReasonView {
    pub id: Uuid,
    pub name: String,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn view(r: LossReasonRow) -> LossReasonView {
    LossReasonView {
        id: r.id.0,
        name: r.name,
        active: r.active,
        version: r.version,
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
    }
}

pub fn list_loss_reasons(
    app: &App,
    actor: &Principal,
    active: Option<bool>,
    updated_since: Option<DateTime<Utc>>,
    page: PageRequest,
) -> Result<Page<LossReasonView>, AppError> {
    actor.require(&permissions::READ_LOSS_REASONS)?;
    let syncs = page.syncs(updated_since);
    let since = updated_since.map(|t| t.naive_utc());
    let rows =
        app.read(|conn| Ok(q::list_loss_reasons(conn, active, since, page.sync_query(updated_since))?))?;
    Ok(Page::from_rows(rows, page, |r| r.id.0, view).keyed(syncs, |v| (v.updated_at, v.id)))
}

pub fn create_loss_reason(app: &App, actor: &Principal, name: &str) -> Result<LossReasonView, AppError> {
    actor.require(&permissions::WRITE_LOSS_REASONS)?;
    let mut p = Problems::new();
    let name = p.check("name", PersonName::parse(name));
    p.into_result()?;
    let Some(name) = name else { return Err(AppError::internal("validated name missing")) };
    let now = app.now();
    app.write(|conn| {
        if q::find_loss_reason_by_name_key(conn, &name.key())?.is_some() {
            return Err(AppError::conflict(
                Some("name"),
                format!("a loss reason named {name} already exists"),
            ));
        }
        let row = LossReasonRow {
            id: crm_domain::new_id().into(),
            name: name.as_str().to_owned(),
            name_key: name.key(),
            active: true,
            version: 1,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
        };
        q::insert_loss_reason(conn, &row)?;
        outbox::record(
            conn,
            now,
            Some(actor),
            EventType::LossReasonCreated,
            "loss_reason",
            row.id.0,
            serde_json::json!({"id": row.id.0, "name": row.name}),
        )?;
        Ok(view(row))
    })
}

/// Renames or (de)activates a reason; deactivated reasons stay on past losses.
pub fn update_loss_reason(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    name: Option<&str>,
    active: Option<bool>,
) -> Result<LossReasonView, AppError> {
    actor.require(&permissions::WRITE_LOSS_REASONS)?;
    let mut p = Problems::new();
    let name = name.map(|n| p.check("name", PersonName::parse(n)));
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        let row = q::find_loss_reason(conn, id.into())?.ok_or(AppError::NotFound("loss reason"))?;
        crate::platform::error::check_version(expected_version, row.version)?;
        let (new_name, key) = match name.flatten() {
            Some(n) => {
                if n.key() != row.name_key && q::find_loss_reason_by_name_key(conn, &n.key())?.is_some() {
                    return Err(AppError::conflict(
                        Some("name"),
                        format!("a loss reason named {n} already exists"),
                    ));
                }
                (n.as_str().to_owned(), n.key())
            }
            None => (row.name.clone(), row.name_key.clone()),
        };
        let active = active.unwrap_or(row.active);
        if q::update_loss_reason(conn, row.id, row.version, &new_name, &key, active, now.naive_utc())? != 1 {
            return Err(AppError::PreconditionFailed { expected: row.version, current: row.version + 1 });
        }
        let updated = q::find_loss_reason(conn, row.id)?.ok_or(AppError::NotFound("loss reason"))?;
        outbox::record(
            conn,
            now,
            Some(actor),
            EventType::LossReasonUpdated,
            "loss_reason",
            id,
            serde_json::json!({"id": id, "name": updated.name, "active": updated.active}),
        )?;
        Ok(view(updated))
    })
}
