//! Scenarios, loss reasons, interests, interactions, tasks, notifications and
//! the timeline.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::PageQuery;
use crate::db::DbConnection;
use crate::rows::*;
use crate::schema::*;
use crate::types::DbUuid;

// --- scenarios -------------------------------------------------------------

pub fn insert_scenario(conn: &mut DbConnection, row: &ScenarioRow) -> QueryResult<()> {
    diesel::insert_into(scenarios::table).values(row).execute(conn).map(|_| ())
}

pub fn find_scenario(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<ScenarioRow>> {
    scenarios::table.find(id).select(ScenarioRow::as_select()).first(conn).optional()
}

pub fn find_scenario_by_name_key(conn: &mut DbConnection, key: &str) -> QueryResult<Option<ScenarioRow>> {
    scenarios::table
        .filter(scenarios::name_key.eq(key))
        .select(ScenarioRow::as_select())
        .first(conn)
        .optional()
}

pub fn default_scenario(conn: &mut DbConnection) -> QueryResult<Option<ScenarioRow>> {
    scenarios::table
        .filter(scenarios::is_default.eq(true))
        .order(scenarios::id.asc())
        .select(ScenarioRow::as_select())
        .first(conn)
        .optional()
}

pub fn list_scenarios(conn: &mut DbConnection, page: PageQuery) -> QueryResult<Vec<ScenarioRow>> {
    let mut q = scenarios::table.select(ScenarioRow::as_select()).into_boxed();
    if let Some(after) = page.after {
        q = q.filter(scenarios::id.gt(after));
    }
    q.order(scenarios::id.asc()).limit(page.limit).load(conn)
}

pub fn update_scenario(
    conn: &mut DbConnection,
    id: DbUuid,
    expected_version: i64,
    name: &str,
    name_key: &str,
    definition: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        scenarios::table.filter(scenarios::id.eq(id)).filter(scenarios::version.eq(expected_version)),
    )
    .set((
        scenarios::name.eq(name),
        scenarios::name_key.eq(name_key),
        scenarios::definition.eq(definition),
        scenarios::version.eq(expected_version + 1),
        scenarios::updated_at.eq(at),
    ))
    .execute(conn)
}

/// The stage codes that interests of a scenario sit on, with how many.
pub fn stages_in_use(conn: &mut DbConnection, scenario: DbUuid) -> QueryResult<Vec<(String, i64)>> {
    interests::table
        .filter(interests::scenario_id.eq(scenario))
        .group_by(interests::stage)
        .select((interests::stage, diesel::dsl::count_star()))
        .load(conn)
}

// --- loss reasons ----------------------------------------------------------

pub fn insert_loss_reason(conn: &mut DbConnection, row: &LossReasonRow) -> QueryResult<()> {
    diesel::insert_into(loss_reasons::table).values(row).execute(conn).map(|_| ())
}

pub fn find_loss_reason(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<LossReasonRow>> {
    loss_reasons::table.find(id).select(LossReasonRow::as_select()).first(conn).optional()
}

pub fn find_loss_reason_by_name_key(
    conn: &mut DbConnection,
    key: &str,
) -> QueryResult<Option<LossReasonRow>> {
    loss_reasons::table
        .filter(loss_reasons::name_key.eq(key))
        .select(LossReasonRow::as_select())
        .first(conn)
        .optional()
}

pub fn list_loss_reasons(
    conn: &mut DbConnection,
    active: Option<bool>,
    page: PageQuery,
) -> QueryResult<Vec<LossReasonRow>> {
    let mut q = loss_reasons::table.select(LossReasonRow::as_select()).into_boxed();
    if let Some(after) = page.after {
        q = q.filter(loss_reasons::id.gt(after));
    }
    if let Some(active) = active {
        q = q.filter(loss_reasons::active.eq(active));
    }
    q.order(loss_reasons::id.asc()).limit(page.limit).load(conn)
}

pub fn update_loss_reason(
    conn: &mut DbConnection,
    id: DbUuid,
    expected_version: i64,
    name: &str,
    name_key: &str,
    active: bool,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        loss_reasons::table
            .filter(loss_reasons::id.eq(id))
            .filter(loss_reasons::version.eq(expected_version)),
    )
    .set((
        loss_reasons::name.eq(name),
        loss_reasons::name_key.eq(name_key),
        loss_reasons::active.eq(active),
        loss_reasons::version.eq(expected_version + 1),
        loss_reasons::updated_at.eq(at),
    ))
    .execute(conn)
}

