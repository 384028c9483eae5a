//! Timeline entries of an interest.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::rows::*;
use crate::schema::*;
use crate::types::DbUuid;

pub fn insert_timeline_entry(conn: &mut DbConnection, row: &TimelineEntryRow) -> QueryResult<()> {
    diesel::insert_into(timeline_entries::table).values(row).execute(conn).map(|_| ())
}

pub fn insert_stage_move(conn: &mut DbConnection, row: &StageMoveRow) -> QueryResult<()> {
    diesel::insert_into(stage_moves::table).values(row).execute(conn).map(|_| ())
}

/// An interest's timeline, newest first by when each thing happened (ties
/// in the order they were written), continuing after the entry `before`.
pub fn list_timeline(
    conn: &mut DbConnection,
    interest: DbUuid,
    before: Option<DbUuid>,
    limit: i64,
) -> QueryResult<Vec<TimelineEntryRow>> {
    let mut q = timeline_entries::table
        .filter(timeline_entries::interest_id.eq(interest))
        .select(TimelineEntryRow::as_select())
        .into_boxed();
    if let Some(before) = before {
        let at: Option<chrono::NaiveDateTime> = timeline_entries::table
            .find(before)
            .select(timeline_entries::occurred_at)
            .first(conn)
            .optional()?;
        q = match at {
            Some(at) => q.filter(
                timeline_entries::occurred_at
                    .lt(at)
                    .or(timeline_entries::occurred_at.eq(at).and(timeline_entries::id.lt(before))),
            ),
            // A cursor whose entry is gone: continue by id alone.
            None => q.filter(timeline_entries::id.lt(before)),
        };
    }
    q.order((timeline_entries::occurred_at.desc(), timeline_entries::id.desc())).limit(limit).load(conn)
}
