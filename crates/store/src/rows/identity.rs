//! Rows of departments, users, sessions, refresh tokens, API keys, sign-in attempts, calendar feeds and absences.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::*;
use crate::types::DbUuid;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = departments)]
pub struct DepartmentRow {
    pub id: DbUuid,
    pub name: String,
    pub name_key: String,
    pub head_id: Option<DbUuid>,
    pub parent_id: Option<DbUuid>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = departments, treat_none_as_default_value = false)]
pub struct DepartmentInsertForm {
    pub id: DbUuid,
    pub name: String,
    pub name_key: String,
    pub head_id: Option<DbUuid>,
    pub parent_id: Option<DbUuid>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = departments, treat_none_as_null = true)]
pub struct DepartmentUpdateForm {
    pub name: String,
    pub name_key: String,
    pub head_id: Option<DbUuid>,
    pub parent_id: Option<DbUuid>,
    pub version: i64,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: DbUuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub department_id: Option<DbUuid>,
    pub time_zone: String,
    pub active: bool,
    pub password_hash: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub default_service_type: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
pub struct UserInsertForm {
    pub id: DbUuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub department_id: Option<DbUuid>,
    pub time_zone: String,
    pub active: bool,
    pub password_hash: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub default_service_type: Option<String>,
}

#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
pub struct UserUpdateForm {
    pub email: String,
    pub name: String,
    pub role: String,
    pub department_id: Option<DbUuid>,
    pub time_zone: String,
    pub active: bool,
    pub password_hash: String,
    pub version: i64,
    pub updated_at: NaiveDateTime,
    pub default_service_type: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions, treat_none_as_default_value = false)]
pub struct SessionRow {
    pub id: DbUuid,
    pub user_id: DbUuid,
    pub created_at: NaiveDateTime,
    pub last_used_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens, treat_none_as_default_value = false)]
pub struct RefreshTokenRow {
    pub id: DbUuid,
    pub session_id: DbUuid,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys, treat_none_as_default_value = false)]
pub struct ApiKeyRow {
    pub id: DbUuid,
    pub name: String,
    pub prefix: String,
    pub secret_hash: String,
    pub scopes: String,
    pub created_by: Option<DbUuid>,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = login_attempts, treat_none_as_default_value = false)]
pub struct LoginAttemptInsertForm {
    pub id: DbUuid,
    pub email: String,
    pub address: String,
    pub succeeded: bool,
    pub attempted_at: NaiveDateTime,
}

/// A user's calendar feed: the SHA-256 of its token.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = calendar_feeds, treat_none_as_default_value = false)]
pub struct CalendarFeedRow {
    pub user_id: DbUuid,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
}

/// A user's absence with their deputy; `state`: `planned`, `running`, `ended` or `cancelled`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = absences, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct AbsenceRow {
    pub id: DbUuid,
    pub user_id: DbUuid,
    pub deputy_id: DbUuid,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub reason: Option<String>,
    pub state: String,
    pub created_by: Option<DbUuid>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}
