//! Absences: who stands in for whom while one runs, and the timed moves.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::queries::PageQuery;
use crate::rows::*;
use crate::schema::*;
use crate::types::DbUuid;

pub const PLANNED: &str = "planned";
pub const RUNNING: &str = "running";
pub const ENDED: &str = "ended";
pub const CANCELLED: &str = "cancelled";

pub fn insert(conn: &mut DbConnection, row: &AbsenceRow) -> QueryResult<()> {
    diesel::insert_into(absences::table).values(row).execute(conn).map(|_| ())
}

pub fn find(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<AbsenceRow>> {
    absences::table.find(id).select(AbsenceRow::as_select()).first(conn).optional()
}

/// Saves a changed absence if it is still at `version`; 0 when it moved on.
pub fn update(conn: &mut DbConnection, row: &AbsenceRow, version: i64) -> QueryResult<usize> {
    diesel::update(absences::table.find(row.id).filter(absences::version.eq(version))).set(row).execute(conn)
}

/// The running absence of `user`, if any: whom their work goes to.
pub fn running_of(conn: &mut DbConnection, user: DbUuid) -> QueryResult<Option<AbsenceRow>> {
    absences::table
        .filter(absences::user_id.eq(user))
        .filter(absences::state.eq(RUNNING))
        .select(AbsenceRow::as_select())
        .first(conn)
        .optional()
}

/// The users `deputy` stands in for right now.
pub fn covered_by(conn: &mut DbConnection, deputy: DbUuid) -> QueryResult<Vec<DbUuid>> {
    absences::table
        .filter(absences::deputy_id.eq(deputy))
        .filter(absences::state.eq(RUNNING))
        .select(absences::user_id)
        .load(conn)
}

/// Absences of `user` not over or withdrawn that overlap [`from`, `to`).
pub fn overlapping(
    conn: &mut DbConnection,
    user: DbUuid,
    from: chrono::NaiveDateTime,
    to: chrono::NaiveDateTime,
) -> QueryResult<Vec<AbsenceRow>> {
    absences::table
        .filter(absences::user_id.eq(user))
        .filter(absences::state.eq_any([PLANNED, RUNNING]))
        .filter(absences::starts_at.lt(to))
        .filter(absences::ends_at.gt(from))
        .select(AbsenceRow::as_select())
        .load(conn)
}

/// Planned absences whose start has come, and running ones whose end has.
pub fn due(conn: &mut DbConnection, now: chrono::NaiveDateTime, limit: i64) -> QueryResult<Vec<AbsenceRow>> {
    absences::table
        .filter(
            absences::state
                .eq(PLANNED)
                .and(absences::starts_at.le(now))
                .or(absences::state.eq(RUNNING).and(absences::ends_at.le(now))),
        )
        .order(absences::starts_at.asc())
        .limit(limit)
        .select(AbsenceRow::as_select())
        .load(conn)
}

/// Absences where the absent user or the deputy is one of `users` (`None`: all), in id order.
pub fn list(
    conn: &mut DbConnection,
    users: Option<&[DbUuid]>,
    page: PageQuery,
) -> QueryResult<Vec<AbsenceRow>> {
    let mut q = absences::table.into_boxed();
    if let Some(u) = users {
        q = q.filter(absences::user_id.eq_any(u.to_vec()).or(absences::deputy_id.eq_any(u.to_vec())));
    }
    if let Some(after) = page.after {
        q = q.filter(absences::id.gt(after));
    }
    q.order(absences::id.asc()).limit(page.limit).select(AbsenceRow::as_select()).load(conn)
}
