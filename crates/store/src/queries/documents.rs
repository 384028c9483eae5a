//! Quotes and their variants, agreements, order payment schedules, invoice
//! e-mails and purchase-side related documents.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::rows::*;
use crate::schema::*;
use crate::types::DbUuid;

pub fn insert_quote(conn: &mut DbConnection, row: &QuoteRow) -> QueryResult<()> {
    diesel::insert_into(quotes::table).values(row).execute(conn).map(|_| ())
}

pub fn find_quote(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<QuoteRow>> {
    quotes::table.find(id).select(QuoteRow::as_select()).first(conn).optional()
}

pub fn update_quote(conn: &mut DbConnection, row: &QuoteRow, expected_version: i64) -> QueryResult<usize> {
    diesel::update(quotes::table.filter(quotes::id.eq(row.id)).filter(quotes::version.eq(expected_version)))
        .set(row)
        .execute(conn)
}

pub fn quotes_of_interest(conn: &mut DbConnection, interest: DbUuid) -> QueryResult<Vec<QuoteRow>> {
    quotes::table
        .filter(quotes::interest_id.eq(interest))
        .order(quotes::id.asc())
        .select(QuoteRow::as_select())
        .load(conn)
}

pub fn insert_variant(conn: &mut DbConnection, row: &QuoteVariantRow) -> QueryResult<()> {
    diesel::insert_into(quote_variants::table).values(row).execute(conn).map(|_| ())
}

pub fn update_variant(conn: &mut DbConnection, row: &QuoteVariantRow) -> QueryResult<usize> {
    diesel::update(quote_variants::table.find(row.id)).set(row).execute(conn)
}

pub fn variants_of(conn: &mut DbConnection, quotes: &[DbUuid]) -> QueryResult<Vec<QuoteVariantRow>> {
    quote_variants::table
        .filter(quote_variants::quote_id.eq_any(quotes.to_vec()))
        .order((quote_variants::quote_id.asc(), quote_variants::position.asc()))
        .select(QuoteVariantRow::as_select())
        .load(conn)
}

/// Removes a draft quote's variants and their lines (before they are rewritten).
pub fn delete_variants_of(conn: &mut DbConnection, quote: DbUuid) -> QueryResult<()> {
    let ids: Vec<DbUuid> = quote_variants::table
        .filter(quote_variants::quote_id.eq(quote))
        .select(quote_variants::id)
        .load(conn)?;
    diesel::delete(quote_lines::table.filter(quote_lines::variant_id.eq_any(ids))).execute(conn)?;
    diesel::delete(quote_variants::table.filter(quote_variants::quote_id.eq(quote))).execute(conn)?;
    Ok(())
}

pub fn insert_quote_line(conn: &mut DbConnection, row: &QuoteLineRow) -> QueryResult<()> {
    diesel::insert_into(quote_lines::table).values(row).execute(conn).map(|_| ())
}

pub fn quote_lines_of(conn: &mut DbConnection, variants: &[DbUuid]) -> QueryResult<Vec<QuoteLineRow>> {
    quote_lines::table
        .filter(quote_lines::variant_id.eq_any(variants.to_vec()))
        .order((quote_lines::variant_id.asc(), quote_lines::position.asc()))
        .select(QuoteLineRow::as_select())
        .load(conn)
}

pub fn orders_of_quote(conn: &mut DbConnection, quote: DbUuid) -> QueryResult<Vec<OrderRow>> {
    orders::table
        .filter(orders::quote_id.eq(quote))
        .order(orders::id.asc())
        .select(OrderRow::as_select())
        .load(conn)
}

pub fn insert_agreement(conn: &mut DbConnection, row: &AgreementRow) -> QueryResult<()> {
    diesel::insert_into(agreements::table).values(row).execute(conn).map(|_| ())
}

pub fn find_agreement(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<AgreementRow>> {
    agreements::table.find(id).select(AgreementRow::as_select()).first(conn).optional()
}

pub fn update_agreement(
    conn: &mut DbConnection,
    row: &AgreementRow,
    expected_version: i64,
) -> QueryResult<usize> {
    diesel::update(
        agreements::table.filter(agreements::id.eq(row.id)).filter(agreements::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)
}

pub fn agreements_of_client(
    conn: &mut DbConnection,
    client: DbUuid,
    page: super::PageQuery,
) -> QueryResult<Vec<AgreementRow>> {
    let mut q = agreements::table.filter(agreements::client_id.eq(client)).into_boxed();
    if let Some(after) = page.after {
        q = q.filter(agreements::id.gt(after));
    }
    q.order(agreements::id.asc()).limit(page.limit).select(AgreementRow::as_select()).load(conn)
}

pub fn agreement_number_taken(conn: &mut DbConnection, client: DbUuid, number: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        agreements::table.filter(agreements::client_id.eq(client)).filter(agreements::number.eq(number)),
    ))
    .get_result(conn)
}

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

/// Replaces a draft order's lines (the database refuses it once the order is posted).
pub fn delete_lines_of(conn: &mut DbConnection, order: DbUuid) -> QueryResult<usize> {
    diesel::delete(order_lines::table.filter(order_lines::order_id.eq(order))).execute(conn)
}

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
            invoice_sendings::status.eq("failed").or(invoice_sendings::status
                .eq("pending")
                .and(invoice_sendings::updated_at.lt(stale_before))),
        ),
    )
    .set((
        invoice_sendings::status.eq("pending"),
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

/// How much of a quote line the quote's live (not cancelled) orders hold.
pub fn ordered_of_quote_line(conn: &mut DbConnection, quote_line: DbUuid) -> QueryResult<i64> {
    let q: Vec<i64> = order_lines::table
        .inner_join(orders::table)
        .filter(order_lines::quote_line_id.eq(quote_line))
        .filter(orders::status.ne("cancelled"))
        .select(order_lines::quantity)
        .load(conn)?;
    // Summed wide: the caller compares it with the quoted quantity, so a sum
    // past i64 (never reached in practice) reads as "more than quoted".
    Ok(i64::try_from(q.into_iter().map(i128::from).sum::<i128>()).unwrap_or(i64::MAX))
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
        .filter(orders::status.eq("confirmed"))
        .order(order_instalments::due_on.asc())
        .limit(limit)
        .select(order_instalments::order_id)
        .load(conn)?;
    ids.dedup();
    Ok(ids)
}