// --- interests -------------------------------------------------------------

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
            q = q.filter(interests::responsible_id.eq_any(users.clone()));
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
    let mut q = filter_interests!(interests::table.select(InterestRow::as_select()).into_boxed(), filter);
    if let Some(after) = page.after {
        q = q.filter(interests::id.gt(after));
    }
    q.order(interests::id.asc()).limit(page.limit).load(conn)
}

/// Per stage: how many matching interests and the sum of their potential
/// (aggregated in the database: one row per stage, whatever the count), as
/// `high * 10^9 + low` kopecks: each part's sum fits `BIGINT` for any
/// number of rows at the largest amount, where one `SUM` would overflow
/// (an error on both backends).
pub fn stage_totals(
    conn: &mut DbConnection,
    filter: &InterestFilter,
) -> QueryResult<Vec<(String, i64, i128)>> {
    use diesel::dsl::{count_star, sql};
    use diesel::sql_types::{BigInt, Nullable};
    let grouped = interests::table
        .group_by(interests::stage)
        .select((
            interests::stage,
            count_star(),
            sql::<Nullable<BigInt>>("CAST(SUM(potential_minor / 1000000000) AS BIGINT)"),
            sql::<Nullable<BigInt>>("CAST(SUM(potential_minor % 1000000000) AS BIGINT)"),
        ))
        .into_boxed();
    let rows: Vec<(String, i64, Option<i64>, Option<i64>)> = filter_interests!(grouped, filter).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(stage, count, high, low)| {
            (stage, count, i128::from(high.unwrap_or(0)) * 1_000_000_000 + i128::from(low.unwrap_or(0)))
        })
        .collect())
}

// --- interactions ----------------------------------------------------------

pub fn insert_interaction(conn: &mut DbConnection, row: &InteractionRow) -> QueryResult<()> {
    diesel::insert_into(interactions::table).values(row).execute(conn).map(|_| ())
}

