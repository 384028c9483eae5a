//! The work around an interest: interactions with the client, tasks for
//! people, and notifications.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use crm_scenario::InterestState;
use crm_store::queries::sales as q;
use crm_store::queries::sales::TaskFilter;
use crm_store::rows::{InteractionRow, TaskRow};
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use super::{create_task, state_of, timeline, user_tz, visible_interest};
use crate::identity::permissions;
use crate::identity::policy::{self, visibility};
use crate::identity::principal::actor_parts;
use crate::identity::principal::Principal;
use crate::platform::error::{AppError, Problems};
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::App;

/// Kinds of contact with a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InteractionKind {
    Call,
    Email,
    Meeting,
    Message,
    Note,
}

impl InteractionKind {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "call" => Self::Call,
            "email" => Self::Email,
            "meeting" => Self::Meeting,
            "message" => Self::Message,
            "note" => Self::Note,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct InteractionView {
    pub id: Uuid,
    pub interest_id: Uuid,
    pub kind: String,
    pub status: String,
    pub subject: String,
    pub planned_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub result: Option<String>,
    pub created_by: Option<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn interaction_view(r: InteractionRow) -> InteractionView {
    InteractionView {
        id: r.id.0,
        interest_id: r.interest_id.0,
        kind: r.kind,
        status: r.status,
        subject: r.subject,
        planned_at: r.planned_at.map(|t| t.and_utc()),
        completed_at: r.completed_at.map(|t| t.and_utc()),
        result: r.result,
        created_by: r.created_by.map(Into::into),
        version: r.version,
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
    }
}

/// Inserts a planned interaction (or a done one when `planned_at` is `None`
/// and a result is recorded right after) and notes it on the timeline.
pub(crate) fn plan_interaction_row(
    conn: &mut DbConnection,
    actor: &Principal,
    now: DateTime<Utc>,
    interest: DbUuid,
    kind: &str,
    subject: &str,
    planned_at: Option<DateTime<Utc>>,
) -> Result<InteractionRow, AppError> {
    let row = InteractionRow {
        id: crm_domain::new_id().into(),
        interest_id: interest,
        kind: kind.to_owned(),
        status: "planned".to_owned(),
        subject: subject.trim().to_owned(),
        planned_at: planned_at.map(|t| t.naive_utc()),
        completed_at: None,
        result: None,
        created_by: actor_parts(Some(actor)).1,
        version: 1,
        created_at: now.naive_utc(),
        updated_at: now.naive_utc(),
    };
    q::insert_interaction(conn, &row)?;
    timeline(
        conn,
        interest,
        Some(actor),
        now,
        "interaction_planned",
        format!("Planned {kind}: {}", row.subject),
        serde_json::json!({"interaction_id": row.id.0, "type": kind, "subject": row.subject, "planned_at": planned_at}),
    )?;
    Ok(row)
}

pub(crate) fn complete_interaction_row(
    conn: &mut DbConnection,
    actor: &Principal,
    now: DateTime<Utc>,
    mut row: InteractionRow,
    result: &str,
) -> Result<InteractionRow, AppError> {
    let version = row.version;
    row.status = "done".to_owned();
    row.result = Some(result.trim().to_owned());
    row.completed_at = Some(now.naive_utc());
    row.version += 1;
    row.updated_at = now.naive_utc();
    if q::update_interaction(conn, &row, version)? != 1 {
        return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
    }
    timeline(
        conn,
        row.interest_id,
        Some(actor),
        now,
        "interaction_completed",
        format!("{} done: {}", row.kind, result.trim()),
        serde_json::json!({"interaction_id": row.id.0, "type": row.kind, "subject": row.subject, "result": row.result}),
    )?;
    Ok(row)
}

pub fn list_interactions(
    app: &App,
    actor: &Principal,
    interest: Uuid,
    page: PageRequest,
) -> Result<Page<InteractionView>, AppError> {
    actor.require(&permissions::READ_INTERESTS)?;
    app.read(|conn| {
        visible_interest(conn, actor, interest)?;
        let rows = q::list_interactions(conn, interest.into(), page.query())?;
        Ok(Page::from_rows(rows, page, |r| r.id.0, interaction_view))
    })
}

#[derive(Debug, Clone)]
pub struct NewInteraction {
    pub kind: String,
    pub subject: String,
    /// When it will happen; absent for one already done (give `result`).
    pub planned_at: Option<DateTime<Utc>>,
    pub result: Option<String>,
}

/// Plans an interaction, or records one that already happened.
pub fn create_interaction(
    app: &App,
    actor: &Principal,
    interest: Uuid,
    input: NewInteraction,
) -> Result<InteractionView, AppError> {
    actor.require(&permissions::WRITE_INTERESTS)?;
    let now = app.now();
    let mut p = Problems::new();
    if InteractionKind::parse(&input.kind).is_none() {
        p.push("type", "invalid", "use call, email, meeting, message or note");
    }
    let subject = p.text("subject", &input.subject, 500);
    let result = input.result.as_deref().map(|r| p.text("result", r, 2000));
    match (&input.planned_at, &result) {
        (None, None) => {
            p.push("planned_at", "required", "plan it (planned_at) or record its result (result)")
        }
        (Some(_), Some(_)) => {
            p.push("result", "planned_with_result", "a planned interaction has no result yet")
        }
        (Some(at), None) if *at < now => {
            p.push("planned_at", "in_the_past", "plan it in the future, or record its result")
        }
        _ => {}
    }
    p.into_result()?;
    app.write(|conn| {
        let (row, _) = visible_interest(conn, actor, interest)?;
        if state_of(&row)? != InterestState::Active {
            return Err(AppError::rule("interest_active", "the interest is closed or waits for a loss decision"));
        }
        let mut made = plan_interaction_row(conn, actor, now, row.id, &input.kind, &subject, input.planned_at)?;
        if let Some(result) = &result {
            made = complete_interaction_row(conn, actor, now, made, result)?;
        }
        outbox::record(conn, now, Some(actor), "interaction.created", "interaction", made.id.0,
            serde_json::json!({"id": made.id.0, "interest_id": interest, "type": made.kind, "status": made.status}))?;
        Ok(interaction_view(made))
    })
}

fn visible_interaction(
    conn: &mut DbConnection,
    actor: &Principal,
    id: Uuid,
) -> Result<InteractionRow, AppError> {
    let row = q::find_interaction(conn, id.into())?.ok_or(AppError::NotFound("interaction"))?;
    visible_interest(conn, actor, row.interest_id.0).map_err(|_| AppError::NotFound("interaction"))?;
    Ok(row)
}

#[derive(Debug, Clone, Default)]
pub struct InteractionChanges {
    pub subject: Option<String>,
    pub planned_at: Option<DateTime<Utc>>,
    pub kind: Option<String>,
}

/// Reschedules or renames a planned interaction.
pub fn update_interaction(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    changes: InteractionChanges,
) -> Result<InteractionView, AppError> {
    actor.require(&permissions::WRITE_INTERESTS)?;
    let now = app.now();
    let mut p = Problems::new();
    let subject = changes.subject.as_deref().map(|s| p.text("subject", s, 500));
    if changes.kind.as_deref().is_some_and(|k| InteractionKind::parse(k).is_none()) {
        p.push("type", "invalid", "use call, email, meeting, message or note");
    }
    if changes.planned_at.is_some_and(|t| t < now) {
        p.push("planned_at", "in_the_past", "plan it in the future");
    }
    p.into_result()?;
    app.write(|conn| {
        let mut row = visible_interaction(conn, actor, id)?;
        crate::platform::error::check_version(expected_version, row.version)?;
        if row.status != "planned" {
            return Err(AppError::conflict(None, format!("the interaction is {}; only a planned one can change", row.status)));
        }
        let version = row.version;
        if let Some(s) = subject {
            row.subject = s;
        }
        if let Some(k) = changes.kind {
            row.kind = k;
        }
        if let Some(at) = changes.planned_at {
            row.planned_at = Some(at.naive_utc());
        }
        row.version += 1;
        row.updated_at = now.naive_utc();
        if q::update_interaction(conn, &row, version)? != 1 {
            return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
        }
        timeline(conn, row.interest_id, Some(actor), now, "interaction_updated", format!("Rescheduled {}: {}", row.kind, row.subject),
            serde_json::json!({"interaction_id": row.id.0, "planned_at": row.planned_at.map(|t| t.and_utc())}))?;
        Ok(interaction_view(row))
    })
}

/// Records the result of a planned interaction.
pub fn complete_interaction(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    result: &str,
) -> Result<InteractionView, AppError> {
    actor.require(&permissions::WRITE_INTERESTS)?;
    let now = app.now();
    let mut p = Problems::new();
    let result = p.text("result", result, 2000);
    p.into_result()?;
    app.write(|conn| {
        let row = visible_interaction(conn, actor, id)?;
        crate::platform::error::check_version(expected_version, row.version)?;
        if row.status != "planned" {
            return Err(AppError::conflict(None, format!("the interaction is already {}", row.status)));
        }
        Ok(interaction_view(complete_interaction_row(conn, actor, now, row, &result)?))
    })
}

pub fn cancel_interaction(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    reason: Option<String>,
) -> Result<InteractionView, AppError> {
    actor.require(&permissions::WRITE_INTERESTS)?;
    let now = app.now();
    app.write(|conn| {
        let mut row = visible_interaction(conn, actor, id)?;
        crate::platform::error::check_version(expected_version, row.version)?;
        if row.status != "planned" {
            return Err(AppError::conflict(None, format!("the interaction is already {}", row.status)));
        }
        let version = row.version;
        row.status = "cancelled".to_owned();
        row.result = reason.clone().map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
        row.version += 1;
        row.updated_at = now.naive_utc();
        if q::update_interaction(conn, &row, version)? != 1 {
            return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
        }
        timeline(
            conn,
            row.interest_id,
            Some(actor),
            now,
            "interaction_cancelled",
            format!("Cancelled {}: {}", row.kind, row.subject),
            serde_json::json!({"interaction_id": row.id.0, "reason": row.result}),
        )?;
        Ok(interaction_view(row))
    })
}

// --- tasks -----------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct TaskView {
    pub id: Uuid,
    pub interest_id: Option<Uuid>,
    pub title: String,
    pub task_kind: String,
    pub assignee_id: Uuid,
    pub due_at: DateTime<Utc>,
    pub status: String,
    pub rule_stage: Option<String>,
    pub rule: Option<String>,
    pub created_by: Option<Uuid>,
    pub completed_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn task_view(r: TaskRow) -> TaskView {
    TaskView {
        id: r.id.0,
        interest_id: r.interest_id.map(Into::into),
        title: r.title,
        task_kind: r.task_kind,
        assignee_id: r.assignee_id.0,
        due_at: r.due_at.and_utc(),
        status: r.status,
        rule_stage: r.rule_stage,
        rule: r.rule,
        created_by: r.created_by.map(Into::into),
        completed_at: r.completed_at.map(|t| t.and_utc()),
        version: r.version,
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
    }
}

/// A task is the assignee's and the creator's, and visible wherever its interest is.
fn visible_task(conn: &mut DbConnection, actor: &Principal, id: Uuid) -> Result<TaskRow, AppError> {
    let row = q::find_task(conn, id.into())?.ok_or(AppError::NotFound("task"))?;
    let mine = actor
        .user()
        .is_some_and(|u| u.id == row.assignee_id.0 || Some(u.id) == row.created_by.map(Uuid::from));
    if mine || actor.is_admin() || matches!(actor, Principal::ApiKey(_)) {
        return Ok(row);
    }
    match row.interest_id {
        Some(i) if visible_interest(conn, actor, i.0).is_ok() => Ok(row),
        _ => Err(AppError::NotFound("task")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueWindow {
    Overdue,
    Today,
    Upcoming,
}

#[derive(Debug, Clone, Default)]
pub struct TaskListFilter {
    /// `me` or a user id; absent: the caller's own (all for keys).
    pub assignee: Option<String>,
    pub due: Option<DueWindow>,
    /// `open` (default), `done`, `cancelled`, `all`.
    pub status: Option<String>,
    pub interest_id: Option<Uuid>,
    pub updated_since: Option<DateTime<Utc>>,
}

fn day_bounds(now: DateTime<Utc>, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let today = now.with_timezone(&tz).date_naive();
    let at = |d: chrono::NaiveDate| {
        tz.from_local_datetime(&d.and_time(NaiveTime::MIN)).earliest().map_or(now, |t| t.with_timezone(&Utc))
    };
    (at(today), at(today + Duration::days(1)))
}

pub fn list_tasks(
    app: &App,
    actor: &Principal,
    filter: TaskListFilter,
    page: PageRequest,
) -> Result<Page<TaskView>, AppError> {
    actor.require(&permissions::READ_TASKS)?;
    let now = app.now();
    let fallback = app.settings().default_time_zone.tz();
    let status = match filter.status.as_deref() {
        None | Some("open") => Some("open".to_owned()),
        Some("all") => None,
        Some(s @ ("done" | "cancelled")) => Some(s.to_owned()),
        Some(_) => return Err(AppError::field("status", "invalid", "use open, done, cancelled or all")),
    };
    app.read(|conn| {
        let assignee: Option<Uuid> = match (filter.assignee.as_deref(), actor) {
            (None | Some("me"), Principal::User(u)) => Some(u.id),
            (Some("me"), Principal::ApiKey(_)) => {
                return Err(AppError::field("assignee", "invalid", "an API key is no one; name a user id"))
            }
            (None, Principal::ApiKey(_)) => None,
            (Some(raw), _) => {
                let id = Uuid::parse_str(raw)
                    .map_err(|_| AppError::field("assignee", "invalid", "use me or a user id"))?;
                let allowed = match actor {
                    Principal::User(u) => u.id == id || visibility(conn, actor)?.allows(id),
                    Principal::ApiKey(_) => true,
                };
                if !allowed {
                    return Err(AppError::Forbidden("you may not list that user's tasks".to_owned()));
                }
                Some(id)
            }
        };
        if let Some(i) = filter.interest_id {
            visible_interest(conn, actor, i)?;
        }
        let tz = match assignee {
            Some(a) => user_tz(conn, a.into(), fallback)?,
            None => fallback,
        };
        let (start, end) = day_bounds(now, tz);
        let (due_from, due_before) = match filter.due {
            None => (None, None),
            Some(DueWindow::Overdue) => (None, Some(now)),
            Some(DueWindow::Today) => (Some(now.max(start)), Some(end)),
            Some(DueWindow::Upcoming) => (Some(end), None),
        };
        let store = TaskFilter {
            assignee_id: assignee.map(Into::into),
            interest_id: filter.interest_id.map(Into::into),
            status,
            due_from: due_from.map(|t| t.naive_utc()),
            due_before: due_before.map(|t| t.naive_utc()),
            updated_since: filter.updated_since.map(|t| t.naive_utc()),
        };
        let rows = q::list_tasks(conn, &store, page.query())?;
        Ok(Page::from_rows(rows, page, |r| r.id.0, task_view))
    })
}

#[derive(Debug, Clone)]
pub struct NewTask {
    pub title: String,
    pub assignee_id: Option<Uuid>,
    pub due_at: DateTime<Utc>,
    pub interest_id: Option<Uuid>,
    pub task_kind: Option<String>,
}

pub fn create_task_by_hand(app: &App, actor: &Principal, input: NewTask) -> Result<TaskView, AppError> {
    actor.require(&permissions::WRITE_TASKS)?;
    let now = app.now();
    let mut p = Problems::new();
    let title = p.text("title", &input.title, 200);
    let kind = input.task_kind.clone().unwrap_or_else(|| "manual".to_owned());
    if kind.is_empty()
        || kind.len() > 40
        || !kind.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        p.push("task_kind", "invalid_code", "use 1–40 lower-case letters, digits and _");
    }
    if input.due_at < now {
        p.push("due_at", "in_the_past", "must be in the future");
    }
    let assignee = match (input.assignee_id, actor) {
        (Some(a), _) => Some(a),
        (None, Principal::User(u)) => Some(u.id),
        (None, Principal::ApiKey(_)) => {
            p.push("assignee_id", "required", "an integration must name the assignee");
            None
        }
    };
    p.into_result()?;
    let Some(assignee) = assignee else { return Err(AppError::internal("validated assignee missing")) };
    app.write(|conn| {
        let assignee = policy::assignable(conn, Some(actor), assignee, "assignee", policy::Holding::Task)?;
        if let Some(i) = input.interest_id {
            visible_interest(conn, actor, i)?;
        }
        let row = create_task(
            conn,
            Some(actor),
            now,
            input.interest_id.map(Into::into),
            &title,
            &kind,
            assignee,
            input.due_at,
            None,
        )?;
        if row.assignee_id.0 != actor.user().map_or(Uuid::nil(), |u| u.id) {
            super::notify(
                conn,
                row.assignee_id,
                row.interest_id,
                &format!("New task for you: {title}"),
                now,
            )?;
        }
        Ok(task_view(row))
    })
}

#[derive(Debug, Clone, Default)]
pub struct TaskChanges {
    pub title: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub assignee_id: Option<Uuid>,
}

pub fn update_task(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    changes: TaskChanges,
) -> Result<TaskView, AppError> {
    actor.require(&permissions::WRITE_TASKS)?;
    let now = app.now();
    let mut p = Problems::new();
    let title = changes.title.as_deref().map(|t| p.text("title", t, 200));
    if changes.due_at.is_some_and(|t| t < now) {
        p.push("due_at", "in_the_past", "must be in the future");
    }
    p.into_result()?;
    app.write(|conn| {
        let mut row = visible_task(conn, actor, id)?;
        crate::platform::error::check_version(expected_version, row.version)?;
        if row.status != "open" {
            return Err(AppError::conflict(None, format!("the task is {}; only an open task can change", row.status)));
        }
        let version = row.version;
        let mut changed = Vec::new();
        if let Some(t) = title {
            row.title = t;
            changed.push("title");
        }
        if let Some(d) = changes.due_at {
            row.due_at = d.naive_utc();
            changed.push("due_at");
        }
        if let Some(a) = changes.assignee_id {
            if a != row.assignee_id.0 {
                row.assignee_id = policy::assignable(conn, Some(actor), a, "assignee", policy::Holding::Task)?;
                super::notify(conn, row.assignee_id, row.interest_id, &format!("Task handed to you: {}", row.title), now)?;
                changed.push("assignee_id");
            }
        }
        row.version += 1;
        row.updated_at = now.naive_utc();
        if q::update_task(conn, &row, version)? != 1 {
            return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
        }
        if let Some(i) = row.interest_id {
            timeline(conn, i, Some(actor), now, "task_updated", format!("Task \"{}\" changed ({})", row.title, changed.join(", ")),
                serde_json::json!({"task_id": row.id.0, "fields": changed, "due_at": row.due_at.and_utc(), "assignee_id": row.assignee_id.0}))?;
        }
        Ok(task_view(row))
    })
}

/// Completes (`done = true`) or cancels an open task.
pub fn finish_task(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    done: bool,
    note: Option<String>,
) -> Result<TaskView, AppError> {
    actor.require(&permissions::WRITE_TASKS)?;
    let now = app.now();
    app.write(|conn| {
        let mut row = visible_task(conn, actor, id)?;
        crate::platform::error::check_version(expected_version, row.version)?;
        if row.status != "open" {
            return Err(AppError::conflict(None, format!("the task is already {}", row.status)));
        }
        if row.task_kind == "loss_approval" {
            return Err(AppError::rule("decide_the_loss", "this task closes when the loss is decided"));
        }
        let version = row.version;
        row.status = if done { "done" } else { "cancelled" }.to_owned();
        row.completed_at = Some(now.naive_utc());
        row.version += 1;
        row.updated_at = now.naive_utc();
        if q::update_task(conn, &row, version)? != 1 {
            return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
        }
        if let Some(i) = row.interest_id {
            let (kind, verb) =
                if done { ("task_completed", "done") } else { ("task_cancelled", "cancelled") };
            timeline(
                conn,
                i,
                Some(actor),
                now,
                kind,
                format!("Task \"{}\" {verb}", row.title),
                serde_json::json!({"task_id": row.id.0, "note": note.as_deref().map(str::trim)}),
            )?;
        }
        outbox::record(
            conn,
            now,
            Some(actor),
            if done { "task.completed" } else { "task.cancelled" },
            "task",
            row.id.0,
            serde_json::json!({"id": row.id.0, "status": row.status}),
        )?;
        Ok(task_view(row))
    })
}

// --- notifications ---------------------------------------------------------

#[derive(Debug, Clone)]
pub struct NotificationView {
    pub id: Uuid,
    pub interest_id: Option<Uuid>,
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

fn notification_view(r: crm_store::rows::NotificationRow) -> NotificationView {
    NotificationView {
        id: r.id.0,
        interest_id: r.interest_id.map(Into::into),
        text: r.text,
        created_at: r.created_at.and_utc(),
        read_at: r.read_at.map(|t| t.and_utc()),
    }
}

pub fn list_notifications(
    app: &App,
    actor: &Principal,
    unread_only: bool,
    page: PageRequest,
) -> Result<Page<NotificationView>, AppError> {
    actor.require(&permissions::READ_NOTIFICATIONS)?;
    let Principal::User(me) = actor else {
        return Err(AppError::Forbidden("API keys have no notifications".to_owned()));
    };
    let rows = app.read(|conn| Ok(q::list_notifications(conn, me.id.into(), unread_only, page.query())?))?;
    Ok(Page::from_rows(rows, page, |r| r.id.0, notification_view))
}

pub fn read_notification(app: &App, actor: &Principal, id: Uuid) -> Result<NotificationView, AppError> {
    actor.require(&permissions::READ_NOTIFICATIONS)?;
    let Principal::User(me) = actor else {
        return Err(AppError::Forbidden("API keys have no notifications".to_owned()));
    };
    let now = app.now();
    app.write(|conn| {
        let row = q::find_notification(conn, id.into())?
            .filter(|n| n.user_id.0 == me.id)
            .ok_or(AppError::NotFound("notification"))?;
        q::mark_notification_read(conn, row.id, now.naive_utc())?;
        Ok(notification_view(q::find_notification(conn, row.id)?.ok_or(AppError::NotFound("notification"))?))
    })
}
