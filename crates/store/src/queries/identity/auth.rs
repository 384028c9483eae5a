//! Sessions, refresh tokens, API keys and login attempts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::queries::PageQuery;
use crate::rows::{ApiKeyRow, LoginAttemptInsertForm, RefreshTokenRow, SessionRow};
use crate::schema::{api_keys, login_attempts, refresh_tokens, sessions, users};
use crate::types::DbUuid;

pub fn insert_session(conn: &mut DbConnection, row: &SessionRow) -> QueryResult<()> {
    diesel::insert_into(sessions::table).values(row).execute(conn).map(|_| ())
}

pub fn find_session(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<SessionRow>> {
    sessions::table.find(id).select(SessionRow::as_select()).first(conn).optional()
}

/// What an access token's check needs of its user and session, read in one
/// statement (no transaction around it: one statement sees one snapshot).
#[derive(Debug, Queryable)]
pub struct SessionCheck {
    pub active: bool,
    pub role: String,
    pub department_id: Option<DbUuid>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// The user and session a token names, when the session is that user's.
pub fn check_session(
    conn: &mut DbConnection,
    user: DbUuid,
    session: DbUuid,
) -> QueryResult<Option<SessionCheck>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(session))
        .filter(users::id.eq(user))
        .select((users::active, users::role, users::department_id, sessions::revoked_at))
        .first(conn)
        .optional()
}

pub fn touch_session(conn: &mut DbConnection, id: DbUuid, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(sessions::table.find(id)).set(sessions::last_used_at.eq(at)).execute(conn)
}

pub fn revoke_session(conn: &mut DbConnection, id: DbUuid, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(sessions::table.find(id).filter(sessions::revoked_at.is_null()))
        .set(sessions::revoked_at.eq(Some(at)))
        .execute(conn)
}

pub fn revoke_user_sessions(conn: &mut DbConnection, user: DbUuid, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(sessions::table.filter(sessions::user_id.eq(user)).filter(sessions::revoked_at.is_null()))
        .set(sessions::revoked_at.eq(Some(at)))
        .execute(conn)
}

/// Revokes every session of a user but one (a password change keeps the session that made it).
pub fn revoke_other_sessions(
    conn: &mut DbConnection,
    user: DbUuid,
    keep: DbUuid,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user))
            .filter(sessions::id.ne(keep))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(Some(at)))
    .execute(conn)
}

pub fn insert_refresh_token(conn: &mut DbConnection, row: &RefreshTokenRow) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table).values(row).execute(conn).map(|_| ())
}

pub fn find_refresh_token(conn: &mut DbConnection, token_hash: &str) -> QueryResult<Option<RefreshTokenRow>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .optional()
}

/// Marks a refresh token used, only if it was not already: the row count tells who won a race.
pub fn use_refresh_token(conn: &mut DbConnection, id: DbUuid, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(refresh_tokens::table.find(id).filter(refresh_tokens::used_at.is_null()))
        .set(refresh_tokens::used_at.eq(Some(at)))
        .execute(conn)
}

pub fn insert_api_key(conn: &mut DbConnection, row: &ApiKeyRow) -> QueryResult<()> {
    diesel::insert_into(api_keys::table).values(row).execute(conn).map(|_| ())
}

pub fn find_api_key(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<ApiKeyRow>> {
    api_keys::table.find(id).select(ApiKeyRow::as_select()).first(conn).optional()
}

pub fn find_api_key_by_prefix(conn: &mut DbConnection, prefix: &str) -> QueryResult<Option<ApiKeyRow>> {
    api_keys::table.filter(api_keys::prefix.eq(prefix)).select(ApiKeyRow::as_select()).first(conn).optional()
}

pub fn list_api_keys(conn: &mut DbConnection, page: PageQuery) -> QueryResult<Vec<ApiKeyRow>> {
    let mut query = api_keys::table.select(ApiKeyRow::as_select()).into_boxed();
    if let Some(after) = page.after {
        query = query.filter(api_keys::id.gt(after));
    }
    query.order(api_keys::id.asc()).limit(page.limit).load(conn)
}

pub fn revoke_api_key(conn: &mut DbConnection, id: DbUuid, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(api_keys::table.find(id).filter(api_keys::revoked_at.is_null()))
        .set(api_keys::revoked_at.eq(Some(at)))
        .execute(conn)
}

pub fn touch_api_key(conn: &mut DbConnection, id: DbUuid, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(api_keys::table.find(id)).set(api_keys::last_used_at.eq(Some(at))).execute(conn)
}

pub fn record_login_attempt(conn: &mut DbConnection, form: &LoginAttemptInsertForm) -> QueryResult<()> {
    diesel::insert_into(login_attempts::table).values(form).execute(conn).map(|_| ())
}

/// Failed attempts for an account since a time, and the oldest of them.
pub fn failures_for_email(
    conn: &mut DbConnection,
    email: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<NaiveDateTime>> {
    login_attempts::table
        .filter(login_attempts::email.eq(email))
        .filter(login_attempts::succeeded.eq(false))
        .filter(login_attempts::attempted_at.ge(since))
        .order(login_attempts::attempted_at.asc())
        .select(login_attempts::attempted_at)
        .load(conn)
}

/// Failed attempts from an address since a time.
pub fn failures_for_address(
    conn: &mut DbConnection,
    address: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<NaiveDateTime>> {
    login_attempts::table
        .filter(login_attempts::address.eq(address))
        .filter(login_attempts::succeeded.eq(false))
        .filter(login_attempts::attempted_at.ge(since))
        .order(login_attempts::attempted_at.asc())
        .select(login_attempts::attempted_at)
        .load(conn)
}

/// Forgets an account's failed attempts (after it signs in successfully).
pub fn clear_failures_for_email(conn: &mut DbConnection, email: &str) -> QueryResult<usize> {
    diesel::delete(
        login_attempts::table
            .filter(login_attempts::email.eq(email))
            .filter(login_attempts::succeeded.eq(false)),
    )
    .execute(conn)
}

pub fn prune_login_attempts(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(login_attempts::table.filter(login_attempts::attempted_at.lt(before))).execute(conn)
}
