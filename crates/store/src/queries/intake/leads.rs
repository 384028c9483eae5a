//! Leads: the inbox of inbound requests.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::queries::keyset;

use crate::db::DbConnection;
use crate::queries::PageQuery;
use crate::rows::{ChannelRow, LeadRow};
use crate::schema::{channels, intake_deliveries, leads, rate_limit_hits};
use crate::types::DbUuid;

pub fn insert_lead(conn: &mut DbConnection, row: &LeadRow) -> QueryResult<()> {
    diesel::insert_into(leads::table).values(row).execute(conn).map(|_| ())
}

/// Inserts a lead unless one of its channel already has its external id
/// (a racing duplicate delivery); whether it was inserted. One statement
/// where a savepoint around a failing insert would take three.
pub fn insert_lead_once(conn: &mut DbConnection, row: &LeadRow) -> QueryResult<bool> {
    let q = || {
        diesel::insert_into(leads::table)
            .values(row)
            .on_conflict((leads::channel, leads::external_id))
            .do_nothing()
    };
    let n = match conn {
        DbConnection::Pg(pg) => q().execute(pg)?,
        DbConnection::Sqlite(c) => q().execute(c)?,
    };
    Ok(n == 1)
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
    let q = filtered(filter).select(LeadRow::as_select());
    keyset!(q, leads, page).load(conn)
}

pub fn count_leads(conn: &mut DbConnection, filter: &LeadFilter) -> QueryResult<i64> {
    filtered(filter).count().get_result(conn)
}

/// The unprocessed lead of a conversation (a messenger chat), to append to.
pub fn open_thread(conn: &mut DbConnection, channel: &str, thread: &str) -> QueryResult<Option<LeadRow>> {
    leads::table
        .filter(leads::channel.eq(channel))
        .filter(leads::thread_key.eq(thread))
        .filter(leads::status.eq(crm_domain::status::LeadStatus::New.as_str()))
        .order(leads::id.desc())
        .select(LeadRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert_channel(conn: &mut DbConnection, row: &ChannelRow) -> QueryResult<()> {
    diesel::insert_into(channels::table).values(row).execute(conn).map(|_| ())
}

pub fn find_channel(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<ChannelRow>> {
    channels::table.find(id).select(ChannelRow::as_select()).first(conn).optional()
}

pub fn update_channel(
    conn: &mut DbConnection,
    row: &ChannelRow,
    expected_version: i64,
) -> QueryResult<usize> {
    diesel::update(
        channels::table.filter(channels::id.eq(row.id)).filter(channels::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)
}

/// An active channel of a kind by its address (mailbox, line, form key, VK group).
pub fn channel_by_address(
    conn: &mut DbConnection,
    kind: &str,
    address: &str,
) -> QueryResult<Option<ChannelRow>> {
    channels::table
        .filter(channels::kind.eq(kind))
        .filter(channels::address.eq(address))
        .filter(channels::active.eq(true))
        .select(ChannelRow::as_select())
        .first(conn)
        .optional()
}

/// An active channel of a kind by the digest of its secret (Telegram's webhook token).
pub fn channel_by_secret(
    conn: &mut DbConnection,
    kind: &str,
    secret_hash: &str,
) -> QueryResult<Option<ChannelRow>> {
    channels::table
        .filter(channels::kind.eq(kind))
        .filter(channels::secret_hash.eq(secret_hash))
        .filter(channels::active.eq(true))
        .select(ChannelRow::as_select())
        .first(conn)
        .optional()
}

pub fn list_channels(
    conn: &mut DbConnection,
    kind: Option<&str>,
    updated_since: Option<chrono::NaiveDateTime>,
    page: PageQuery,
) -> QueryResult<Vec<ChannelRow>> {
    let mut q = channels::table.select(ChannelRow::as_select()).into_boxed();
    if let Some(k) = kind {
        q = q.filter(channels::kind.eq(k.to_owned()));
    }
    if let Some(since) = updated_since {
        q = q.filter(channels::updated_at.ge(since));
    }
    keyset!(q, channels, page).load(conn)
}

/// Records a hit in a rate-limit bucket and returns the hits since `since` (including it).
pub fn hit(
    conn: &mut DbConnection,
    bucket: &str,
    at: NaiveDateTime,
    since: NaiveDateTime,
) -> QueryResult<i64> {
    diesel::delete(rate_limit_hits::table.filter(rate_limit_hits::hit_at.lt(since))).execute(conn)?;
    diesel::insert_into(rate_limit_hits::table)
        .values((
            rate_limit_hits::id.eq(DbUuid(uuid::Uuid::now_v7())),
            rate_limit_hits::bucket.eq(bucket),
            rate_limit_hits::hit_at.eq(at),
        ))
        .execute(conn)?;
    rate_limit_hits::table
        .filter(rate_limit_hits::bucket.eq(bucket))
        .filter(rate_limit_hits::hit_at.ge(since))
        .count()
        .get_result(conn)
}

/// The lead a delivery made or joined, if this delivery was seen before
/// (`Some(None)`: seen, made no lead).
pub fn find_delivery(
    conn: &mut DbConnection,
    channel: &str,
    external_id: &str,
) -> QueryResult<Option<Option<DbUuid>>> {
    intake_deliveries::table
        .filter(intake_deliveries::channel.eq(channel))
        .filter(intake_deliveries::external_id.eq(external_id))
        .select(intake_deliveries::lead_id)
        .first(conn)
        .optional()
}

pub fn record_delivery(
    conn: &mut DbConnection,
    channel: &str,
    external_id: &str,
    lead: Option<DbUuid>,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(intake_deliveries::table)
        .values((
            intake_deliveries::id.eq(DbUuid(uuid::Uuid::now_v7())),
            intake_deliveries::channel.eq(channel),
            intake_deliveries::external_id.eq(external_id),
            intake_deliveries::lead_id.eq(lead),
            intake_deliveries::received_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}
