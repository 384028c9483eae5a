//! Interactions, tasks and notifications.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::queries::keyset;

use crate::db::DbConnection;
use crate::queries::PageQuery;
use crate::rows::*;
use crate::schema::*;
use crate::types::DbUuid;

pub fn insert_interaction(conn: &mut DbConnection, row: &InteractionRow) -> QueryResult<()> {
    diesel::insert_into(interactions::table).values(row).execute(conn).map(|_| ())
}

pub fn find_interaction(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<InteractionRow>> {
    interactions::table.find(id).select(InteractionRow::as_select()).first(conn).optional()
}

pub fn update_interaction(
    conn: &mut DbConnection,
    row: &InteractionRow,
    expected_version: i64,
) -> QueryResult<usize> {
    diesel::update(
        interactions::table
            .filter(interactions::id.eq(row.id))
            .filter(interactions::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)
}

pub fn list_interactions(
    conn: &mut DbConnection,
    interest: DbUuid,
    page: PageQuery,
) -> QueryResult<Vec<InteractionRow>> {
    let mut q = interactions::table
        .filter(interactions::interest_id.eq(interest))
        .select(InteractionRow::as_select())
        .into_boxed();
    if let Some(after) = page.after {
        q = q.filter(interactions::id.gt(after));
    }
    q.order(interactions::id.asc()).limit(page.limit).load(conn)
}

/// Planned interactions of these interests, soonest first.
pub fn planned_interactions(
    conn: &mut DbConnection,
    interests: &[DbUuid],
) -> QueryResult<Vec<InteractionRow>> {
    interactions::table
        .filter(interactions::interest_id.eq_any(interests.to_vec()))
        .filter(interactions::status.eq(crm_domain::status::InteractionStatus::Planned.as_str()))
        .order((interactions::planned_at.asc(), interactions::id.asc()))
        .select(InteractionRow::as_select())
        .load(conn)
}

pub fn insert_task(conn: &mut DbConnection, row: &TaskRow) -> QueryResult<()> {
    diesel::insert_into(tasks::table).values(row).execute(conn).map(|_| ())
}

pub fn find_task(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<TaskRow>> {
    tasks::table.find(id).select(TaskRow::as_select()).first(conn).optional()
}

pub fn update_task(conn: &mut DbConnection, row: &TaskRow, expected_version: i64) -> QueryResult<usize> {
    diesel::update(tasks::table.filter(tasks::id.eq(row.id)).filter(tasks::version.eq(expected_version)))
        .set(row)
        .execute(conn)
}

#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub assignee_id: Option<DbUuid>,
    pub interest_id: Option<DbUuid>,
    pub status: Option<String>,
    pub due_from: Option<NaiveDateTime>,
    pub due_before: Option<NaiveDateTime>,
    pub updated_since: Option<NaiveDateTime>,
}

pub fn list_tasks(
    conn: &mut DbConnection,
    filter: &TaskFilter,
    page: PageQuery,
) -> QueryResult<Vec<TaskRow>> {
    let mut q = tasks::table.select(TaskRow::as_select()).into_boxed();
    if let Some(a) = filter.assignee_id {
        q = q.filter(tasks::assignee_id.eq(a));
    }
    if let Some(i) = filter.interest_id {
        q = q.filter(tasks::interest_id.eq(i));
    }
    if let Some(s) = &filter.status {
        q = q.filter(tasks::status.eq(s.clone()));
    }
    if let Some(from) = filter.due_from {
        q = q.filter(tasks::due_at.ge(from));
    }
    if let Some(before) = filter.due_before {
        q = q.filter(tasks::due_at.lt(before));
    }
    if let Some(since) = filter.updated_since {
        q = q.filter(tasks::updated_at.ge(since));
    }
    keyset!(q, tasks, page).load(conn)
}

/// Open tasks of these interests.
pub fn open_tasks_of(conn: &mut DbConnection, interests: &[DbUuid]) -> QueryResult<Vec<TaskRow>> {
    tasks::table
        .filter(tasks::interest_id.eq_any(interests.iter().copied().map(Some).collect::<Vec<_>>()))
        .filter(tasks::status.eq(crm_domain::status::TaskStatus::Open.as_str()))
        .order((tasks::due_at.asc(), tasks::id.asc()))
        .select(TaskRow::as_select())
        .load(conn)
}

pub fn insert_notification(conn: &mut DbConnection, row: &NotificationRow) -> QueryResult<()> {
    diesel::insert_into(notifications::table).values(row).execute(conn).map(|_| ())
}

pub fn list_notifications(
    conn: &mut DbConnection,
    user: DbUuid,
    unread_only: bool,
    page: PageQuery,
) -> QueryResult<Vec<NotificationRow>> {
    let mut q = notifications::table
        .filter(notifications::user_id.eq(user))
        .select(NotificationRow::as_select())
        .into_boxed();
    if unread_only {
        q = q.filter(notifications::read_at.is_null());
    }
    if let Some(after) = page.after {
        q = q.filter(notifications::id.gt(after));
    }
    q.order(notifications::id.asc()).limit(page.limit).load(conn)
}

pub fn find_notification(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<NotificationRow>> {
    notifications::table.find(id).select(NotificationRow::as_select()).first(conn).optional()
}

pub fn mark_notification_read(conn: &mut DbConnection, id: DbUuid, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(notifications::table.find(id).filter(notifications::read_at.is_null()))
        .set(notifications::read_at.eq(Some(at)))
        .execute(conn)
}

/// Open tasks assigned to this user, by id.
pub fn open_tasks_assigned_to(conn: &mut DbConnection, user: DbUuid) -> QueryResult<Vec<TaskRow>> {
    tasks::table
        .filter(tasks::assignee_id.eq(user))
        .filter(tasks::status.eq(crm_domain::status::TaskStatus::Open.as_str()))
        .order(tasks::id.asc())
        .select(TaskRow::as_select())
        .load(conn)
}
