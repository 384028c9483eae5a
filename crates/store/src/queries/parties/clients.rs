//! Clients, contacts, their contact points and name tokens, and field history.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::queries::keyset;

use crate::db::DbConnection;
use crate::queries::PageQuery;
use crate::rows::*;
use crate::schema::*;
use crate::types::DbUuid;

pub fn insert_client(conn: &mut DbConnection, row: &ClientRow) -> QueryResult<()> {
    diesel::insert_into(clients::table).values(row).execute(conn).map(|_| ())
}

pub fn find_client(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<ClientRow>> {
    clients::table.find(id).select(ClientRow::as_select()).first(conn).optional()
}

pub fn find_clients(conn: &mut DbConnection, ids: &[DbUuid]) -> QueryResult<Vec<ClientRow>> {
    clients::table.filter(clients::id.eq_any(ids.to_vec())).select(ClientRow::as_select()).load(conn)
}

pub fn update_client(conn: &mut DbConnection, row: &ClientRow, expected_version: i64) -> QueryResult<usize> {
    diesel::update(
        clients::table.filter(clients::id.eq(row.id)).filter(clients::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)
}

pub fn clients_by_tax_id(conn: &mut DbConnection, tax_id: &str) -> QueryResult<Vec<ClientRow>> {
    clients::table.filter(clients::tax_id.eq(tax_id)).select(ClientRow::as_select()).load(conn)
}

#[derive(Debug, Clone, Default)]
pub struct ClientFilter {
    /// Only these responsible managers (visibility).
    pub responsible_in: Option<Vec<DbUuid>>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub updated_since: Option<NaiveDateTime>,
}

pub fn list_clients(
    conn: &mut DbConnection,
    filter: &ClientFilter,
    page: PageQuery,
) -> QueryResult<Vec<ClientRow>> {
    let mut q = clients::table.select(ClientRow::as_select()).into_boxed();
    if let Some(users) = &filter.responsible_in {
        q = match users.as_slice() {
            // A manager's own list. An equality lets PostgreSQL read
            // `(responsible_id, id)` in order; `= ANY` of even one value
            // got a plan that walks the id index and filters every row.
            [one] => q.filter(clients::responsible_id.eq(Some(*one))),
            _ => {
                q.filter(clients::responsible_id.eq_any(users.iter().copied().map(Some).collect::<Vec<_>>()))
            }
        };
    }
    if let Some(kind) = &filter.kind {
        q = q.filter(clients::kind.eq(kind.clone()));
    }
    if let Some(status) = &filter.status {
        q = q.filter(clients::status.eq(status.clone()));
    }
    if let Some(since) = filter.updated_since {
        q = q.filter(clients::updated_at.ge(since));
    }
    keyset!(q, clients, page).load(conn)
}

pub fn insert_contact(conn: &mut DbConnection, row: &ContactRow) -> QueryResult<()> {
    diesel::insert_into(contacts::table).values(row).execute(conn).map(|_| ())
}

pub fn find_contact(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<ContactRow>> {
    contacts::table.find(id).select(ContactRow::as_select()).first(conn).optional()
}

pub fn find_contacts(conn: &mut DbConnection, ids: &[DbUuid]) -> QueryResult<Vec<ContactRow>> {
    contacts::table.filter(contacts::id.eq_any(ids.to_vec())).select(ContactRow::as_select()).load(conn)
}

pub fn update_contact(
    conn: &mut DbConnection,
    row: &ContactRow,
    expected_version: i64,
) -> QueryResult<usize> {
    diesel::update(
        contacts::table.filter(contacts::id.eq(row.id)).filter(contacts::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)
}

pub fn contacts_of_client(
    conn: &mut DbConnection,
    client: DbUuid,
    page: PageQuery,
) -> QueryResult<Vec<ContactRow>> {
    let mut q =
        contacts::table.filter(contacts::client_id.eq(client)).select(ContactRow::as_select()).into_boxed();
    if let Some(after) = page.after {
        q = q.filter(contacts::id.gt(after));
    }
    q.order(contacts::id.asc()).limit(page.limit).load(conn)
}

/// Replaces an owner's phones and e-mails (`kind` is `phone` or `email`).
pub fn replace_points(
    conn: &mut DbConnection,
    owner_kind: &str,
    owner: DbUuid,
    points: &[(String, String)],
) -> QueryResult<()> {
    diesel::delete(
        contact_points::table
            .filter(contact_points::owner_kind.eq(owner_kind))
            .filter(contact_points::owner_id.eq(owner)),
    )
    .execute(conn)?;
    for (kind, value) in points {
        diesel::insert_into(contact_points::table)
            .values(&ContactPointRow {
                id: crate::types::DbUuid(uuid::Uuid::now_v7()),
                owner_kind: owner_kind.to_owned(),
                owner_id: owner,
                kind: kind.clone(),
                value: value.clone(),
            })
            .execute(conn)?;
    }
    Ok(())
}

pub fn points_of(
    conn: &mut DbConnection,
    owner_kind: &str,
    owners: &[DbUuid],
) -> QueryResult<Vec<ContactPointRow>> {
    contact_points::table
        .filter(contact_points::owner_kind.eq(owner_kind))
        .filter(contact_points::owner_id.eq_any(owners.to_vec()))
        .order(contact_points::id.asc())
        .select(ContactPointRow::as_select())
        .load(conn)
}

/// Who holds any of these values (index on kind + value).
pub fn owners_of_points(
    conn: &mut DbConnection,
    kind: &str,
    values: &[String],
) -> QueryResult<Vec<ContactPointRow>> {
    contact_points::table
        .filter(contact_points::kind.eq(kind))
        .filter(contact_points::value.eq_any(values.to_vec()))
        .select(ContactPointRow::as_select())
        .load(conn)
}

/// The owners of one phone or e-mail. An equality, not `= ANY`: a plan
/// PostgreSQL caches while the table is still empty then matches both
/// columns in the index rather than the kind alone.
pub fn owners_of_point(
    conn: &mut DbConnection,
    kind: &str,
    value: &str,
) -> QueryResult<Vec<ContactPointRow>> {
    contact_points::table
        .filter(contact_points::kind.eq(kind))
        .filter(contact_points::value.eq(value))
        .select(ContactPointRow::as_select())
        .load(conn)
}

pub fn replace_tokens(
    conn: &mut DbConnection,
    owner_kind: &str,
    owner: DbUuid,
    tokens: &[String],
) -> QueryResult<()> {
    diesel::delete(
        name_tokens::table
            .filter(name_tokens::owner_kind.eq(owner_kind))
            .filter(name_tokens::owner_id.eq(owner)),
    )
    .execute(conn)?;
    for token in tokens {
        diesel::insert_into(name_tokens::table)
            .values(&NameTokenRow {
                id: crate::types::DbUuid(uuid::Uuid::now_v7()),
                owner_kind: owner_kind.to_owned(),
                owner_id: owner,
                token: token.clone(),
            })
            .execute(conn)?;
    }
    Ok(())
}

/// Who shares a name token (index on token); at most `limit` rows.
pub fn owners_of_tokens(
    conn: &mut DbConnection,
    tokens: &[String],
    limit: i64,
) -> QueryResult<Vec<NameTokenRow>> {
    name_tokens::table
        .filter(name_tokens::token.eq_any(tokens.to_vec()))
        .select(NameTokenRow::as_select())
        .limit(limit)
        .load(conn)
}

pub fn insert_history(conn: &mut DbConnection, row: &HistoryRow) -> QueryResult<()> {
    diesel::insert_into(entity_history::table).values(row).execute(conn).map(|_| ())
}

/// Newest first; `before` is the last id of the previous page.
pub fn list_history(
    conn: &mut DbConnection,
    entity_type: &str,
    entity: DbUuid,
    before: Option<DbUuid>,
    limit: i64,
) -> QueryResult<Vec<HistoryRow>> {
    let mut q = entity_history::table
        .filter(entity_history::entity_type.eq(entity_type))
        .filter(entity_history::entity_id.eq(entity))
        .select(HistoryRow::as_select())
        .into_boxed();
    if let Some(before) = before {
        q = q.filter(entity_history::id.lt(before));
    }
    q.order(entity_history::id.desc()).limit(limit).load(conn)
}

/// Every client this user is responsible for, by id.
pub fn clients_of_responsible(conn: &mut DbConnection, user: DbUuid) -> QueryResult<Vec<ClientRow>> {
    clients::table
        .filter(clients::responsible_id.eq(user))
        .order(clients::id.asc())
        .select(ClientRow::as_select())
        .load(conn)
}

/// Contacts of no client that this user is responsible for, by id.
pub fn loose_contacts_of_responsible(conn: &mut DbConnection, user: DbUuid) -> QueryResult<Vec<ContactRow>> {
    contacts::table
        .filter(contacts::responsible_id.eq(user))
        .filter(contacts::client_id.is_null())
        .order(contacts::id.asc())
        .select(ContactRow::as_select())
        .load(conn)
}
