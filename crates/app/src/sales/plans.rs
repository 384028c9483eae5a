//! Sales plans: a monthly amount in one currency that a head sets for a
//! manager or a department, and that analytics puts the won revenue beside.
//!
//! Who sees and sets a plan follows the department tree: a manager reads
//! their own plans; a head reads and sets the plans of the departments they
//! head and those below, and of the people in them (their own included);
//! an admin all. A deleted plan keeps its row so the feed can carry it.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use crm_domain::events::EventType;
use crm_domain::money::Money;
use crm_domain::Role;
use crm_store::queries::sales::{self as q, PlanFilter, PlanTargets};
use crm_store::queries::{departments as dq, users as uq};
use crm_store::rows::SalesPlanRow;
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::policy::{self, Visibility};
use crate::identity::principal::Principal;
use crate::platform::error::{check_version, AppError, Problems, Unmet};
use crate::platform::outbox::{self, Audience};
use crate::platform::page::{Page, PageRequest};
use crate::App;

/// The longest note a plan holds, in characters.
pub const NOTE_MAX: usize = 1000;

#[derive(Debug, Clone)]
pub struct PlanView {
    pub id: Uuid,
    /// The first day of the plan's month.
    pub month: NaiveDate,
    pub user_id: Option<Uuid>,
    pub department_id: Option<Uuid>,
    pub currency: String,
    pub amount: Money,
    pub note: Option<String>,
    pub created_by: Option<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

pub(crate) fn view(r: SalesPlanRow) -> Result<PlanView, AppError> {
    Ok(PlanView {
        id: r.id.0,
        month: r.month,
        user_id: r.user_id.map(Uuid::from),
        department_id: r.department_id.map(Uuid::from),
        currency: r.currency,
        amount: Money::try_from_minor(i128::from(r.amount_minor))
            .map_err(|_| AppError::internal("a stored plan amount out of range"))?,
        note: r.note,
        created_by: r.created_by.map(Uuid::from),
        version: r.version,
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
        deleted_at: r.deleted_at.map(|t| t.and_utc()),
    })
}

/// Users and departments, by id.
pub type Reach = (Vec<Uuid>, Vec<Uuid>);

/// The users and departments whose plans an actor reads (and, holding
/// [`permissions::WRITE_SALES_PLANS`], sets); `None`: every plan.
pub(crate) fn reach(conn: &mut DbConnection, actor: &Principal) -> Result<Option<Reach>, AppError> {
    let Principal::User(user) = actor else { return Ok(None) };
    if user.role != Role::Head {
        return Ok(match policy::visibility(conn, actor)? {
            Visibility::All => None,
            Visibility::Responsible(users) => Some((users, Vec::new())),
        });
    }
    let users = match policy::visibility(conn, actor)? {
        Visibility::All => return Ok(None),
        Visibility::Responsible(users) => users,
    };
    let mut departments = Vec::new();
    for d in dq::headed_by(conn, user.id.into())? {
        for sub in policy::subtree(conn, d.id.0)? {
            if !departments.contains(&sub) {
                departments.push(sub);
            }
        }
    }
    Ok(Some((users, departments)))
}

fn within(reach: Option<&Reach>, row: &SalesPlanRow) -> bool {
    match reach {
        None => true,
        Some((users, departments)) => {
            row.user_id.is_some_and(|u| users.contains(&u.0))
                || row.department_id.is_some_and(|d| departments.contains(&d.0))
        }
    }
}

fn db_ids(ids: &[Uuid]) -> Vec<DbUuid> {
    ids.iter().copied().map(Into::into).collect()
}

/// Who the feed shows a plan's changes to: a manager's plan goes where the
/// manager's interests go; a department's to the heads of it and of every
/// department above it (admins see every plan).
pub(crate) fn audience(conn: &mut DbConnection, row: &SalesPlanRow) -> Result<Audience, AppError> {
    if let Some(user) = row.user_id {
        return Ok(Audience { owners: vec![user.0], persons: Vec::new() });
    }
    let all = dq::all(conn)?;
    let mut persons = Vec::new();
    let mut next = row.department_id;
    // The tree has no cycles (departments refuse them); the bound guards a broken one.
    for _ in 0..all.len() {
        let Some(id) = next else { break };
        let Some(d) = all.iter().find(|d| d.id == id) else { break };
        if let Some(head) = d.head_id {
            if !persons.contains(&head.0) {
                persons.push(head.0);
            }
        }
        next = d.parent_id;
    }
    Ok(Audience { owners: Vec::new(), persons })
}

/// Reads `YYYY-MM` (years 1900–2200) as the month's first day.
pub fn parse_month(raw: &str) -> Option<NaiveDate> {
    let (year, month) = raw.split_once('-')?;
    if year.len() != 4 || month.len() != 2 || !(year.bytes().chain(month.bytes())).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let year: i32 = year.parse().ok()?;
    if !(1900..=2200).contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month.parse().ok()?, 1)
}

