//! The catalogue and the organisation's details.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::queries::keyset;

use crate::db::DbConnection;
use crate::queries::PageQuery;
use crate::rows::{OrganizationRow, ProductRow};
use crate::schema::{organization_settings, products};
use crate::types::DbUuid;

pub fn insert_product(conn: &mut DbConnection, row: &ProductRow) -> QueryResult<()> {
    diesel::insert_into(products::table).values(row).execute(conn).map(|_| ())
}

pub fn find_product(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<ProductRow>> {
    products::table.find(id).select(ProductRow::as_select()).first(conn).optional()
}

/// Several products in one query (lines of a document).
pub fn find_products(conn: &mut DbConnection, ids: &[DbUuid]) -> QueryResult<Vec<ProductRow>> {
    products::table.filter(products::id.eq_any(ids)).select(ProductRow::as_select()).load(conn)
}

pub fn find_by_sku(conn: &mut DbConnection, sku: &str) -> QueryResult<Option<ProductRow>> {
    products::table.filter(products::sku.eq(sku)).select(ProductRow::as_select()).first(conn).optional()
}

pub fn update_product(
    conn: &mut DbConnection,
    row: &ProductRow,
    expected_version: i64,
) -> QueryResult<usize> {
    diesel::update(
        products::table.filter(products::id.eq(row.id)).filter(products::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)
}

pub fn list_products(
    conn: &mut DbConnection,
    active: Option<bool>,
    updated_since: Option<NaiveDateTime>,
    page: PageQuery,
) -> QueryResult<Vec<ProductRow>> {
    let mut q = products::table.select(ProductRow::as_select()).into_boxed();
    if let Some(a) = active {
        q = q.filter(products::active.eq(a));
    }
    if let Some(since) = updated_since {
        q = q.filter(products::updated_at.ge(since));
    }
    keyset!(q, products, page).load(conn)
}

/// The single row of organisation details, if set.
pub fn organization(conn: &mut DbConnection) -> QueryResult<Option<OrganizationRow>> {
    organization_settings::table.find(1).select(OrganizationRow::as_select()).first(conn).optional()
}

pub fn insert_organization(conn: &mut DbConnection, row: &OrganizationRow) -> QueryResult<()> {
    diesel::insert_into(organization_settings::table).values(row).execute(conn).map(|_| ())
}

pub fn update_organization(
    conn: &mut DbConnection,
    row: &OrganizationRow,
    expected_version: i64,
) -> QueryResult<usize> {
    diesel::update(
        organization_settings::table
            .filter(organization_settings::id.eq(row.id))
            .filter(organization_settings::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)
}
