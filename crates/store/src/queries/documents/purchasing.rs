//! Purchase-side documents related to an order.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::queries::PageQuery;
use crate::rows::*;
use crate::schema::*;
use crate::types::DbUuid;

pub fn insert_related(conn: &mut DbConnection, row: &RelatedDocumentRow) -> QueryResult<()> {
    diesel::insert_into(related_documents::table).values(row).execute(conn).map(|_| ())
}

pub fn find_related(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<RelatedDocumentRow>> {
    related_documents::table.find(id).select(RelatedDocumentRow::as_select()).first(conn).optional()
}

pub fn update_related(conn: &mut DbConnection, row: &RelatedDocumentRow) -> QueryResult<usize> {
    diesel::update(related_documents::table.find(row.id)).set(row).execute(conn)
}

pub fn related_by_external(
    conn: &mut DbConnection,
    kind: &str,
    external_id: &str,
) -> QueryResult<Option<RelatedDocumentRow>> {
    related_documents::table
        .filter(related_documents::kind.eq(kind))
        .filter(related_documents::external_id.eq(external_id))
        .select(RelatedDocumentRow::as_select())
        .first(conn)
        .optional()
}

pub fn related_of(conn: &mut DbConnection, orders: &[DbUuid]) -> QueryResult<Vec<RelatedDocumentRow>> {
    related_documents::table
        .filter(related_documents::order_id.eq_any(orders.to_vec()))
        .order(related_documents::id.asc())
        .select(RelatedDocumentRow::as_select())
        .load(conn)
}

/// An order's related documents, a page at a time in id order.
pub fn related_of_order_page(
    conn: &mut DbConnection,
    order: DbUuid,
    page: PageQuery,
) -> QueryResult<Vec<RelatedDocumentRow>> {
    let mut q = related_documents::table.filter(related_documents::order_id.eq(order)).into_boxed();
    if let Some(after) = page.after {
        q = q.filter(related_documents::id.gt(after));
    }
    q.order(related_documents::id.asc()).limit(page.limit).select(RelatedDocumentRow::as_select()).load(conn)
}
