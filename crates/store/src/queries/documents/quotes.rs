//! Quotes, their variants and lines, and what was ordered from them.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::queries::PageQuery;
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

/// How much of a quote line the quote's live (not cancelled) orders hold.
pub fn ordered_of_quote_line(conn: &mut DbConnection, quote_line: DbUuid) -> QueryResult<i64> {
    let q: Vec<i64> = order_lines::table
        .inner_join(orders::table)
        .filter(order_lines::quote_line_id.eq(quote_line))
        .filter(orders::status.ne(crm_domain::status::OrderStatus::Cancelled.as_str()))
        .select(order_lines::quantity)
        .load(conn)?;
    // Summed wide: the caller compares it with the quoted quantity, so a sum
    // past i64 (never reached in practice) reads as "more than quoted".
    Ok(i64::try_from(q.into_iter().map(i128::from).sum::<i128>()).unwrap_or(i64::MAX))
}

/// An interest's quotes, a page at a time in id order.
pub fn quotes_of_interest_page(
    conn: &mut DbConnection,
    interest: DbUuid,
    page: PageQuery,
) -> QueryResult<Vec<QuoteRow>> {
    let mut q = quotes::table.filter(quotes::interest_id.eq(interest)).into_boxed();
    if let Some(after) = page.after {
        q = q.filter(quotes::id.gt(after));
    }
    q.order(quotes::id.asc()).limit(page.limit).select(QuoteRow::as_select()).load(conn)
}
