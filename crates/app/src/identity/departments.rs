//! Departments: the organisation's tree, each with a head who approves its losses.

use chrono::{DateTime, Utc};
use crm_domain::events::EventType;
use crm_domain::{PersonName, Role};
use crm_store::queries::departments::DepartmentFilter;
use crm_store::queries::{departments as q, users as uq};
use crm_store::rows::{DepartmentInsertForm, DepartmentRow, DepartmentUpdateForm};
use crm_store::DbConnection;
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::principal::Principal;
use crate::platform::error::{AppError, Problems, Unmet};
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::App;

#[derive(Debug, Clone)]
pub struct DepartmentView {
    pub id: Uuid,
    pub name: String,
    pub head_id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn view(row: DepartmentRow) -> DepartmentView {
    DepartmentView {
        id: row.id.0,
        name: row.name,
        head_id: row.head_id.map(Into::into),
        parent_id: row.parent_id.map(Into::into),
        version: row.version,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    }
}

fn event_payload(d: &DepartmentView) -> serde_json::Value {
    serde_json::json!({
        "id": d.id,
        "name": d.name,
        "head_id": d.head_id,
        "parent_id": d.parent_id,
        "version": d.version,
    })
}

#[derive(Debug, Clone, Default)]
pub struct NewDepartment {
    pub id: Option<Uuid>,
    pub name: String,
    pub head_id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Clone, Default)]
pub struct DepartmentChanges {
    pub name: Option<String>,
    pub head_id: Option<Option<Uuid>>,
    pub parent_id: Option<Option<Uuid>>,
}

/// The head must be an active user whose role lets them head a department.
fn check_head(conn: &mut DbConnection, head: Uuid, unmet: &mut Vec<Unmet>) -> Result<(), AppError> {
    match uq::find(conn, head.into())? {
        None => unmet.push(Unmet::new("head_exists", format!("user {head} does not exist"))),
        Some(u) if !u.active => unmet.push(Unmet::new("head_active", format!("user {head} is deactivated"))),
        Some(u) if u.role != Role::Head.as_str() && u.role != Role::Admin.as_str() => unmet.push(Unmet::new(
            "head_role",
            format!("user {head} has the {} role; a department head needs the head or admin role", u.role),
        )),
        Some(_) => {}
    }
    Ok(())
}

/// The parent must exist and must not be the department itself or one below it.
fn check_parent(
    conn: &mut DbConnection,
    department: Uuid,
    parent: Uuid,
    unmet: &mut Vec<Unmet>,
) -> Result<(), AppError> {
    let mut cursor = Some(parent);
    let mut hops = 0;
    while let Some(current) = cursor {
        if current == department {
            unmet.push(Unmet::new("parent_not_descendant", "a department cannot sit below itself"));
            return Ok(());
        }
        let Some(row) = q::find(conn, current.into())? else {
            unmet.push(Unmet::new("parent_exists", format!("department {current} does not exist")));
            return Ok(());
        };
        cursor = row.parent_id.map(Into::into);
        hops += 1;
        if hops > 1_000 {
            return Err(AppError::internal("department tree deeper than 1000 levels"));
        }
    }
    Ok(())
}

pub fn create_department(
    app: &App,
    actor: &Principal,
    input: NewDepartment,
) -> Result<DepartmentView, AppError> {
    actor.require(&permissions::CREATE_DEPARTMENT)?;
    let mut p = Problems::new();
    let name = p.check("name", PersonName::parse(&input.name));
    p.into_result()?;
    let Some(name) = name else {
        return Err(AppError::internal("validated name missing"));
    };
    let now = app.now();
    let id = input.id.unwrap_or_else(crm_domain::new_id);
    app.write(|conn| {
        if q::find(conn, id.into())?.is_some() {
            return Err(AppError::conflict(Some("id"), format!("a department with id {id} already exists")));
        }
        if q::find_by_name_key(conn, &name.key())?.is_some() {
            return Err(AppError::conflict(
                Some("name"),
                format!("a department named {name} already exists"),
            ));
        }
        let mut unmet = Vec::new();
        if let Some(head) = input.head_id {
            check_head(conn, head, &mut unmet)?;
        }
        if let Some(parent) = input.parent_id {
            check_parent(conn, id, parent, &mut unmet)?;
        }
        if !unmet.is_empty() {
            return Err(AppError::Rules(unmet));
        }
        let ts = now.naive_utc();
        q::insert(
            conn,
            &DepartmentInsertForm {
                id: id.into(),
                name: name.as_str().to_owned(),
                name_key: name.key(),
                head_id: input.head_id.map(Into::into),
                parent_id: input.parent_id.map(Into::into),
                version: 1,
                created_at: ts,
                updated_at: ts,
            },
        )?;
        let created = view(q::find(conn, id.into())?.ok_or(AppError::NotFound("department"))?);
        outbox::record(
            conn,
            now,
            Some(actor),
            EventType::DepartmentCreated,
            "department",
            id,
            event_payload(&created),
        )?;
        Ok(created)
    })
}

