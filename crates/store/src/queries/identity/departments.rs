//! Departments.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::queries::keyset;

use crate::db::DbConnection;
use crate::queries::PageQuery;
use crate::rows::{DepartmentInsertForm, DepartmentRow, DepartmentUpdateForm};
use crate::schema::departments;
use crate::types::DbUuid;

#[derive(Debug, Clone, Default)]
pub struct DepartmentFilter {
    pub parent_id: Option<DbUuid>,
    pub updated_since: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, form: &DepartmentInsertForm) -> QueryResult<()> {
    diesel::insert_into(departments::table).values(form).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<DepartmentRow>> {
    departments::table.find(id).select(DepartmentRow::as_select()).first(conn).optional()
}

pub fn find_by_name_key(conn: &mut DbConnection, key: &str) -> QueryResult<Option<DepartmentRow>> {
    departments::table
        .filter(departments::name_key.eq(key))
        .select(DepartmentRow::as_select())
        .first(conn)
        .optional()
}

pub fn list(
    conn: &mut DbConnection,
    filter: &DepartmentFilter,
    page: PageQuery,
) -> QueryResult<Vec<DepartmentRow>> {
    let mut query = departments::table.select(DepartmentRow::as_select()).into_boxed();
    if let Some(parent) = filter.parent_id {
        query = query.filter(departments::parent_id.eq(parent));
    }
    if let Some(since) = filter.updated_since {
        query = query.filter(departments::updated_at.ge(since));
    }
    keyset!(query, departments, page).load(conn)
}

pub fn update(
    conn: &mut DbConnection,
    id: DbUuid,
    expected_version: i64,
    form: &DepartmentUpdateForm,
) -> QueryResult<usize> {
    diesel::update(
        departments::table.filter(departments::id.eq(id)).filter(departments::version.eq(expected_version)),
    )
    .set(form)
    .execute(conn)
}

/// Departments whose head is this user.
pub fn headed_by(conn: &mut DbConnection, user: DbUuid) -> QueryResult<Vec<DepartmentRow>> {
    departments::table.filter(departments::head_id.eq(user)).select(DepartmentRow::as_select()).load(conn)
}

/// Every department (the tree is small; subtrees are computed in memory).
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<DepartmentRow>> {
    departments::table.select(DepartmentRow::as_select()).order(departments::id.asc()).load(conn)
}
