//! What a user's calendar feed holds: its token, and the planned
//! interactions and tasks it shows.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::rows::{CalendarFeedRow, InteractionRow, TaskRow};
use crate::schema::{calendar_feeds, interactions, interests, tasks};
use crate::types::DbUuid;

/// Gives the user this feed, replacing the one they had.
pub fn replace_calendar_feed(conn: &mut DbConnection, row: &CalendarFeedRow) -> QueryResult<()> {
    diesel::delete(calendar_feeds::table.filter(calendar_feeds::user_id.eq(row.user_id))).execute(conn)?;
    diesel::insert_into(calendar_feeds::table).values(row).execute(conn).map(|_| ())
}

/// Removes the user's feed; how many there were (0 or 1).
pub fn delete_calendar_feed(conn: &mut DbConnection, user: DbUuid) -> QueryResult<usize> {
    diesel::delete(calendar_feeds::table.filter(calendar_feeds::user_id.eq(user))).execute(conn)
}

pub fn find_calendar_feed(conn: &mut DbConnection, token_hash: &str) -> QueryResult<Option<CalendarFeedRow>> {
    calendar_feeds::table
        .filter(calendar_feeds::token_hash.eq(token_hash))
        .select(CalendarFeedRow::as_select())
        .first(conn)
        .optional()
}

/// Planned and cancelled interactions planned in `[from, to)` on interests
/// this user is responsible for, by time.
pub fn calendar_interactions(
    conn: &mut DbConnection,
    user: DbUuid,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<InteractionRow>> {
    interactions::table
        .inner_join(interests::table)
        .filter(interests::responsible_id.eq(user))
        .filter(interactions::status.eq_any(["planned", "cancelled"]))
        .filter(interactions::planned_at.ge(from))
        .filter(interactions::planned_at.lt(to))
        .order((interactions::planned_at.asc(), interactions::id.asc()))
        .select(InteractionRow::as_select())
        .load(conn)
}

/// Open and cancelled tasks of this user due in `[from, to)`, by due time.
pub fn calendar_tasks(
    conn: &mut DbConnection,
    user: DbUuid,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<TaskRow>> {
    tasks::table
        .filter(tasks::assignee_id.eq(user))
        .filter(tasks::status.eq_any(["open", "cancelled"]))
        .filter(tasks::due_at.ge(from))
        .filter(tasks::due_at.lt(to))
        .order((tasks::due_at.asc(), tasks::id.asc()))
        .select(TaskRow::as_select())
        .load(conn)
}
