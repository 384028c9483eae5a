//! The event outbox: appended in the same transaction as the change it describes.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::rows::OutboxEventRow;
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
