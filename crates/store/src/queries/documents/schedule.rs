//! Orders' payment schedules (instalments) and the overdue check.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::rows::*;
use crate::schema::*;
use crate::types::DbUuid;

pub fn instalments_of(conn: &mut DbConnection, order: DbUuid) -> QueryResult<Vec<InstalmentRow>> {
    order_instalments::table
        .filter(order_instalments::order_id.eq(order))
        .order(order_instalments::position.asc())
        .select(InstalmentRow::as_select())
        .load(conn)
}

pub fn instalments_of_orders(conn: &mut DbConnection, orders: &[DbUuid]) -> QueryResult<Vec<InstalmentRow>> {
    order_instalments::table
        .filter(order_instalments::order_id.eq_any(orders.to_vec()))
        .order((order_instalments::order_id.asc(), order_instalments::position.asc()))
        .select(InstalmentRow::as_select())
        .load(conn)
}

pub fn replace_instalments(
    conn: &mut DbConnection,
    order: DbUuid,
    rows: &[InstalmentRow],
) -> QueryResult<()> {
    diesel::delete(order_instalments::table.filter(order_instalments::order_id.eq(order))).execute(conn)?;
    for r in rows {
        diesel::insert_into(order_instalments::table).values(r).execute(conn)?;
    }
    Ok(())
}

pub fn update_instalment(conn: &mut DbConnection, row: &InstalmentRow) -> QueryResult<usize> {
    diesel::update(order_instalments::table.find(row.id)).set(row).execute(conn)
}

/// Confirmed orders holding an instalment whose due date is before `before`
/// and has not been looked at yet (oldest first, at most `limit`).
pub fn orders_with_passed_dues(
    conn: &mut DbConnection,
    before: chrono::NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<DbUuid>> {
    let mut ids: Vec<DbUuid> = order_instalments::table
        .inner_join(orders::table)
        .filter(order_instalments::due_checked_at.is_null())
        .filter(order_instalments::due_on.lt(before))
        .filter(orders::status.eq(crm_domain::status::OrderStatus::Confirmed.as_str()))
        .order(order_instalments::due_on.asc())
        .limit(limit)
        .select(order_instalments::order_id)
        .load(conn)?;
    ids.dedup();
    Ok(ids)
}
