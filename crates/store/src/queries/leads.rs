//! Leads: the inbox of inbound requests.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageQuery;
use crate::db::DbConnection;
use crate::rows::LeadRow;
use crate::schema::leads;
use crate::types::DbUuid;

pub fn insert_lead(conn: &mut DbConnection, row: &LeadRow) -> QueryResult<()> {
    diesel::insert_into(leads::table).values(row).execute(conn).map(|_| ())
}

pub fn find_lead(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<LeadRow>> {
    leads::table.find(id).select(LeadRow::as_select()).first(conn).optional()
}

/// The lead a provider's delivery already made, if any (dedupe key).
pub fn find_by_external(
    conn: &mut DbConnection,
    channel: &str,
    external_id: &str,
) -> QueryResult<Option<LeadRow>> {
    leads::table
        .filter(leads::channel.eq(channel))
        .filter(leads::external_id.eq(external_id))
        .select(LeadRow::as_select())
        .first(conn)
        .optional()
}

pub fn update_lead(conn: &mut DbConnection, row: &LeadRow, expected_version: i64) -> QueryResult<usize> {
    diesel::update(leads::table.filter(leads::id.eq(row.id)).filter(leads::version.eq(expected_version)))
        .set(row)
        .execute(conn)
}

#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    pub status: Option<String>,
    pub channel: Option<String>,
    /// Visibility: leads assigned to one of these users, and (when set) the shared inbox.
    pub assignee_in: Option<Vec<DbUuid>>,
    pub include_shared: bool,
    pub updated_since: Option<NaiveDateTime>,
}

fn filtered(filter: &LeadFilter) -> leads::BoxedQuery<'static, crate::db::MultiBackend> {
    let mut q = leads::table.into_boxed();
    if let Some(s) = &filter.status {
        q = q.filter(leads::status.eq(s.clone()));
    }
    if let Some(c) = &filter.channel {
        q = q.filter(leads::channel.eq(c.clone()));
    }
    if let Some(users) = &filter.assignee_in {
        let users: Vec<Option<DbUuid>> = users.iter().copied().map(Some).collect();
        q = if filter.include_shared {
            q.filter(leads::assignee_id.eq_any(users).or(leads::assignee_id.is_null()))
        } else {
            q.filter(leads::assignee_id.eq_any(users))
        };
    }
    if let Some(since) = filter.updated_since {
        q = q.filter(leads::updated_at.ge(since));
    }
    q
}

pub fn list_leads(
    conn: &mut DbConnection,
    filter: &LeadFilter,
    page: PageQuery,
) -> QueryResult<Vec<LeadRow>> {
    let mut q = filtered(filter).select(LeadRow::as_select());
    if let Some(after) = page.after {
        q = q.filter(leads::id.gt(after));
    }
    q.order(leads::id.asc()).limit(page.limit).load(conn)
}

pub fn count_leads(conn: &mut DbConnection, filter: &LeadFilter) -> QueryResult<i64> {
    filtered(filter).count().get_result(conn)
}
