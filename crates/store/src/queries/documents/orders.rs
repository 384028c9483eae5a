//! Orders, their lines, payments and shipments, and document numbering.

use diesel::prelude::*;

use crate::queries::keyset;

use crate::db::DbConnection;
use crate::queries::PageQuery;
use crate::rows::*;
use crate::schema::*;
use crate::types::DbUuid;

/// The next number of a document kind in a year (`ORD-2026-000045`): a row
/// per kind and year, bumped inside the caller's transaction.
pub fn next_number(conn: &mut DbConnection, kind: &str, year: i32) -> QueryResult<i64> {
    let updated = diesel::update(document_numbers::table.find((kind, year)))
        .set(document_numbers::last_number.eq(document_numbers::last_number + 1))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(document_numbers::table)
            .values((
                document_numbers::kind.eq(kind),
                document_numbers::year.eq(year),
                document_numbers::last_number.eq(1i64),
            ))
            .execute(conn)?;
        return Ok(1);
    }
    document_numbers::table.find((kind, year)).select(document_numbers::last_number).first(conn)
}

pub fn insert_order(conn: &mut DbConnection, row: &OrderRow) -> QueryResult<()> {
    diesel::insert_into(orders::table).values(row).execute(conn).map(|_| ())
}

pub fn find_order(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<OrderRow>> {
    orders::table.find(id).select(OrderRow::as_select()).first(conn).optional()
}

pub fn update_order(conn: &mut DbConnection, row: &OrderRow, expected_version: i64) -> QueryResult<usize> {
    diesel::update(orders::table.filter(orders::id.eq(row.id)).filter(orders::version.eq(expected_version)))
        .set(row)
        .execute(conn)
}

pub fn orders_of_interest(conn: &mut DbConnection, interest: DbUuid) -> QueryResult<Vec<OrderRow>> {
    orders::table
        .filter(orders::interest_id.eq(interest))
        .order(orders::id.asc())
        .select(OrderRow::as_select())
        .load(conn)
}

pub fn insert_line(conn: &mut DbConnection, row: &OrderLineRow) -> QueryResult<()> {
    diesel::insert_into(order_lines::table).values(row).execute(conn).map(|_| ())
}

pub fn lines_of(conn: &mut DbConnection, orders: &[DbUuid]) -> QueryResult<Vec<OrderLineRow>> {
    order_lines::table
        .filter(order_lines::order_id.eq_any(orders.to_vec()))
        .order((order_lines::order_id.asc(), order_lines::position.asc()))
        .select(OrderLineRow::as_select())
        .load(conn)
}

pub fn update_line(conn: &mut DbConnection, row: &OrderLineRow) -> QueryResult<usize> {
    diesel::update(order_lines::table.find(row.id)).set(row).execute(conn)
}

pub fn insert_payment(conn: &mut DbConnection, row: &PaymentRow) -> QueryResult<()> {
    diesel::insert_into(payments::table).values(row).execute(conn).map(|_| ())
}

pub fn find_payment(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<PaymentRow>> {
    payments::table.find(id).select(PaymentRow::as_select()).first(conn).optional()
}

pub fn payment_by_ref(conn: &mut DbConnection, external_ref: &str) -> QueryResult<Option<PaymentRow>> {
    payments::table
        .filter(payments::external_ref.eq(external_ref))
        .select(PaymentRow::as_select())
        .first(conn)
        .optional()
}

pub fn update_payment(
    conn: &mut DbConnection,
    row: &PaymentRow,
    expected_version: i64,
) -> QueryResult<usize> {
    diesel::update(
        payments::table.filter(payments::id.eq(row.id)).filter(payments::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)
}

pub fn payments_of(conn: &mut DbConnection, order: DbUuid) -> QueryResult<Vec<PaymentRow>> {
    payments::table
        .filter(payments::order_id.eq(order))
        .order(payments::id.asc())
        .select(PaymentRow::as_select())
        .load(conn)
}

pub fn insert_shipment(conn: &mut DbConnection, row: &ShipmentRow) -> QueryResult<()> {
    diesel::insert_into(shipments::table).values(row).execute(conn).map(|_| ())
}

pub fn insert_shipment_line(conn: &mut DbConnection, row: &ShipmentLineRow) -> QueryResult<()> {
    diesel::insert_into(shipment_lines::table).values(row).execute(conn).map(|_| ())
}

pub fn find_shipment(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<ShipmentRow>> {
    shipments::table.find(id).select(ShipmentRow::as_select()).first(conn).optional()
}

pub fn shipment_lines_of(conn: &mut DbConnection, shipment: DbUuid) -> QueryResult<Vec<ShipmentLineRow>> {
    shipment_lines::table
        .filter(shipment_lines::shipment_id.eq(shipment))
        .select(ShipmentLineRow::as_select())
        .load(conn)
}

pub fn update_shipment(
    conn: &mut DbConnection,
    row: &ShipmentRow,
    expected_version: i64,
) -> QueryResult<usize> {
    diesel::update(
        shipments::table.filter(shipments::id.eq(row.id)).filter(shipments::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)
}

/// Orders for syncing, in id order; `responsible_in` limits them to interests of those users.
pub fn list_orders(
    conn: &mut DbConnection,
    status: Option<&str>,
    updated_since: Option<chrono::NaiveDateTime>,
    responsible_in: Option<Vec<DbUuid>>,
    page: crate::queries::PageQuery,
) -> QueryResult<Vec<OrderRow>> {
    let mut q = orders::table.inner_join(interests::table).select(OrderRow::as_select()).into_boxed();
    if let Some(s) = status {
        q = q.filter(orders::status.eq(s.to_owned()));
    }
    if let Some(since) = updated_since {
        q = q.filter(orders::updated_at.ge(since));
    }
    if let Some(users) = responsible_in {
        q = q.filter(interests::responsible_id.eq_any(users));
    }
    keyset!(q, orders, page).load(conn)
}

/// Payments for syncing, in id order.
pub fn list_payments(
    conn: &mut DbConnection,
    order: Option<DbUuid>,
    updated_since: Option<chrono::NaiveDateTime>,
    page: crate::queries::PageQuery,
) -> QueryResult<Vec<PaymentRow>> {
    let mut q = payments::table.select(PaymentRow::as_select()).into_boxed();
    if let Some(o) = order {
        q = q.filter(payments::order_id.eq(o));
    }
    if let Some(since) = updated_since {
        q = q.filter(payments::updated_at.ge(since));
    }
    keyset!(q, payments, page).load(conn)
}

/// Replaces a draft order's lines (the database refuses it once the order is posted).
pub fn delete_lines_of(conn: &mut DbConnection, order: DbUuid) -> QueryResult<usize> {
    diesel::delete(order_lines::table.filter(order_lines::order_id.eq(order))).execute(conn)
}

pub fn payments_of_orders(conn: &mut DbConnection, orders: &[DbUuid]) -> QueryResult<Vec<PaymentRow>> {
    payments::table
        .filter(payments::order_id.eq_any(orders.to_vec()))
        .order(payments::id.asc())
        .select(PaymentRow::as_select())
        .load(conn)
}

pub fn shipments_of_orders(conn: &mut DbConnection, orders: &[DbUuid]) -> QueryResult<Vec<ShipmentRow>> {
    shipments::table
        .filter(shipments::order_id.eq_any(orders.to_vec()))
        .order(shipments::id.asc())
        .select(ShipmentRow::as_select())
        .load(conn)
}

/// An interest's orders, a page at a time in id order.
pub fn orders_of_interest_page(
    conn: &mut DbConnection,
    interest: DbUuid,
    page: PageQuery,
) -> QueryResult<Vec<OrderRow>> {
    let mut q = orders::table.filter(orders::interest_id.eq(interest)).into_boxed();
    if let Some(after) = page.after {
        q = q.filter(orders::id.gt(after));
    }
    q.order(orders::id.asc()).limit(page.limit).select(OrderRow::as_select()).load(conn)
}

/// An order's payments, a page at a time in id order.
pub fn payments_of_page(
    conn: &mut DbConnection,
    order: DbUuid,
    page: PageQuery,
) -> QueryResult<Vec<PaymentRow>> {
    let mut q = payments::table.filter(payments::order_id.eq(order)).into_boxed();
    if let Some(after) = page.after {
        q = q.filter(payments::id.gt(after));
    }
    q.order(payments::id.asc()).limit(page.limit).select(PaymentRow::as_select()).load(conn)
}

/// An order's shipments, a page at a time in id order.
pub fn shipments_of_order_page(
    conn: &mut DbConnection,
    order: DbUuid,
    page: PageQuery,
) -> QueryResult<Vec<ShipmentRow>> {
    let mut q = shipments::table.filter(shipments::order_id.eq(order)).into_boxed();
    if let Some(after) = page.after {
        q = q.filter(shipments::id.gt(after));
    }
    q.order(shipments::id.asc()).limit(page.limit).select(ShipmentRow::as_select()).load(conn)
}