pub fn get_department(app: &App, actor: &Principal, id: Uuid) -> Result<DepartmentView, AppError> {
    actor.require(&permissions::READ_DEPARTMENT)?;
    app.read(|conn| Ok(view(q::find(conn, id.into())?.ok_or(AppError::NotFound("department"))?)))
}

#[derive(Debug, Clone, Default)]
pub struct DepartmentListFilter {
    pub parent_id: Option<Uuid>,
    pub updated_since: Option<DateTime<Utc>>,
}

pub fn list_departments(
    app: &App,
    actor: &Principal,
    filter: DepartmentListFilter,
    page: PageRequest,
) -> Result<Page<DepartmentView>, AppError> {
    actor.require(&permissions::LIST_DEPARTMENTS)?;
    let store_filter = DepartmentFilter {
        parent_id: filter.parent_id.map(Into::into),
        updated_since: filter.updated_since.map(|t| t.naive_utc()),
    };
    let syncs = page.syncs(filter.updated_since);
    let rows = app.read(|conn| Ok(q::list(conn, &store_filter, page.sync_query(filter.updated_since))?))?;
    Ok(Page::from_rows(rows, page, |r| r.id.0, view).keyed(syncs, |v| (v.updated_at, v.id)))
}

pub fn update_department(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    changes: DepartmentChanges,
) -> Result<DepartmentView, AppError> {
    actor.require(&permissions::UPDATE_DEPARTMENT)?;
    let mut p = Problems::new();
    let name = changes.name.as_deref().map(|n| p.check("name", PersonName::parse(n)));
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        let row = q::find(conn, id.into())?.ok_or(AppError::NotFound("department"))?;
        crate::platform::error::check_version(expected_version, row.version)?;
        let mut form = DepartmentUpdateForm {
            name: row.name.clone(),
            name_key: row.name_key.clone(),
            head_id: row.head_id,
            parent_id: row.parent_id,
            version: row.version + 1,
            updated_at: now.naive_utc(),
        };
        if let Some(Some(name)) = name {
            if name.key() != row.name_key && q::find_by_name_key(conn, &name.key())?.is_some() {
                return Err(AppError::conflict(
                    Some("name"),
                    format!("a department named {name} already exists"),
                ));
            }
            form.name = name.as_str().to_owned();
            form.name_key = name.key();
        }
        let mut unmet = Vec::new();
        if let Some(head) = changes.head_id {
            if let Some(h) = head {
                check_head(conn, h, &mut unmet)?;
            }
            form.head_id = head.map(Into::into);
        }
        if let Some(parent) = changes.parent_id {
            if let Some(pid) = parent {
                check_parent(conn, id, pid, &mut unmet)?;
            }
            form.parent_id = parent.map(Into::into);
        }
        if !unmet.is_empty() {
            return Err(AppError::Rules(unmet));
        }
        if q::update(conn, id.into(), row.version, &form)? != 1 {
            let current = q::find(conn, id.into())?.map_or(row.version, |r| r.version);
            return Err(AppError::PreconditionFailed { expected: row.version, current });
        }
        let updated = view(q::find(conn, id.into())?.ok_or(AppError::NotFound("department"))?);
        outbox::record(
            conn,
            now,
            Some(actor),
            EventType::DepartmentUpdated,
            "department",
            id,
            event_payload(&updated),
        )?;
        Ok(updated)
    })
}
