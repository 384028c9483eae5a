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
    pub title: String,
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

/// The scope's interests made in `[from, to)`.
pub fn interests_created_between(
    conn: &mut DbConnection,
    scope: &Scope,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<DealFacts>> {
    let q = interests::table
        .filter(interests::created_at.ge(from))
        .filter(interests::created_at.lt(to))
        .select(DealFacts::as_select())
        .into_boxed();
    in_scope!(q, scope).load(conn)
}

/// The scope's open interests with an open task due before `now`.
pub fn open_interests_with_overdue_tasks(
    conn: &mut DbConnection,
    scope: &Scope,
    now: NaiveDateTime,
) -> QueryResult<Vec<DealFacts>> {
    let overdue = tasks::table
        .filter(tasks::status.eq("open"))
        .filter(tasks::due_at.lt(now))
        .select(tasks::interest_id);
    let q = interests::table
        .filter(interests::state.eq_any(["active", "awaiting_loss_approval"]))
        .filter(interests::id.nullable().eq_any(overdue))
        .select(DealFacts::as_select())
        .into_boxed();
    in_scope!(q, scope).load(conn)
}

/// Per open interest of the scope: when it last moved.
pub fn last_moves_of_open_interests(
    conn: &mut DbConnection,
    scope: &Scope,
) -> QueryResult<Vec<(DbUuid, Option<NaiveDateTime>)>> {
    use diesel::dsl::max;
    let q = stage_moves::table
        .inner_join(interests::table)
        .filter(interests::state.eq_any(["active", "awaiting_loss_approval"]))
        .group_by(stage_moves::interest_id)
        .select((stage_moves::interest_id, max(stage_moves::moved_at)))
        .into_boxed();
    in_scope!(q, scope).load(conn)
}

/// Per open interest of the scope: when an interaction with the client was last done.
pub fn last_interactions_of_open_interests(
    conn: &mut DbConnection,
    scope: &Scope,
) -> QueryResult<Vec<(DbUuid, Option<NaiveDateTime>)>> {
    use diesel::dsl::max;
    let q = interactions::table
        .inner_join(interests::table)
        .filter(interests::state.eq_any(["active", "awaiting_loss_approval"]))
        .filter(interactions::status.eq("done"))
        .group_by(interactions::interest_id)
        .select((interactions::interest_id, max(interactions::completed_at)))
        .into_boxed();
    in_scope!(q, scope).load(conn)
}

/// What a report needs of a lead.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = leads)]
pub struct LeadFacts {
    pub id: DbUuid,
    pub channel: String,
    pub source: Option<String>,
    pub status: String,
    pub assignee_id: Option<DbUuid>,
    pub interest_id: Option<DbUuid>,
    pub processed_by: Option<DbUuid>,
    pub received_at: NaiveDateTime,
    pub processed_at: Option<NaiveDateTime>,
}

/// Leads received in `[from, to)`, of these assignees (`None`: everyone's,
/// the shared inbox's too).
pub fn leads_received_between(
    conn: &mut DbConnection,
    assignees: Option<&[DbUuid]>,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<LeadFacts>> {
    let mut q = leads::table
        .filter(leads::received_at.ge(from))
        .filter(leads::received_at.lt(to))
        .select(LeadFacts::as_select())
        .into_boxed();
    if let Some(people) = assignees {
        q = q.filter(leads::assignee_id.eq_any(people.to_vec()));
    }
    q.load(conn)
}

/// Leads accepted into an interest or linked to one in `[from, to)` by these
/// people (`None`: by anyone).
pub fn leads_taken_between(
    conn: &mut DbConnection,
    by: Option<&[DbUuid]>,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<LeadFacts>> {
    let mut q = leads::table
        .filter(leads::processed_at.ge(from))
        .filter(leads::processed_at.lt(to))
        .filter(leads::status.eq_any(["accepted", "linked"]))
        .select(LeadFacts::as_select())
        .into_boxed();
    if let Some(people) = by {
        q = q.filter(leads::processed_by.eq_any(people.to_vec()));
    }
    q.load(conn)
}

/// These interests' facts (for leads' outcomes).
pub fn interests_by_id(conn: &mut DbConnection, ids: &[DbUuid]) -> QueryResult<Vec<DealFacts>> {
    let mut out = Vec::new();
    // Bound parameters stay well under both backends' limits.
    for chunk in ids.chunks(5_000) {
        out.extend(
            interests::table
                .filter(interests::id.eq_any(chunk.to_vec()))
                .select(DealFacts::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// Users of the sales roles (manager, head), with their names and whether
/// they are active.
pub fn sales_people(conn: &mut DbConnection) -> QueryResult<Vec<(DbUuid, String, String, bool)>> {
    users::table
        .filter(users::role.eq_any(["manager", "head"]))
        .select((users::id, users::name, users::role, users::active))
        .order(users::name)
        .load(conn)
}

/// Loss reasons' names by id (every reason, in use or not: a report names old losses too).
pub fn loss_reason_names(conn: &mut DbConnection) -> QueryResult<Vec<(DbUuid, String)>> {
    loss_reasons::table.select((loss_reasons::id, loss_reasons::name)).load(conn)
}
