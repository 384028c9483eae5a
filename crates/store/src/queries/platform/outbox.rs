//! The event outbox: appended in the same transaction as the change it describes.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::rows::{FeedEventRow, OutboxEventRow};
use crate::schema::outbox_events;
use crate::types::DbUuid;

pub fn append(conn: &mut DbConnection, event: &OutboxEventRow) -> QueryResult<()> {
    diesel::insert_into(outbox_events::table).values(event).execute(conn).map(|_| ())
}

/// Events of one entity in the order they happened.
pub fn for_entity(
    conn: &mut DbConnection,
    entity_type: &str,
    entity_id: DbUuid,
) -> QueryResult<Vec<OutboxEventRow>> {
    outbox_events::table
        .filter(outbox_events::entity_type.eq(entity_type))
        .filter(outbox_events::entity_id.eq(entity_id))
        .order(outbox_events::id.asc())
        .select(OutboxEventRow::as_select())
        .load(conn)
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    outbox_events::table.count().get_result(conn)
}

/// A place in the change feed: just after the event numbered `seq` that
/// transaction `tx_id` wrote (`(0, 0)`: the start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct FeedPosition {
    pub tx_id: i64,
    pub seq: i64,
}

impl FeedPosition {
    pub fn of(row: &FeedEventRow) -> Self {
        FeedPosition { tx_id: row.tx_id, seq: row.seq.unwrap_or(0) }
    }
}

/// Up to `limit` events after `after`, in feed order, whose type matches one
/// of `patterns` (SQL `LIKE` patterns; `None`: every type).
///
/// Gap-free: on PostgreSQL only events of transactions older than the
/// oldest one still running are handed out, ordered by (transaction, seq),
/// so an event written by a transaction that commits later can never land
/// behind a position already read. SQLite has one writer at a time, so the
/// order events are numbered in is the order they commit in.
pub fn feed_after(
    conn: &mut DbConnection,
    after: FeedPosition,
    patterns: Option<&[String]>,
    limit: i64,
) -> QueryResult<Vec<FeedEventRow>> {
    use diesel::dsl::sql;
    use diesel::sql_types::Bool;
    let mut query = outbox_events::table
        .filter(
            outbox_events::tx_id
                .gt(after.tx_id)
                .or(outbox_events::tx_id.eq(after.tx_id).and(outbox_events::seq.gt(after.seq))),
        )
        .select(FeedEventRow::as_select())
        .into_boxed();
    if matches!(conn, DbConnection::Pg(_)) {
        query = query.filter(sql::<Bool>("tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"));
    }
    if let Some(patterns) = patterns {
        let mut any: Box<dyn BoxableExpression<outbox_events::table, _, SqlType = Bool>> =
            Box::new(sql::<Bool>("1 = 0"));
        for p in patterns {
            any = Box::new(any.or(outbox_events::kind.like(p.clone())));
        }
        query = query.filter(any);
    }
    query.order((outbox_events::tx_id.asc(), outbox_events::seq.asc())).limit(limit).load(conn)
}
