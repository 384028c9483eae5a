//! Clients' yearly dates: important dates, and the birthdays and foundings
//! whose `MM-DD` falls in a window, for the people who see them.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::queries::PageQuery;
use crate::rows::*;
use crate::schema::*;
use crate::types::DbUuid;

pub fn insert_client_date(conn: &mut DbConnection, row: &ClientDateRow) -> QueryResult<()> {
    diesel::insert_into(client_dates::table).values(row).execute(conn).map(|_| ())
}

/// A date, removed or not (`deleted_at`).
pub fn find_client_date(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<ClientDateRow>> {
    client_dates::table.find(id).select(ClientDateRow::as_select()).first(conn).optional()
}

/// Marks a date removed; its row stays for the change feed.
pub fn delete_client_date(
    conn: &mut DbConnection,
    id: DbUuid,
    at: chrono::NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(client_dates::table.find(id).filter(client_dates::deleted_at.is_null()))
        .set(client_dates::deleted_at.eq(Some(at)))
        .execute(conn)
}

/// A client's important dates, a page at a time in id order.
pub fn client_dates_page(
    conn: &mut DbConnection,
    client: DbUuid,
    page: PageQuery,
) -> QueryResult<Vec<ClientDateRow>> {
    let mut q = client_dates::table
        .filter(client_dates::client_id.eq(client))
        .filter(client_dates::deleted_at.is_null())
        .into_boxed();
    if let Some(after) = page.after {
        q = q.filter(client_dates::id.gt(after));
    }
    q.order(client_dates::id.asc()).limit(page.limit).select(ClientDateRow::as_select()).load(conn)
}

fn some(users: &[DbUuid]) -> Vec<Option<DbUuid>> {
    users.iter().copied().map(Some).collect()
}

/// Clients founded on one of `days` (`MM-DD`), of the responsible in `users` (`None`: all).
pub fn clients_founded_on(
    conn: &mut DbConnection,
    days: &[String],
    users: Option<&[DbUuid]>,
) -> QueryResult<Vec<ClientRow>> {
    let mut q = clients::table.filter(clients::founded_md.eq_any(days.to_vec())).into_boxed();
    if let Some(u) = users {
        q = q.filter(clients::responsible_id.eq_any(some(u)));
    }
    q.order(clients::id.asc()).select(ClientRow::as_select()).load(conn)
}

/// Important dates on one of `days`, with their client, of clients whose
/// responsible is in `users` (`None`: all).
pub fn client_dates_on(
    conn: &mut DbConnection,
    days: &[String],
    users: Option<&[DbUuid]>,
) -> QueryResult<Vec<(ClientDateRow, ClientRow)>> {
    let mut q = client_dates::table
        .inner_join(clients::table)
        .filter(client_dates::md.eq_any(days.to_vec()))
        .filter(client_dates::deleted_at.is_null())
        .into_boxed();
    if let Some(u) = users {
        q = q.filter(clients::responsible_id.eq_any(some(u)));
    }
    q.order(client_dates::id.asc()).select((ClientDateRow::as_select(), ClientRow::as_select())).load(conn)
}

/// Contacts born on one of `days`, with their client when they have one:
/// those of clients whose responsible is in `users`, and contacts of no
/// client in `users`' care (`None`: all).
pub fn contacts_born_on(
    conn: &mut DbConnection,
    days: &[String],
    users: Option<&[DbUuid]>,
) -> QueryResult<Vec<(ContactRow, Option<ClientRow>)>> {
    let mut q = contacts::table
        .left_join(clients::table)
        .filter(contacts::birthday_md.eq_any(days.to_vec()))
        .into_boxed();
    if let Some(u) = users {
        q = q.filter(
            clients::responsible_id
                .eq_any(some(u))
                .or(contacts::client_id.is_null().and(contacts::responsible_id.eq_any(some(u)))),
        );
    }
    q.order(contacts::id.asc()).select((ContactRow::as_select(), Option::<ClientRow>::as_select())).load(conn)
}

/// Records a reminder for (`kind`, `subject`, `year`); false when it was
/// given before. One insert that skips a row already there, so two
/// instances running the job at once cannot both announce a date, and the
/// second does not fail on the key either.
pub fn remember_reminder(
    conn: &mut DbConnection,
    kind: &str,
    subject: DbUuid,
    year: i32,
    now: chrono::NaiveDateTime,
) -> QueryResult<bool> {
    let q = || {
        diesel::insert_into(date_reminders::table)
            .values((
                date_reminders::kind.eq(kind),
                date_reminders::subject_id.eq(subject),
                date_reminders::year.eq(year),
                date_reminders::reminded_at.eq(now),
            ))
            .on_conflict((date_reminders::kind, date_reminders::subject_id, date_reminders::year))
            .do_nothing()
    };
    let n = match conn {
        DbConnection::Pg(pg) => q().execute(pg)?,
        DbConnection::Sqlite(c) => q().execute(c)?,
    };
    Ok(n == 1)
}
