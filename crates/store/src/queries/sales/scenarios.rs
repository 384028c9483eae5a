//! Scenarios and loss reasons.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::queries::keyset;

use crate::db::DbConnection;
use crate::queries::PageQuery;
use crate::rows::*;
use crate::schema::*;
use crate::types::DbUuid;

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

pub fn list_scenarios(
    conn: &mut DbConnection,
    updated_since: Option<chrono::NaiveDateTime>,
    page: PageQuery,
) -> QueryResult<Vec<ScenarioRow>> {
    let mut q = scenarios::table.select(ScenarioRow::as_select()).into_boxed();
    if let Some(since) = updated_since {
        q = q.filter(scenarios::updated_at.ge(since));
    }
    keyset!(q, scenarios, page).load(conn)
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
    updated_since: Option<chrono::NaiveDateTime>,
    page: PageQuery,
) -> QueryResult<Vec<LossReasonRow>> {
    let mut q = loss_reasons::table.select(LossReasonRow::as_select()).into_boxed();
    if let Some(active) = active {
        q = q.filter(loss_reasons::active.eq(active));
    }
    if let Some(since) = updated_since {
        q = q.filter(loss_reasons::updated_at.ge(since));
    }
    keyset!(q, loss_reasons, page).load(conn)
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
