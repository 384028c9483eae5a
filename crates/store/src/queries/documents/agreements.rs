//! Agreements with clients and their numbers.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::rows::*;
use crate::schema::*;
use crate::types::DbUuid;

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
    page: crate::queries::PageQuery,
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
