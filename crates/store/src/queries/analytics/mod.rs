//! Queries of the analytics area: the facts sales reports are computed from —
//! stage moves, and the interests they belong to — narrowed in the database
//! by the report's scope and period, so a report reads only what it counts.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::rows::StageMoveRow;
use crate::schema::*;
use crate::types::DbUuid;

/// Whose interests a report counts.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Only interests whose responsible is one of these (`None`: everyone's).
    pub responsible_in: Option<Vec<DbUuid>>,
    pub scenario_id: Option<DbUuid>,
}

/// What a report needs of an interest.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = interests)]
pub struct DealFacts {
    pub id: DbUuid,
    pub scenario_id: DbUuid,
    pub stage: String,
    pub state: String,
    pub potential_minor: Option<i64>,
    pub currency: String,
    pub responsible_id: DbUuid,
    pub stage_entered_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
    pub expected_close_on: NaiveDate,
    pub loss_reason_id: Option<DbUuid>,
}

/// Narrows a boxed query over `interests` (alone or joined) to a scope.
macro_rules! in_scope {
    ($query:expr, $scope:expr) => {{
        let scope: &Scope = $scope;
        let mut q = $query;
        if let Some(users) = &scope.responsible_in {
            q = q.filter(interests::responsible_id.eq_any(users.clone()));
        }
        if let Some(s) = scope.scenario_id {
            q = q.filter(interests::scenario_id.eq(s));
        }
        q
    }};
}

/// Every move, whenever made, of the scope's interests that moved at least
/// once in `[from, to)`, in the order they were made (per interest).
pub fn moves_of_interests_moved_between(
    conn: &mut DbConnection,
    scope: &Scope,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<StageMoveRow>> {
    // The same table twice: the moves in the period name the interests.
    let recent = diesel::alias!(stage_moves as recent);
    let moved = recent
        .filter(recent.field(stage_moves::moved_at).ge(from))
        .filter(recent.field(stage_moves::moved_at).lt(to))
        .select(recent.field(stage_moves::interest_id));
    let q = stage_moves::table
        .inner_join(interests::table)
        .filter(stage_moves::interest_id.eq_any(moved))
        .select(StageMoveRow::as_select())
        .into_boxed::<crate::db::MultiBackend>();
    in_scope!(q, scope).order((stage_moves::interest_id, stage_moves::moved_at, stage_moves::id)).load(conn)
}

/// Every move of the scope's interests made before `to`, per interest in order.
pub fn moves_before(
    conn: &mut DbConnection,
    scope: &Scope,
    to: NaiveDateTime,
) -> QueryResult<Vec<StageMoveRow>> {
    let q = stage_moves::table
        .inner_join(interests::table)
        .filter(stage_moves::moved_at.lt(to))
        .select(StageMoveRow::as_select())
        .into_boxed::<crate::db::MultiBackend>();
    in_scope!(q, scope).order((stage_moves::interest_id, stage_moves::moved_at, stage_moves::id)).load(conn)
}

/// The scope's interests that moved at least once in `[from, to)`.
pub fn interests_moved_between(
    conn: &mut DbConnection,
    scope: &Scope,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<DealFacts>> {
    let moved = stage_moves::table
        .filter(stage_moves::moved_at.ge(from))
        .filter(stage_moves::moved_at.lt(to))
        .select(stage_moves::interest_id);
    let q = interests::table.filter(interests::id.eq_any(moved)).select(DealFacts::as_select()).into_boxed();
    in_scope!(q, scope).load(conn)
}

/// The scope's interests closed (won or lost) in `[from, to)`.
pub fn interests_closed_between(
    conn: &mut DbConnection,
    scope: &Scope,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<DealFacts>> {
    let q = interests::table
        .filter(interests::closed_at.ge(from))
        .filter(interests::closed_at.lt(to))
        .filter(interests::state.eq_any(["won", "lost"]))
        .select(DealFacts::as_select())
        .into_boxed::<crate::db::MultiBackend>();
    in_scope!(q, scope).load(conn)
}

/// The scope's open interests (active or awaiting a loss decision) expected
/// to close on a day in `[from, to]`.
pub fn open_interests_closing_between(
    conn: &mut DbConnection,
    scope: &Scope,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<DealFacts>> {
    let q = interests::table
        .filter(interests::state.eq_any(["active", "awaiting_loss_approval"]))
        .filter(interests::expected_close_on.ge(from))
        .filter(interests::expected_close_on.le(to))
        .select(DealFacts::as_select())
        .into_boxed::<crate::db::MultiBackend>();
    in_scope!(q, scope).load(conn)
}

/// The scope's open interests (active or awaiting a loss decision).
pub fn open_interests(conn: &mut DbConnection, scope: &Scope) -> QueryResult<Vec<DealFacts>> {
    let q = interests::table
        .filter(interests::state.eq_any(["active", "awaiting_loss_approval"]))
        .select(DealFacts::as_select())
        .into_boxed();
    in_scope!(q, scope).load(conn)
}

/// Loss reasons' names by id (every reason, in use or not: a report names old losses too).
pub fn loss_reason_names(conn: &mut DbConnection) -> QueryResult<Vec<(DbUuid, String)>> {
    loss_reasons::table.select((loss_reasons::id, loss_reasons::name)).load(conn)
}