fn month_of(p: &mut Problems, field: &str, raw: &str) -> Option<NaiveDate> {
    let parsed = parse_month(raw);
    if parsed.is_none() {
        p.push(field, "invalid", format!("{raw:?} is not a month such as \"2026-12\" (years 1900–2200)"));
    }
    parsed
}

fn amount_of(p: &mut Problems, raw: &str) -> Option<Money> {
    let amount = p.check("amount", Money::parse(raw));
    if amount.is_some_and(|a| a.minor() <= 0) {
        p.push("amount", "not_positive", "a plan's amount must be above zero");
        return None;
    }
    amount
}

/// A note as stored: trimmed, `None` when blank.
fn note_of(p: &mut Problems, raw: Option<&str>) -> Option<String> {
    let note = raw.map(str::trim).filter(|n| !n.is_empty())?;
    if note.chars().count() > NOTE_MAX {
        p.push("note", "too_long", format!("must be at most {NOTE_MAX} characters"));
    }
    Some(note.to_owned())
}

/// What a list of plans is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct PlanQuery {
    /// `YYYY-MM`, both included.
    pub month_from: Option<String>,
    pub month_to: Option<String>,
    pub user_id: Option<Uuid>,
    /// Plans of this department, of the departments below it and of their people.
    pub department_id: Option<Uuid>,
    /// Plans changed at or after this instant, deleted ones included, in
    /// (updated_at, id) order.
    pub updated_since: Option<DateTime<Utc>>,
}

pub fn list_plans(
    app: &App,
    actor: &Principal,
    query: PlanQuery,
    page: PageRequest,
) -> Result<Page<PlanView>, AppError> {
    actor.require(&permissions::READ_SALES_PLANS)?;
    // A month outside its published pattern is malformed (400); months
    // that end before they start break a rule (422).
    let mut p = Problems::new();
    let month_from = query.month_from.as_deref().and_then(|m| month_of(&mut p, "month_from", m));
    let month_to = query.month_to.as_deref().and_then(|m| month_of(&mut p, "month_to", m));
    p.into_result().map_err(|e| match e {
        AppError::Validation(errors) => AppError::Malformed(errors),
        other => other,
    })?;
    if let (Some(from), Some(to)) = (month_from, month_to) {
        if to < from {
            return Err(AppError::field(
                "month_to",
                "before_from",
                format!("the months end before they start ({})", from.format("%Y-%m")),
            ));
        }
    }
    let syncs = page.syncs(query.updated_since);
    let rows = app.read(|conn| {
        let visible = reach(conn, actor)?.map(|(u, d)| (db_ids(&u), db_ids(&d)));
        let targets = targets(conn, query.user_id, query.department_id)?;
        let filter = PlanFilter {
            visible,
            targets,
            month_from,
            month_to,
            updated_since: query.updated_since.map(|t| t.naive_utc()),
            with_deleted: query.updated_since.is_some(),
        };
        Ok(q::list_plans(conn, &filter, page.sync_query(query.updated_since))?)
    })?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(view(r)?);
    }
    Ok(Page::from_rows(out, page, |v| v.id, |v| v).keyed(syncs, |v| (v.updated_at, v.id)))
}

/// The plans a `user_id` / `department_id` filter names: that user's; or the
/// department's, those below it and their people's (both: that user's, if
/// they belong there).
pub(crate) fn targets(
    conn: &mut DbConnection,
    user: Option<Uuid>,
    department: Option<Uuid>,
) -> Result<Option<PlanTargets>, AppError> {
    let Some(department) = department else {
        return Ok(user.map(|u| (vec![u.into()], Vec::new())));
    };
    let tree: Vec<DbUuid> = if dq::find(conn, department.into())?.is_some() {
        db_ids(&policy::subtree(conn, department)?)
    } else {
        Vec::new()
    };
    let people = uq::ids_in_departments(conn, &tree)?;
    Ok(Some(match user {
        Some(u) => (people.into_iter().filter(|p| p.0 == u).collect(), Vec::new()),
        None => (people, tree),
    }))
}

