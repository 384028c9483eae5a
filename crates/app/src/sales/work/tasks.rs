//! Tasks: made by hand or by scenario rules, due in the assignee's zone.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use crm_domain::events::EventType;
use crm_domain::status::TaskStatus;
use crm_domain::status::TimelineKind;
use crm_store::queries::sales as q;
use crm_store::queries::sales::TaskFilter;
use crm_store::rows::TaskRow;
use crm_store::DbConnection;
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::policy::{self, visibility};
use crate::identity::principal::Principal;
use crate::platform::error::{AppError, Problems};
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::sales::{create_task, timeline, user_tz, visible_interest};
use crate::App;

#[derive(Debug, Clone)]
pub struct TaskView {
    pub id: Uuid,
    pub interest_id: Option<Uuid>,
    pub title: String,
    pub task_kind: String,
    pub assignee_id: Uuid,
    pub due_at: DateTime<Utc>,
    pub status: TaskStatus,
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
        status: r.status.0,
        rule_stage: r.rule_stage,
        rule: r.rule,
        created_by: r.created_by.map(Into::into),
        completed_at: r.completed_at.map(|t| t.and_utc()),
        version: r.version,
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
    }
}

/// A task is the assignee's and the creator's (and their deputy's while an
/// absence runs), and visible wherever its interest is.
pub(super) fn visible_task(
    conn: &mut DbConnection,
    actor: &Principal,
    id: Uuid,
) -> Result<TaskRow, AppError> {
    let row = q::find_task(conn, id.into())?.ok_or(AppError::NotFound("task"))?;
    let mine = actor
        .user()
        .is_some_and(|u| u.id == row.assignee_id.0 || Some(u.id) == row.created_by.map(Uuid::from));
    if mine || actor.is_admin() || matches!(actor, Principal::ApiKey(_)) {
        return Ok(row);
    }
    // A deputy works the tasks of whom they stand in for, with or without an interest.
    if let Some(me) = actor.user() {
        if crm_store::queries::identity::absences::covered_by(conn, me.id.into())?.contains(&row.assignee_id)
        {
            return Ok(row);
        }
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

pub(super) fn day_bounds(now: DateTime<Utc>, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
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
    // `all` is the one word of the filter that is no status.
    let status = match filter.status.as_deref() {
        None => Some(TaskStatus::Open.as_str().to_owned()),
        Some("all") => None,
        Some(s) => match TaskStatus::parse(s) {
            Some(t) => Some(t.as_str().to_owned()),
            None => return Err(AppError::malformed("status", "invalid", "use open, done, cancelled or all")),
        },
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
                    .map_err(|_| AppError::malformed("assignee", "invalid", "use me or a user id"))?;
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
        let syncs = page.syncs(filter.updated_since);
        let rows = q::list_tasks(conn, &store, page.sync_query(filter.updated_since))?;
        Ok(Page::from_rows(rows, page, |r| r.id.0, task_view).keyed(syncs, |v| (v.updated_at, v.id)))
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
            crate::sales::notify(
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
        if row.status != TaskStatus::Open {
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
                crate::sales::notify(conn, row.assignee_id, row.interest_id, &format!("Task handed to you: {}", row.title), now)?;
                changed.push("assignee_id");
            }
        }
        row.version += 1;
        row.updated_at = now.naive_utc();
        if q::update_task(conn, &row, version)? != 1 {
            return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
        }
        if let Some(i) = row.interest_id {
            timeline(conn, i, Some(actor), now, TimelineKind::TaskUpdated, format!("Task \"{}\" changed ({})", row.title, changed.join(", ")),
                serde_json::json!({"task_id": row.id.0, "fields": changed, "due_at": row.due_at.and_utc(), "assignee_id": row.assignee_id.0}))?;
        }
        outbox::record(conn, now, Some(actor), EventType::TaskUpdated, "task", row.id.0, serde_json::json!({"id": row.id.0, "fields": changed}))?;
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
        if row.status != TaskStatus::Open {
            return Err(AppError::conflict(None, format!("the task is already {}", row.status)));
        }
        if row.task_kind == "loss_approval" {
            return Err(AppError::rule("decide_the_loss", "this task closes when the loss is decided"));
        }
        let version = row.version;
        row.status = if done { TaskStatus::Done } else { TaskStatus::Cancelled }.into();
        row.completed_at = Some(now.naive_utc());
        row.version += 1;
        row.updated_at = now.naive_utc();
        if q::update_task(conn, &row, version)? != 1 {
            return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
        }
        if let Some(i) = row.interest_id {
            let (kind, verb) = if done {
                (TimelineKind::TaskCompleted, TaskStatus::Done)
            } else {
                (TimelineKind::TaskCancelled, TaskStatus::Cancelled)
            };
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
            if done { EventType::TaskCompleted } else { EventType::TaskCancelled },
            "task",
            row.id.0,
            serde_json::json!({"id": row.id.0, "status": row.status.as_str()}),
        )?;
        Ok(task_view(row))
    })
}
