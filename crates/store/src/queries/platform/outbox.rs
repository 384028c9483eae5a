//! The event outbox: appended in the same transaction as the change it describes.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::rows::{EventSnapshot, FeedEventRow, OutboxEventRow};
use crate::schema::{feed_horizon, outbox_events};
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

/// Appends an event already rendered: one insert where an insert and a
/// later update would write the row, and every index of the table, twice.
pub fn append_rendered(
    conn: &mut DbConnection,
    event: &OutboxEventRow,
    snapshot: &EventSnapshot,
) -> QueryResult<()> {
    diesel::insert_into(outbox_events::table).values((event, snapshot)).execute(conn).map(|_| ())
}

/// The data and audience of the entity's latest rendered event, if any.
pub fn last_rendered(
    conn: &mut DbConnection,
    entity_type: &str,
    entity_id: DbUuid,
) -> QueryResult<Option<(Option<String>, Option<String>)>> {
    outbox_events::table
        .filter(outbox_events::entity_type.eq(entity_type))
        .filter(outbox_events::entity_id.eq(entity_id))
        .filter(outbox_events::data.is_not_null())
        .order((outbox_events::tx_id.desc(), outbox_events::seq.desc()))
        .select((outbox_events::data, outbox_events::audience))
        .first(conn)
        .optional()
}

/// Where retention has pruned the feed up to (`None`: nothing pruned yet).
pub fn horizon(conn: &mut DbConnection) -> QueryResult<Option<FeedPosition>> {
    feed_horizon::table
        .select((feed_horizon::tx_id, feed_horizon::seq))
        .first::<(i64, i64)>(conn)
        .optional()
        .map(|h| h.map(|(tx_id, seq)| FeedPosition { tx_id, seq }))
}

/// Deletes events that happened before `before`, and only those a reader
/// can already have passed (on PostgreSQL, of transactions older than every
/// one running), in feed order; moves the horizon to the last one deleted.
/// Returns how many went.
pub fn prune_before(conn: &mut DbConnection, before: chrono::NaiveDateTime) -> QueryResult<usize> {
    use diesel::dsl::sql;
    use diesel::sql_types::Bool;
    let mut last = outbox_events::table
        .filter(outbox_events::occurred_at.lt(before))
        .select((outbox_events::tx_id, outbox_events::seq))
        .order((outbox_events::tx_id.desc(), outbox_events::seq.desc()))
        .into_boxed();
    if matches!(conn, DbConnection::Pg(_)) {
        last = last.filter(sql::<Bool>("tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"));
    }
    let Some((tx_id, Some(seq))) = last.first::<(i64, Option<i64>)>(conn).optional()? else {
        return Ok(0);
    };
    // Everything up to that place goes, so the horizon is exact even when
    // an older place holds a younger event (clocks of two instances).
    let gone = diesel::delete(outbox_events::table.filter(
        outbox_events::tx_id.lt(tx_id).or(outbox_events::tx_id.eq(tx_id).and(outbox_events::seq.le(seq))),
    ))
    .execute(conn)?;
    let exists = horizon(conn)?.is_some();
    if exists {
        diesel::update(feed_horizon::table)
            .set((feed_horizon::tx_id.eq(tx_id), feed_horizon::seq.eq(seq)))
            .execute(conn)?;
    } else {
        diesel::insert_into(feed_horizon::table)
            .values((feed_horizon::id.eq(1), feed_horizon::tx_id.eq(tx_id), feed_horizon::seq.eq(seq)))
            .execute(conn)?;
    }
    Ok(gone)
}

pub fn find(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<OutboxEventRow>> {
    outbox_events::table.find(id).select(OutboxEventRow::as_select()).first(conn).optional()
}

/// The last place a reader can be handed today (`None`: the feed is empty
/// so far): a webhook made now starts there, past everything already written.
pub fn feed_end(conn: &mut DbConnection) -> QueryResult<Option<FeedPosition>> {
    use diesel::dsl::sql;
    use diesel::sql_types::Bool;
    let mut q = outbox_events::table
        .select((outbox_events::tx_id, outbox_events::seq))
        .order((outbox_events::tx_id.desc(), outbox_events::seq.desc()))
        .into_boxed();
    if matches!(conn, DbConnection::Pg(_)) {
        q = q.filter(sql::<Bool>("tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"));
    }
    Ok(q.first::<(i64, Option<i64>)>(conn)
        .optional()?
        .map(|(tx_id, seq)| FeedPosition { tx_id, seq: seq.unwrap_or(0) }))
}

/// One event by id, with its place, as the feed reads it.
pub fn find_feed_event(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<FeedEventRow>> {
    outbox_events::table.find(id).select(FeedEventRow::as_select()).first(conn).optional()
}