/// A live plan the actor may see, else 404.
fn visible_plan(conn: &mut DbConnection, actor: &Principal, id: Uuid) -> Result<SalesPlanRow, AppError> {
    let row = q::find_plan(conn, id.into())?.filter(|r| r.deleted_at.is_none());
    let reach = reach(conn, actor)?;
    row.filter(|r| within(reach.as_ref(), r)).ok_or(AppError::NotFound("sales plan"))
}

pub fn get_plan(app: &App, actor: &Principal, id: Uuid) -> Result<PlanView, AppError> {
    actor.require(&permissions::READ_SALES_PLANS)?;
    app.read(|conn| view(visible_plan(conn, actor, id)?))
}

/// A new plan, as asked.
#[derive(Debug, Clone, Default)]
pub struct NewPlan {
    /// `YYYY-MM`.
    pub month: String,
    pub user_id: Option<Uuid>,
    pub department_id: Option<Uuid>,
    pub amount: String,
    /// Default RUB.
    pub currency: Option<String>,
    pub note: Option<String>,
}

pub fn create_plan(app: &App, actor: &Principal, input: NewPlan) -> Result<PlanView, AppError> {
    actor.require(&permissions::WRITE_SALES_PLANS)?;
    // A month outside its published pattern is malformed (400), like any shape error.
    let Some(month) = parse_month(&input.month) else {
        return Err(AppError::malformed(
            "month",
            "invalid",
            format!("{:?} is not a month such as \"2026-12\" (years 1900–2200)", input.month),
        ));
    };
    let mut p = Problems::new();
    match (input.user_id, input.department_id) {
        (None, None) => {
            p.push("user_id", "required", "name the manager (user_id) or the department (department_id)")
        }
        (Some(_), Some(_)) => {
            p.push("department_id", "not_allowed", "a plan is for one manager or one department, not both")
        }
        _ => {}
    }
    let amount = amount_of(&mut p, &input.amount);
    let currency = p
        .check(
            "currency",
            crm_domain::Currency::parse(input.currency.as_deref().unwrap_or(crm_domain::Currency::RUB)),
        )
        .map(crm_domain::Currency::into_string);
    let note = note_of(&mut p, input.note.as_deref());
    p.into_result()?;
    let (Some(amount), Some(currency)) = (amount, currency) else {
        return Err(AppError::internal("validated plan fields missing"));
    };
    let now = app.now();
    app.write(|conn| {
        let reach = reach(conn, actor)?;
        let (user, department) = check_target(conn, reach.as_ref(), input.user_id, input.department_id)?;
        if let Some(taken) = q::find_live_plan(conn, month, user, department, &currency)? {
            return Err(AppError::conflict(
                Some("month"),
                format!(
                    "there is a plan for {} in {currency} for this target already ({}); change that one",
                    month.format("%Y-%m"),
                    taken.id.0
                ),
            ));
        }
        let row = SalesPlanRow {
            id: crm_domain::new_id().into(),
            month,
            user_id: user,
            department_id: department,
            currency,
            amount_minor: amount.minor(),
            note,
            created_by: actor.user().map(|u| u.id.into()),
            version: 1,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
            deleted_at: None,
        };
        q::insert_plan(conn, &row)?;
        let v = view(row)?;
        record(conn, actor, now, EventType::SalesPlanCreated, &v)?;
        Ok(v)
    })
}

/// The target a writer may set a plan for, with every unmet rule: the
/// manager exists, is active, holds sales work and is theirs; or the
/// department exists and is theirs.
fn check_target(
    conn: &mut DbConnection,
    reach: Option<&Reach>,
    user: Option<Uuid>,
    department: Option<Uuid>,
) -> Result<(Option<DbUuid>, Option<DbUuid>), AppError> {
    let mut unmet = Vec::new();
    if let Some(id) = user {
        let field = "user_id";
        match uq::find(conn, id.into())? {
            None => unmet.push(Unmet::new(format!("{field}_exists"), format!("user {id} does not exist"))),
            Some(u) => {
                if !u.active {
                    unmet.push(Unmet::new(format!("{field}_active"), format!("user {id} is deactivated")));
                }
                if !matches!(u.role.as_str(), "manager" | "head" | "admin") {
                    unmet.push(Unmet::new(
                        format!("{field}_role"),
                        format!("a user with the {} role does not sell, so has no sales plan", u.role),
                    ));
                }
                if reach.is_some_and(|(users, _)| !users.contains(&id)) {
                    unmet.push(Unmet::new(
                        format!("{field}_reachable"),
                        format!("you set plans only for the people of the departments you head; user {id} is not one"),
                    ));
                }
            }
        }
    }
    if let Some(id) = department {
        let field = "department_id";
        if dq::find(conn, id.into())?.is_none() {
            unmet.push(Unmet::new(format!("{field}_exists"), format!("department {id} does not exist")));
        } else if reach.is_some_and(|(_, departments)| !departments.contains(&id)) {
            unmet.push(Unmet::new(
                format!("{field}_reachable"),
                format!(
                    "you set plans only for the departments you head and those below them; {id} is not one"
                ),
            ));
        }
    }
    if unmet.is_empty() {
        Ok((user.map(Into::into), department.map(Into::into)))
    } else {
        Err(AppError::Rules(unmet))
    }
}

