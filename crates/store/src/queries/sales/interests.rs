//! Interests: rows, filtered lists, the board's stage totals, the row lock
//! and the order coverage the scenario's guards read.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::queries::keyset;

use crate::db::DbConnection;
use crate::queries::PageQuery;
use crate::rows::*;
use crate::schema::*;
use crate::types::DbUuid;

pub fn insert_interest(conn: &mut DbConnection, row: &InterestRow) -> QueryResult<()> {
    diesel::insert_into(interests::table).values(row).execute(conn).map(|_| ())
}

pub fn find_interests(conn: &mut DbConnection, ids: &[DbUuid]) -> QueryResult<Vec<InterestRow>> {
    interests::table.filter(interests::id.eq_any(ids.to_vec())).select(InterestRow::as_select()).load(conn)
}

pub fn find_interest(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<InterestRow>> {
    interests::table.find(id).select(InterestRow::as_select()).first(conn).optional()
}

/// Writes the row when the stored one is still at `expected_version`.
pub fn update_interest(
    conn: &mut DbConnection,
    row: &InterestRow,
    expected_version: i64,
) -> QueryResult<usize> {
    diesel::update(
        interests::table.filter(interests::id.eq(row.id)).filter(interests::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)
}

#[derive(Debug, Clone, Default)]
pub struct InterestFilter {
    pub scenario_id: Option<DbUuid>,
    pub stage: Option<String>,
    /// Only these responsible users (visibility and the `responsible` filter).
    pub responsible_in: Option<Vec<DbUuid>>,
    pub states: Option<Vec<String>>,
    pub client_id: Option<DbUuid>,
    pub updated_since: Option<NaiveDateTime>,
}

/// Applies an [`InterestFilter`] to any boxed query over `interests`.
macro_rules! filter_interests {
    ($query:expr, $filter:expr) => {{
        let filter: &InterestFilter = $filter;
        let mut q = $query;
        if let Some(s) = filter.scenario_id {
            q = q.filter(interests::scenario_id.eq(s));
        }
        if let Some(stage) = &filter.stage {
            q = q.filter(interests::stage.eq(stage.clone()));
        }
        if let Some(users) = &filter.responsible_in {
            // One user as an equality, so that `(responsible_id, id)` is read
            // in order (see `clients::list_clients`).
            q = match users.as_slice() {
                [one] => q.filter(interests::responsible_id.eq(*one)),
                _ => q.filter(interests::responsible_id.eq_any(users.clone())),
            };
        }
        if let Some(states) = &filter.states {
            q = q.filter(interests::state.eq_any(states.clone()));
        }
        if let Some(c) = filter.client_id {
            q = q.filter(interests::client_id.eq(c));
        }
        if let Some(since) = filter.updated_since {
            q = q.filter(interests::updated_at.ge(since));
        }
        q
    }};
}

pub fn list_interests(
    conn: &mut DbConnection,
    filter: &InterestFilter,
    page: PageQuery,
) -> QueryResult<Vec<InterestRow>> {
    let q = filter_interests!(interests::table.select(InterestRow::as_select()).into_boxed(), filter);
    keyset!(q, interests, page).load(conn)
}

/// Per stage: how many matching interests and the sum of their potential
/// (aggregated in the database: one row per stage, whatever the count), as
/// `high * 10^9 + low` kopecks: each part's sum fits `BIGINT` for any
/// number of rows at the largest amount, where one `SUM` would overflow
/// (an error on both backends).
/// Per stage and currency: how many interests and the sum of their potential
/// amounts (summed in two halves so that no database adds past 64 bits).
pub fn stage_totals(
    conn: &mut DbConnection,
    filter: &InterestFilter,
) -> QueryResult<Vec<(String, String, i64, i128)>> {
    use diesel::dsl::{count_star, sql};
    use diesel::sql_types::{BigInt, Nullable};
    let grouped = interests::table
        .group_by((interests::stage, interests::currency))
        .select((
            interests::stage,
            interests::currency,
            count_star(),
            sql::<Nullable<BigInt>>("CAST(SUM(potential_minor / 1000000000) AS BIGINT)"),
            sql::<Nullable<BigInt>>("CAST(SUM(potential_minor % 1000000000) AS BIGINT)"),
        ))
        .into_boxed();
    // stage, currency, count, and the potential sum in two halves.
    type Row = (String, String, i64, Option<i64>, Option<i64>);
    let rows: Vec<Row> = filter_interests!(grouped, filter).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(stage, currency, count, high, low)| {
            (
                stage,
                currency,
                count,
                i128::from(high.unwrap_or(0)) * 1_000_000_000 + i128::from(low.unwrap_or(0)),
            )
        })
        .collect())
}

/// Locks an interest's row until the transaction ends, so that use cases
/// touching the same interest from several instances (two payments that
/// together complete it) run one after the other. SQLite write transactions
/// already hold the database's write lock from their first statement.
pub fn lock_interest(conn: &mut DbConnection, id: DbUuid) -> QueryResult<()> {
    match conn {
        DbConnection::Pg(pg) => {
            interests::table.find(id).select(interests::id).for_update().first::<DbUuid>(pg).optional()?;
            Ok(())
        }
        DbConnection::Sqlite(_) => Ok(()),
    }
}

/// Pairs of `(expected, reached)` amounts: an order's total and paid, a
/// line's quantity and shipped.
pub type Progress = Vec<(i64, i64)>;

/// The confirmed orders of an interest as `(total, paid)` and their lines as
/// `(quantity, shipped)`: what the scenario's order guards read.
pub fn order_coverage(conn: &mut DbConnection, interest: DbUuid) -> QueryResult<(Progress, Progress)> {
    use crate::schema::{order_lines, orders};
    let confirmed = orders::table
        .filter(orders::interest_id.eq(interest))
        .filter(orders::status.eq(crm_domain::documents::OrderStatus::Confirmed.as_str()));
    let totals = confirmed.select((orders::total_minor, orders::paid_minor)).load(conn)?;
    let lines = order_lines::table
        .inner_join(orders::table)
        .filter(orders::interest_id.eq(interest))
        .filter(orders::status.eq(crm_domain::documents::OrderStatus::Confirmed.as_str()))
        .select((order_lines::quantity, order_lines::shipped_quantity))
        .load(conn)?;
    Ok((totals, lines))
}

/// Open interests (active or awaiting a loss decision) this user is
/// responsible for, by id.
pub fn open_interests_of_responsible(conn: &mut DbConnection, user: DbUuid) -> QueryResult<Vec<InterestRow>> {
    interests::table
        .filter(interests::responsible_id.eq(user))
        .filter(interests::state.ne_all(["won", "lost"]))
        .order(interests::id.asc())
        .select(InterestRow::as_select())
        .load(conn)
}
