//! Users.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::queries::keyset;

use crate::db::DbConnection;
use crate::queries::PageQuery;
use crate::rows::{UserInsertForm, UserRow, UserUpdateForm};
use crate::schema::users;
use crate::types::DbUuid;

#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub department_id: Option<DbUuid>,
    pub role: Option<String>,
    pub active: Option<bool>,
    pub updated_since: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, form: &UserInsertForm) -> QueryResult<()> {
    diesel::insert_into(users::table).values(form).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<UserRow>> {
    users::table.find(id).select(UserRow::as_select()).first(conn).optional()
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<UserRow>> {
    users::table.filter(users::email.eq(email)).select(UserRow::as_select()).first(conn).optional()
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

pub fn list(conn: &mut DbConnection, filter: &UserFilter, page: PageQuery) -> QueryResult<Vec<UserRow>> {
    let mut query = users::table.select(UserRow::as_select()).into_boxed();
    if let Some(department) = filter.department_id {
        query = query.filter(users::department_id.eq(department));
    }
    if let Some(role) = &filter.role {
        query = query.filter(users::role.eq(role.clone()));
    }
    if let Some(active) = filter.active {
        query = query.filter(users::active.eq(active));
    }
    if let Some(since) = filter.updated_since {
        query = query.filter(users::updated_at.ge(since));
    }
    keyset!(query, users, page).load(conn)
}

/// Writes the form when the row is still at `expected_version`; returns rows changed.
pub fn update(
    conn: &mut DbConnection,
    id: DbUuid,
    expected_version: i64,
    form: &UserUpdateForm,
) -> QueryResult<usize> {
    diesel::update(users::table.filter(users::id.eq(id)).filter(users::version.eq(expected_version)))
        .set(form)
        .execute(conn)
}

pub fn count_in_department(conn: &mut DbConnection, department: DbUuid) -> QueryResult<i64> {
    users::table.filter(users::department_id.eq(department)).count().get_result(conn)
}

/// Ids of the users in any of these departments.
pub fn ids_in_departments(conn: &mut DbConnection, departments: &[DbUuid]) -> QueryResult<Vec<DbUuid>> {
    users::table
        .filter(users::department_id.eq_any(departments.iter().copied().map(Some).collect::<Vec<_>>()))
        .select(users::id)
        .load(conn)
}

/// These users, in one query.
pub fn find_many(conn: &mut DbConnection, ids: &[DbUuid]) -> QueryResult<Vec<UserRow>> {
    users::table.filter(users::id.eq_any(ids.to_vec())).select(UserRow::as_select()).load(conn)
}

/// The first active user with a role (by id), for rules that assign to a role.
pub fn first_active_with_role(conn: &mut DbConnection, role: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::role.eq(role))
        .filter(users::active.eq(true))
        .order(users::id.asc())
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// The ids of the active users holding a role.
pub fn active_with_role(conn: &mut DbConnection, role: &str) -> QueryResult<Vec<DbUuid>> {
    users::table
        .filter(users::role.eq(role))
        .filter(users::active.eq(true))
        .order(users::id.asc())
        .select(users::id)
        .load(conn)
}