fn record(
    conn: &mut DbConnection,
    actor: &Principal,
    now: DateTime<Utc>,
    kind: EventType,
    v: &PlanView,
) -> Result<(), AppError> {
    outbox::record(
        conn,
        now,
        Some(actor),
        kind,
        "sales_plan",
        v.id,
        serde_json::json!({
            "id": v.id, "month": v.month.format("%Y-%m").to_string(), "user_id": v.user_id,
            "department_id": v.department_id, "amount": v.amount.to_string(), "currency": v.currency,
            "deleted": v.deleted_at.is_some(),
        }),
    )
}

/// A change to a plan: its amount, its note (`Some(None)` clears it).
#[derive(Debug, Clone, Default)]
pub struct PlanChange {
    /// `Some(None)` (a JSON null) is refused: a plan always has an amount.
    pub amount: Option<Option<String>>,
    pub note: Option<Option<String>>,
}

pub fn update_plan(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    change: PlanChange,
) -> Result<PlanView, AppError> {
    actor.require(&permissions::WRITE_SALES_PLANS)?;
    if matches!(change.amount, Some(None)) {
        return Err(AppError::malformed("amount", "invalid_value", "a plan's amount cannot be null"));
    }
    let mut p = Problems::new();
    let amount = change.amount.as_ref().and_then(|a| a.as_deref()).map(|a| amount_of(&mut p, a));
    let note = change.note.as_ref().map(|n| note_of(&mut p, n.as_deref()));
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        let row = visible_plan(conn, actor, id)?;
        check_version(expected_version, row.version)?;
        let amount_minor = amount.flatten().map_or(row.amount_minor, Money::minor);
        let note = note.unwrap_or_else(|| row.note.clone());
        // Nothing to change (an empty PATCH, or the values it holds): no new
        // version and no event, as for every other resource.
        if amount_minor == row.amount_minor && note == row.note {
            return view(row);
        }
        if q::update_plan(conn, row.id, row.version, amount_minor, note.as_deref(), now.naive_utc())? != 1 {
            return Err(AppError::PreconditionFailed { expected: row.version, current: row.version + 1 });
        }
        let v = view(q::find_plan(conn, row.id)?.ok_or(AppError::NotFound("sales plan"))?)?;
        record(conn, actor, now, EventType::SalesPlanUpdated, &v)?;
        Ok(v)
    })
}

/// Deletes a plan: plan-fact stops counting it; the feed shows it as it went.
pub fn delete_plan(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
) -> Result<(), AppError> {
    actor.require(&permissions::WRITE_SALES_PLANS)?;
    let now = app.now();
    app.write(|conn| {
        let row = visible_plan(conn, actor, id)?;
        check_version(expected_version, row.version)?;
        if q::delete_plan(conn, row.id, row.version, now.naive_utc())? != 1 {
            return Err(AppError::PreconditionFailed { expected: row.version, current: row.version + 1 });
        }
        let v = view(q::find_plan(conn, row.id)?.ok_or(AppError::NotFound("sales plan"))?)?;
        record(conn, actor, now, EventType::SalesPlanDeleted, &v)
    })
}

/// The month a day falls in, as its first day.
pub fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_read_as_their_first_day() {
        assert_eq!(parse_month("2026-12"), NaiveDate::from_ymd_opt(2026, 12, 1));
        assert_eq!(parse_month("1900-01"), NaiveDate::from_ymd_opt(1900, 1, 1));
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "26-12",
            "2026-12-01",
            "2201-01",
            "1899-12",
            "２０26-12",
            "+026-12",
            "",
        ] {
            assert_eq!(parse_month(bad), None, "{bad:?}");
        }
        assert_eq!(
            first_of_month(NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()),
            NaiveDate::from_ymd_opt(2026, 2, 1).unwrap()
        );
    }
}
