//! Invoice sendings: recorded before they are tried, claimed for a retry.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::queries::PageQuery;
use crate::rows::*;
use crate::schema::*;
use crate::types::DbUuid;

pub fn insert_sending(conn: &mut DbConnection, row: &InvoiceSendingRow) -> QueryResult<()> {
    diesel::insert_into(invoice_sendings::table).values(row).execute(conn).map(|_| ())
}

pub fn find_sending(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<InvoiceSendingRow>> {
    invoice_sendings::table.find(id).select(InvoiceSendingRow::as_select()).first(conn).optional()
}

pub fn update_sending(conn: &mut DbConnection, row: &InvoiceSendingRow) -> QueryResult<usize> {
    diesel::update(invoice_sendings::table.find(row.id)).set(row).execute(conn)
}

/// Claims a sending for a new attempt: a failed one, or one whose attempt
/// went quiet before `stale_before` (a crash). 0 when another attempt holds it.
pub fn claim_sending(
    conn: &mut DbConnection,
    id: DbUuid,
    now: chrono::NaiveDateTime,
    stale_before: chrono::NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        invoice_sendings::table.find(id).filter(
            invoice_sendings::status.eq(crm_domain::status::SendingStatus::Failed.as_str()).or(
                invoice_sendings::status
                    .eq(crm_domain::status::SendingStatus::Pending.as_str())
                    .and(invoice_sendings::updated_at.lt(stale_before)),
            ),
        ),
    )
    .set((
        invoice_sendings::status.eq(crm_domain::status::SendingStatus::Pending.as_str()),
        invoice_sendings::updated_at.eq(now),
        invoice_sendings::version.eq(invoice_sendings::version + 1),
    ))
    .execute(conn)
}

pub fn sendings_of(conn: &mut DbConnection, order: DbUuid) -> QueryResult<Vec<InvoiceSendingRow>> {
    invoice_sendings::table
        .filter(invoice_sendings::order_id.eq(order))
        .order(invoice_sendings::id.asc())
        .select(InvoiceSendingRow::as_select())
        .load(conn)
}

/// An order's invoice sendings, a page at a time in id order.
pub fn sendings_of_page(
    conn: &mut DbConnection,
    order: DbUuid,
    page: PageQuery,
) -> QueryResult<Vec<InvoiceSendingRow>> {
    let mut q = invoice_sendings::table.filter(invoice_sendings::order_id.eq(order)).into_boxed();
    if let Some(after) = page.after {
        q = q.filter(invoice_sendings::id.gt(after));
    }
    q.order(invoice_sendings::id.asc()).limit(page.limit).select(InvoiceSendingRow::as_select()).load(conn)
}
