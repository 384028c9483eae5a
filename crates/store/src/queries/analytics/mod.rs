//! Queries of the analytics area: the facts sales reports are computed from —
//! stage moves, and the interests they belong to — narrowed in the database
//! by the report's scope and period, so a report reads only what it counts.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConnection;
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

/// What a report needs of a stage move.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = stage_moves)]
pub struct MoveFacts {
    pub interest_id: DbUuid,
    pub from_stage: Option<String>,
    pub to_stage: String,
    pub moved_at: NaiveDateTime,
}

/// What the funnel needs of an interest: its amount.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = interests)]
pub struct DealAmount {
    pub id: DbUuid,
    pub potential_minor: Option<i64>,
    pub currency: String,
}

/// A stay on a stage: the stage, when it was entered, when it was left.
pub type Stay = (Option<String>, Option<NaiveDateTime>, NaiveDateTime);

/// An open interest's id, last move, potential and currency.
pub type Idle = (DbUuid, NaiveDateTime, Option<i64>, String);

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

/// The stays that ended in `[from, to)` on the scope's interests: per move
/// out of a stage made in the period, the stage left, when the interest had
/// entered it (its last real entry — a return to the same stage is not one)
/// and when it left.
pub fn stays_ended_between(
    conn: &mut DbConnection,
    scope: &Scope,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<Stay>> {
    use diesel::dsl::max;
    let entry = diesel::alias!(stage_moves as entry);
    let entered = entry
        .filter(entry.field(stage_moves::interest_id).eq(stage_moves::interest_id))
        .filter(entry.field(stage_moves::moved_at).le(stage_moves::moved_at))
        .filter(entry.field(stage_moves::id).ne(stage_moves::id))
        .filter(entry.field(stage_moves::to_stage).nullable().eq(stage_moves::from_stage))
        .filter(
            entry
                .field(stage_moves::from_stage)
                .is_null()
                .or(entry.field(stage_moves::from_stage).ne(entry.field(stage_moves::to_stage).nullable())),
        )
        .select(max(entry.field(stage_moves::moved_at)))
        .single_value();
    let q = stage_moves::table
        .inner_join(interests::table)
        .filter(stage_moves::moved_at.ge(from))
        .filter(stage_moves::moved_at.lt(to))
        .filter(stage_moves::from_stage.is_not_null())
        .filter(stage_moves::from_stage.ne(stage_moves::to_stage.nullable()))
        .select((stage_moves::from_stage, entered, stage_moves::moved_at))
        .into_boxed();
    in_scope!(q, scope).load(conn)
}

/// The moves made in `[from, to)` of the scope's interests, each with its
/// interest's amount, per interest in order: one index range, no subquery.
pub fn moves_between_with_amounts(
    conn: &mut DbConnection,
    scope: &Scope,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<(MoveFacts, DealAmount)>> {
    let q = stage_moves::table
        .inner_join(interests::table)
        .filter(stage_moves::moved_at.ge(from))
        .filter(stage_moves::moved_at.lt(to))
        .select((MoveFacts::as_select(), DealAmount::as_select()))
        .into_boxed();
    in_scope!(q, scope).order((stage_moves::interest_id, stage_moves::moved_at, stage_moves::id)).load(conn)
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

/// Per open interest of the scope: its stage and when it entered it — its
/// last move, since every move sets `stage_entered_at`.
pub fn open_stages(
    conn: &mut DbConnection,
    scope: &Scope,
) -> QueryResult<Vec<(DbUuid, String, NaiveDateTime)>> {
    let q = interests::table
        .filter(interests::state.eq_any(["active", "awaiting_loss_approval"]))
        .select((interests::id, interests::stage, interests::stage_entered_at))
        .into_boxed();
    in_scope!(q, scope).load(conn)
}

/// The scope's open interests last moved before `before`, with their amounts.
pub fn open_interests_unmoved_since(
    conn: &mut DbConnection,
    scope: &Scope,
    before: NaiveDateTime,
) -> QueryResult<Vec<Idle>> {
    let q = interests::table
        .filter(interests::state.eq_any(["active", "awaiting_loss_approval"]))
        .filter(interests::stage_entered_at.lt(before))
        .select((interests::id, interests::stage_entered_at, interests::potential_minor, interests::currency))
        .into_boxed();
    in_scope!(q, scope).load(conn)
}

/// Per responsible: how many open interests of the scope they hold (with an
/// open task due before `overdue_before`, when given).
pub fn open_counts_by_responsible(
    conn: &mut DbConnection,
    scope: &Scope,
    overdue_before: Option<NaiveDateTime>,
) -> QueryResult<Vec<(DbUuid, i64)>> {
    use diesel::dsl::count_star;
    let mut q = interests::table
        .filter(interests::state.eq_any(["active", "awaiting_loss_approval"]))
        .group_by(interests::responsible_id)
        .select((interests::responsible_id, count_star()))
        .into_boxed();
    if let Some(now) = overdue_before {
        let overdue = tasks::table
            .filter(tasks::status.eq("open"))
            .filter(tasks::due_at.lt(now))
            .select(tasks::interest_id);
        q = q.filter(interests::id.nullable().eq_any(overdue));
    }
    in_scope!(q, scope).load(conn)
}

/// The stage each of the scope's interests lost in `[from, to)` was lost
/// from: the move into the stage it is lost on.
pub fn lost_from(
    conn: &mut DbConnection,
    scope: &Scope,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<(DbUuid, Option<String>)>> {
    let q = stage_moves::table
        .inner_join(interests::table)
        .filter(interests::state.eq("lost"))
        .filter(interests::closed_at.ge(from))
        .filter(interests::closed_at.lt(to))
        .filter(stage_moves::to_stage.eq(interests::stage))
        .select((stage_moves::interest_id, stage_moves::from_stage))
        .order((stage_moves::interest_id, stage_moves::moved_at))
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