pub fn find_interaction(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<InteractionRow>> {
    interactions::table.find(id).select(InteractionRow::as_select()).first(conn).optional()
}

pub fn update_interaction(
    conn: &mut DbConnection,
    row: &InteractionRow,
    expected_version: i64,
) -> QueryResult<usize> {
    diesel::update(
        interactions::table
            .filter(interactions::id.eq(row.id))
            .filter(interactions::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)
}

pub fn list_interactions(
    conn: &mut DbConnection,
    interest: DbUuid,
    page: PageQuery,
) -> QueryResult<Vec<InteractionRow>> {
    let mut q = interactions::table
        .filter(interactions::interest_id.eq(interest))
        .select(InteractionRow::as_select())
        .into_boxed();
    if let Some(after) = page.after {
        q = q.filter(interactions::id.gt(after));
    }
    q.order(interactions::id.asc()).limit(page.limit).load(conn)
}

/// Planned interactions of these interests, soonest first.
pub fn planned_interactions(
    conn: &mut DbConnection,
    interests: &[DbUuid],
) -> QueryResult<Vec<InteractionRow>> {
    interactions::table
        .filter(interactions::interest_id.eq_any(interests.to_vec()))
        .filter(interactions::status.eq("planned"))
        .order((interactions::planned_at.asc(), interactions::id.asc()))
        .select(InteractionRow::as_select())
        .load(conn)
}

// --- tasks -----------------------------------------------------------------

pub fn insert_task(conn: &mut DbConnection, row: &TaskRow) -> QueryResult<()> {
    diesel::insert_into(tasks::table).values(row).execute(conn).map(|_| ())
}

pub fn find_task(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<TaskRow>> {
    tasks::table.find(id).select(TaskRow::as_select()).first(conn).optional()
}

pub fn update_task(conn: &mut DbConnection, row: &TaskRow, expected_version: i64) -> QueryResult<usize> {
    diesel::update(tasks::table.filter(tasks::id.eq(row.id)).filter(tasks::version.eq(expected_version)))
        .set(row)
        .execute(conn)
}

#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub assignee_id: Option<DbUuid>,
    pub interest_id: Option<DbUuid>,
    pub status: Option<String>,
    pub due_from: Option<NaiveDateTime>,
    pub due_before: Option<NaiveDateTime>,
    pub updated_since: Option<NaiveDateTime>,
}

pub fn list_tasks(
    conn: &mut DbConnection,
    filter: &TaskFilter,
    page: PageQuery,
) -> QueryResult<Vec<TaskRow>> {
    let mut q = tasks::table.select(TaskRow::as_select()).into_boxed();
    if let Some(after) = page.after {
        q = q.filter(tasks::id.gt(after));
    }
    if let Some(a) = filter.assignee_id {
        q = q.filter(tasks::assignee_id.eq(a));
    }
    if let Some(i) = filter.interest_id {
        q = q.filter(tasks::interest_id.eq(i));
    }
    if let Some(s) = &filter.status {
        q = q.filter(tasks::status.eq(s.clone()));
    }
    if let Some(from) = filter.due_from {
        q = q.filter(tasks::due_at.ge(from));
    }
    if let Some(before) = filter.due_before {
        q = q.filter(tasks::due_at.lt(before));
    }
    if let Some(since) = filter.updated_since {
        q = q.filter(tasks::updated_at.ge(since));
    }
    q.order(tasks::id.asc()).limit(page.limit).load(conn)
}

/// Open tasks of these interests.
pub fn open_tasks_of(conn: &mut DbConnection, interests: &[DbUuid]) -> QueryResult<Vec<TaskRow>> {
    tasks::table
        .filter(tasks::interest_id.eq_any(interests.iter().copied().map(Some).collect::<Vec<_>>()))
        .filter(tasks::status.eq("open"))
        .order((tasks::due_at.asc(), tasks::id.asc()))
        .select(TaskRow::as_select())
        .load(conn)
}

// --- notifications ---------------------------------------------------------

pub fn insert_notification(conn: &mut DbConnection, row: &NotificationRow) -> QueryResult<()> {
    diesel::insert_into(notifications::table).values(row).execute(conn).map(|_| ())
}

pub fn list_notifications(
    conn: &mut DbConnection,
    user: DbUuid,
    unread_only: bool,
    page: PageQuery,
) -> QueryResult<Vec<NotificationRow>> {
    let mut q = notifications::table
        .filter(notifications::user_id.eq(user))
        .select(NotificationRow::as_select())
        .into_boxed();
    if unread_only {
        q = q.filter(notifications::read_at.is_null());
    }
    if let Some(after) = page.after {
        q = q.filter(notifications::id.gt(after));
    }
    q.order(notifications::id.asc()).limit(page.limit).load(conn)
}

pub fn find_notification(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<NotificationRow>> {
    notifications::table.find(id).select(NotificationRow::as_select()).first(conn).optional()
}

pub fn mark_notification_read(conn: &mut DbConnection, id: DbUuid, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(notifications::table.find(id).filter(notifications::read_at.is_null()))
        .set(notifications::read_at.eq(Some(at)))
        .execute(conn)
}

// --- timeline --------------------------------------------------------------

pub fn insert_timeline_entry(conn: &mut DbConnection, row: &TimelineEntryRow) -> QueryResult<()> {
    diesel::insert_into(timeline_entries::table).values(row).execute(conn).map(|_| ())
}

/// Newest first; `before` is the last id of the previous page.
/// An interest's timeline, newest first by when each thing happened (ties
/// in the order they were written), continuing after the entry `before`.
pub fn list_timeline(
    conn: &mut DbConnection,
    interest: DbUuid,
    before: Option<DbUuid>,
    limit: i64,
) -> QueryResult<Vec<TimelineEntryRow>> {
    let mut q = timeline_entries::table
        .filter(timeline_entries::interest_id.eq(interest))
        .select(TimelineEntryRow::as_select())
        .into_boxed();
    if let Some(before) = before {
        let at: Option<chrono::NaiveDateTime> = timeline_entries::table
            .find(before)
            .select(timeline_entries::occurred_at)
            .first(conn)
            .optional()?;
        q = match at {
            Some(at) => q.filter(
                timeline_entries::occurred_at
                    .lt(at)
                    .or(timeline_entries::occurred_at.eq(at).and(timeline_entries::id.lt(before))),
            ),
            // A cursor whose entry is gone: continue by id alone.
            None => q.filter(timeline_entries::id.lt(before)),
        };
    }
    q.order((timeline_entries::occurred_at.desc(), timeline_entries::id.desc())).limit(limit).load(conn)
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

/// The confirmed orders of an interest as `(total, paid)` and their lines as
/// `(quantity, shipped)`: what the scenario's order guards read.
pub fn order_coverage(
    conn: &mut DbConnection,
    interest: DbUuid,
) -> QueryResult<(Vec<(i64, i64)>, Vec<(i64, i64)>)> {
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
