//! Absences with a deputy: planned ahead, started and ended by the timed
//! job with a notification to both people. While one runs the deputy sees
//! and works the absent user's interests, clients and tasks (see
//! `identity::policy::visibility`), and new leads and rule-made tasks meant
//! for the absent user go to the deputy (`identity::policy::stand_in`).

use chrono::{DateTime, Utc};
use crm_domain::events::EventType;
use crm_domain::Role;
use crm_store::queries::identity::absences as q;
use crm_store::queries::users as uq;
use crm_store::rows::AbsenceRow;
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::policy::{self, Visibility};
use crate::identity::principal::{actor_parts, Principal};
use crate::platform::error::{AppError, Problems, Unmet};
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::sales::notify;
use crate::App;

#[derive(Debug, Clone)]
pub struct AbsenceView {
    pub id: Uuid,
    pub user_id: Uuid,
    pub deputy_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: Option<String>,
    /// `planned`, `running`, `ended` or `cancelled`.
    pub state: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn view(r: AbsenceRow) -> AbsenceView {
    AbsenceView {
        id: r.id.0,
        user_id: r.user_id.0,
        deputy_id: r.deputy_id.0,
        starts_at: r.starts_at.and_utc(),
        ends_at: r.ends_at.and_utc(),
        reason: r.reason,
        state: r.state,
        version: r.version,
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
    }
}

#[derive(Debug, Clone)]
pub struct NewAbsence {
    pub user_id: Uuid,
    pub deputy_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// Whether `actor` may plan or withdraw an absence of `user`: their own,
/// a head's people (their departments and below), an admin anyone's.
fn may_manage(conn: &mut DbConnection, actor: &Principal, user: Uuid) -> Result<bool, AppError> {
    let Principal::User(me) = actor else { return Ok(false) };
    if me.id == user || me.role == Role::Admin {
        return Ok(true);
    }
    if me.role != Role::Head {
        return Ok(false);
    }
    Ok(match policy::visibility(conn, actor)? {
        Visibility::All => true,
        Visibility::Responsible(people) => people.contains(&user),
    })
}

fn name(conn: &mut DbConnection, user: DbUuid) -> Result<String, AppError> {
    Ok(uq::find(conn, user)?.map_or_else(|| user.0.to_string(), |u| u.name))
}

/// Writes the absence's event: the feed renders it as GET returns it.
fn record(
    conn: &mut DbConnection,
    actor: Option<&Principal>,
    now: DateTime<Utc>,
    kind: EventType,
    row: &AbsenceRow,
) -> Result<(), AppError> {
    outbox::record(
        conn,
        now,
        actor,
        kind,
        "absence",
        row.id.0,
        serde_json::json!({"id": row.id.0, "user_id": row.user_id.0, "deputy_id": row.deputy_id.0, "state": row.state}),
    )
}

fn when(t: chrono::NaiveDateTime) -> String {
    t.format("%d.%m.%Y %H:%M UTC").to_string()
}

/// Plans an absence. Refused with every unmet rule: the deputy cannot hold
/// the work (deactivated, wrong role, out of your reach) or is the user, the
/// period is over or overlaps another absence of the user, or the deputy is
/// away themselves then.
pub fn create_absence(app: &App, actor: &Principal, input: NewAbsence) -> Result<AbsenceView, AppError> {
    actor.require(&permissions::ABSENCES)?;
    let now = app.now();
    let mut p = Problems::new();
    let reason = input.reason.as_deref().map(|r| p.text("reason", r, 500)).filter(|r| !r.is_empty());
    if input.ends_at <= input.starts_at {
        p.push("ends_at", "before_from", "an absence ends after it starts");
    } else if input.ends_at <= now {
        p.push("ends_at", "in_the_past", "this absence would be over already");
    }
    p.into_result()?;
    app.write(|conn| {
        policy::active_user(conn, input.user_id, "user_id")?;
        if !may_manage(conn, actor, input.user_id)? {
            return Err(AppError::Forbidden(
                "you may plan your own absences, and a head those of the people of their departments"
                    .to_owned(),
            ));
        }
        let mut unmet = Vec::new();
        if input.deputy_id == input.user_id {
            unmet.push(Unmet::new("not_self", "a user cannot stand in for themselves"));
        }
        let deputy =
            match policy::assignable(conn, Some(actor), input.deputy_id, "deputy_id", policy::Holding::Sales)
            {
                Ok(d) => Some(d),
                Err(AppError::Rules(found)) => {
                    unmet.extend(found);
                    None
                }
                Err(other) => return Err(other),
            };
        let (from, to) = (input.starts_at.naive_utc(), input.ends_at.naive_utc());
        if let Some(clash) = q::overlapping(conn, input.user_id.into(), from, to)?.first() {
            unmet.push(Unmet::new(
                "no_overlap",
                format!("the user is already away from {} to {}", when(clash.starts_at), when(clash.ends_at)),
            ));
        }
        if let Some(clash) = q::overlapping(conn, input.deputy_id.into(), from, to)?.first() {
            unmet.push(Unmet::new(
                "deputy_present",
                format!(
                    "the deputy is away themselves from {} to {}",
                    when(clash.starts_at),
                    when(clash.ends_at)
                ),
            ));
        }
        let Some(deputy) = deputy.filter(|_| unmet.is_empty()) else {
            return Err(AppError::Rules(unmet));
        };
        let row = AbsenceRow {
            id: crm_domain::new_id().into(),
            user_id: input.user_id.into(),
            deputy_id: deputy,
            starts_at: from,
            ends_at: to,
            reason: reason.clone(),
            state: q::PLANNED.to_owned(),
            created_by: actor_parts(Some(actor)).1,
            version: 1,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
        };
        q::insert(conn, &row)?;
        record(conn, Some(actor), now, EventType::AbsencePlanned, &row)?;
        let (absent, stands_in) = (name(conn, row.user_id)?, name(conn, deputy)?);
        let period = format!("from {} to {}", when(from), when(to));
        notify(conn, deputy, None, &format!("You will stand in for {absent} {period}"), now)?;
        notify(conn, row.user_id, None, &format!("{stands_in} will stand in for you {period}"), now)?;
        Ok(view(row))
    })
}

/// Absences the caller may see: their own and those they stand in for; a
/// head's people's; an admin's all.
pub fn list_absences(app: &App, actor: &Principal, page: PageRequest) -> Result<Page<AbsenceView>, AppError> {
    actor.require(&permissions::ABSENCES)?;
    let Principal::User(me) = actor else {
        return Err(AppError::Forbidden("API keys have no absences".into()));
    };
    app.read(|conn| {
        let users: Option<Vec<DbUuid>> = match (me.role, policy::visibility(conn, actor)?) {
            (Role::Admin, _) | (_, Visibility::All) => None,
            (Role::Head, Visibility::Responsible(people)) => {
                Some(people.into_iter().map(Into::into).collect())
            }
            _ => Some(vec![me.id.into()]),
        };
        let rows = q::list(conn, users.as_deref(), page.query())?;
        Ok(Page::from_rows(rows, page, |r| r.id.0, view))
    })
}

/// One absence: of the caller, one they stand in for, or one they may manage.
pub fn get_absence(app: &App, actor: &Principal, id: Uuid) -> Result<AbsenceView, AppError> {
    actor.require(&permissions::ABSENCES)?;
    app.read(|conn| {
        let row = q::find(conn, id.into())?.ok_or(AppError::NotFound("absence"))?;
        let mine = actor.user().is_some_and(|u| u.id == row.deputy_id.0);
        if !mine && !may_manage(conn, actor, row.user_id.0)? {
            return Err(AppError::NotFound("absence"));
        }
        Ok(view(row))
    })
}

/// Withdraws an absence: a planned one never starts; a running one ends now,
/// and the deputy's access with it.
pub fn cancel_absence(app: &App, actor: &Principal, id: Uuid) -> Result<AbsenceView, AppError> {
    actor.require(&permissions::ABSENCES)?;
    let now = app.now();
    app.write(|conn| {
        let mut row = q::find(conn, id.into())?.ok_or(AppError::NotFound("absence"))?;
        let mine = actor.user().is_some_and(|u| u.id == row.deputy_id.0);
        if !mine && !may_manage(conn, actor, row.user_id.0)? {
            return Err(AppError::NotFound("absence"));
        }
        if row.state == q::ENDED || row.state == q::CANCELLED {
            return Err(AppError::conflict(None, format!("the absence is already {}", row.state)));
        }
        let was_running = row.state == q::RUNNING;
        let version = row.version;
        row.state = q::CANCELLED.to_owned();
        row.version += 1;
        row.updated_at = now.naive_utc();
        if was_running {
            row.ends_at = now.naive_utc().max(row.starts_at);
        }
        if q::update(conn, &row, version)? != 1 {
            return Err(AppError::conflict(None, "the absence changed meanwhile; read it again"));
        }
        record(conn, Some(actor), now, EventType::AbsenceCancelled, &row)?;
        let (absent, stands_in) = (name(conn, row.user_id)?, name(conn, row.deputy_id)?);
        notify(
            conn,
            row.deputy_id,
            None,
            &format!("You no longer stand in for {absent}: the absence was withdrawn"),
            now,
        )?;
        notify(
            conn,
            row.user_id,
            None,
            &format!("Your absence with {stands_in} standing in was withdrawn"),
            now,
        )?;
        Ok(view(row))
    })
}

/// The timed job: starts the planned absences whose time has come and ends
/// the running ones whose time is over, telling both people each time.
/// Returns how many moved.
pub fn run_absences(app: &App) -> Result<usize, AppError> {
    let now = app.now();
    let mut moved = 0;
    loop {
        let due = app.read(|conn| Ok(q::due(conn, now.naive_utc(), 100)?))?;
        if due.is_empty() {
            return Ok(moved);
        }
        for a in due {
            moved += app.write(|conn| {
                let Some(mut row) = q::find(conn, a.id)? else { return Ok(0) };
                let version = row.version;
                let (absent, stands_in) = (name(conn, row.user_id)?, name(conn, row.deputy_id)?);
                let (to_deputy, to_user) = if row.state == q::PLANNED && row.starts_at <= now.naive_utc() {
                    if row.ends_at <= now.naive_utc() {
                        // The whole period passed while the job was not running.
                        row.state = q::ENDED.to_owned();
                        (
                            format!("{absent}'s absence is over; you no longer stand in for them"),
                            format!("Your absence is over; {stands_in} no longer stands in for you"),
                        )
                    } else {
                        row.state = q::RUNNING.to_owned();
                        (
                            format!("You stand in for {absent} until {}", when(row.ends_at)),
                            format!("{stands_in} stands in for you until {}", when(row.ends_at)),
                        )
                    }
                } else if row.state == q::RUNNING && row.ends_at <= now.naive_utc() {
                    row.state = q::ENDED.to_owned();
                    (
                        format!("{absent} is back: you no longer stand in for them"),
                        format!("Welcome back: {stands_in} no longer stands in for you"),
                    )
                } else {
                    return Ok(0);
                };
                row.version += 1;
                row.updated_at = now.naive_utc();
                if q::update(conn, &row, version)? != 1 {
                    return Ok(0);
                }
                let kind =
                    if row.state == q::RUNNING { EventType::AbsenceStarted } else { EventType::AbsenceEnded };
                record(conn, None, now, kind, &row)?;
                notify(conn, row.deputy_id, None, &to_deputy, now)?;
                notify(conn, row.user_id, None, &to_user, now)?;
                Ok(1)
            })?;
        }
    }
}
