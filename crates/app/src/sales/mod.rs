//! The sale itself: scenarios, interests, their interactions and tasks, the
//! board and the timeline. Shared here: who sees which interests, applying a
//! rule decision's effects, and writing the timeline.

pub mod absences;
pub mod calendar;
pub mod handover;
pub mod interests;
pub mod loss_reasons;
pub mod plans;
pub mod reminders;
pub mod scenarios;
pub mod work;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use crm_domain::events::EventType;
use crm_domain::status::TaskStatus;
use crm_domain::status::TimelineKind;
use crm_domain::Role;
use crm_scenario::{Assignee, Effect, InterestState, Scenario, StageKind};
use crm_store::queries::{departments as dq, sales as q, users as uq};
use crm_store::rows::{InterestRow, NotificationRow, StageMoveRow, TaskRow, TimelineEntryRow};
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::identity::policy::{visibility, Visibility};
pub(crate) use crate::identity::principal::actor_parts;
use crate::identity::principal::Principal;
use crate::platform::error::AppError;

/// Loads an interest the actor may see; others' answer 404, never 403.
pub(crate) fn visible_interest(
    conn: &mut DbConnection,
    actor: &Principal,
    id: Uuid,
) -> Result<(InterestRow, Visibility), AppError> {
    let row = q::find_interest(conn, id.into())?.ok_or(AppError::NotFound("interest"))?;
    let vis = visibility(conn, actor)?;
    if !vis.allows(row.responsible_id.0) {
        return Err(AppError::NotFound("interest"));
    }
    Ok((row, vis))
}

/// How far the interest's confirmed orders are paid and shipped, read by
/// sales itself (sales does not call `documents`).
pub(crate) fn coverage(
    conn: &mut DbConnection,
    interest: DbUuid,
) -> Result<crm_domain::documents::Coverage, AppError> {
    let (orders, lines) = q::order_coverage(conn, interest)?;
    Ok(crm_domain::documents::Coverage::of(&orders, &lines)?)
}

pub(crate) fn parse_definition(json: &str) -> Result<Scenario, AppError> {
    serde_json::from_str(json).map_err(|e| AppError::internal(format!("stored scenario: {e}")))
}

/// The interest's state (rows read back only known words: an unknown one is
/// a storage error before it gets here).
pub(crate) fn state_of(row: &InterestRow) -> Result<InterestState, AppError> {
    Ok(*row.state)
}

/// The time zone "today" is judged in for a user.
pub(crate) fn user_tz(conn: &mut DbConnection, user: DbUuid, fallback: Tz) -> Result<Tz, AppError> {
    Ok(uq::find(conn, user)?.and_then(|u| u.time_zone.parse::<Tz>().ok()).unwrap_or(fallback))
}

/// The head of the responsible's department, going up while the head is the
/// responsible themselves (or missing). `None` means: the admins decide.
pub(crate) fn department_head_for(
    conn: &mut DbConnection,
    responsible: DbUuid,
) -> Result<Option<Uuid>, AppError> {
    let Some(user) = uq::find(conn, responsible)? else { return Ok(None) };
    let mut dept = user.department_id;
    let mut hops = 0;
    while let Some(d) = dept {
        let Some(row) = dq::find(conn, d)? else { break };
        if let Some(head) = row.head_id {
            if head != responsible && uq::find(conn, head)?.is_some_and(|h| h.active) {
                return Ok(Some(head.0));
            }
        }
        dept = row.parent_id;
        hops += 1;
        if hops > 1_000 {
            break;
        }
    }
    Ok(None)
}

/// Who a rule's assignee is for this interest (falls back to the responsible).
fn resolve(conn: &mut DbConnection, interest: &InterestRow, who: Assignee) -> Result<DbUuid, AppError> {
    let fallback = interest.responsible_id;
    Ok(match who {
        Assignee::Responsible => fallback,
        Assignee::DepartmentHead => department_head_for(conn, fallback)?.map_or(fallback, Into::into),
        Assignee::User { user_id } => {
            uq::find(conn, user_id.into())?.filter(|u| u.active).map_or(fallback, |u| u.id)
        }
        Assignee::Role { role } => {
            uq::first_active_with_role(conn, role.as_str())?.map_or(fallback, |u| u.id)
        }
    })
}

pub(crate) fn timeline(
    conn: &mut DbConnection,
    interest: DbUuid,
    actor: Option<&Principal>,
    now: DateTime<Utc>,
    kind: TimelineKind,
    summary: impl Into<String>,
    payload: serde_json::Value,
) -> Result<(), AppError> {
    let (actor_kind, actor_id) = actor_parts(actor);
    q::insert_timeline_entry(
        conn,
        &TimelineEntryRow {
            id: crm_domain::new_id().into(),
            interest_id: interest,
            kind: kind.as_str().to_owned(),
            actor_kind: actor_kind.to_owned(),
            actor_id,
            occurred_at: now.naive_utc(),
            summary: summary.into(),
            payload: payload.to_string(),
        },
    )?;
    Ok(())
}

/// Appends a move to the stage-move log that every sales report reads;
/// `why` carries the interaction result or the event whose rule moved it.
pub(crate) fn record_move(
    conn: &mut DbConnection,
    actor: Option<&Principal>,
    now: DateTime<Utc>,
    row: &InterestRow,
    from: Option<String>,
    why: &serde_json::Value,
) -> Result<(), AppError> {
    let (actor_kind, actor_id) = actor_parts(actor);
    let text = |key: &str| why.get(key).and_then(serde_json::Value::as_str).map(str::to_owned);
    q::insert_stage_move(
        conn,
        &StageMoveRow {
            id: crm_domain::new_id().into(),
            interest_id: row.id,
            scenario_id: row.scenario_id,
            from_stage: from,
            to_stage: row.stage.clone(),
            moved_at: now.naive_utc(),
            actor_kind: actor_kind.to_owned(),
            actor_id,
            trigger_event: text("event"),
            interaction_result: text("interaction_result"),
            // A loss's reason was given with its request; the row holds it.
            loss_reason_id: if row.state == InterestState::Lost { row.loss_reason_id } else { None },
        },
    )?;
    Ok(())
}

pub(crate) fn notify(
    conn: &mut DbConnection,
    user: DbUuid,
    interest: Option<DbUuid>,
    text: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    q::insert_notification(
        conn,
        &NotificationRow {
            id: crm_domain::new_id().into(),
            user_id: user,
            interest_id: interest,
            text: text.to_owned(),
            created_at: now.naive_utc(),
            read_at: None,
        },
    )?;
    Ok(())
}

/// Inserts a task and notes it on the interest's timeline.
#[allow(clippy::too_many_arguments)]
pub(crate) fn create_task(
    conn: &mut DbConnection,
    actor: Option<&Principal>,
    now: DateTime<Utc>,
    interest: Option<DbUuid>,
    title: &str,
    task_kind: &str,
    assignee: DbUuid,
    due_at: DateTime<Utc>,
    rule: Option<(&str, &str)>,
) -> Result<TaskRow, AppError> {
    let row = TaskRow {
        id: crm_domain::new_id().into(),
        interest_id: interest,
        title: title.to_owned(),
        task_kind: task_kind.to_owned(),
        assignee_id: assignee,
        due_at: due_at.naive_utc(),
        status: TaskStatus::Open.into(),
        rule_stage: rule.map(|r| r.0.to_owned()),
        rule: rule.map(|r| r.1.to_owned()),
        created_by: actor_parts(actor).1,
        completed_at: None,
        version: 1,
        created_at: now.naive_utc(),
        updated_at: now.naive_utc(),
    };
    q::insert_task(conn, &row)?;
    if let Some(interest) = interest {
        let by = if rule.is_some() { "by a scenario rule" } else { "by hand" };
        timeline(
            conn,
            interest,
            actor,
            now,
            TimelineKind::TaskCreated,
            format!("Task \"{title}\" created {by}"),
            serde_json::json!({"task_id": row.id.0, "title": title, "task_kind": task_kind,
                "assignee_id": assignee.0, "due_at": due_at, "rule_stage": row.rule_stage, "rule": row.rule}),
        )?;
    }
    crate::platform::outbox::record(
        conn,
        now,
        actor,
        EventType::TaskCreated,
        "task",
        row.id.0,
        serde_json::json!({
            "id": row.id.0, "interest_id": interest.map(|i| i.0), "title": title, "assignee_id": assignee.0, "due_at": due_at,
        }),
    )?;
    Ok(row)
}

/// Applies a decision's effects to the interest row (saved by the caller) and
/// writes the tasks, notifications and timeline entries they call for.
pub(crate) fn apply_effects(
    conn: &mut DbConnection,
    actor: Option<&Principal>,
    now: DateTime<Utc>,
    scenario: &Scenario,
    row: &mut InterestRow,
    effects: Vec<Effect>,
    why: &serde_json::Value,
) -> Result<(), AppError> {
    for effect in effects {
        match effect {
            Effect::EnterStage { stage, kind } => {
                let from = std::mem::replace(&mut row.stage, stage.clone());
                row.state = match kind {
                    StageKind::Open => InterestState::Active,
                    StageKind::Won => InterestState::Won,
                    StageKind::Lost => InterestState::Lost,
                }
                .into();
                row.pending_stage = None;
                row.stage_entered_at = now.naive_utc();
                row.closed_at = kind.is_final().then(|| now.naive_utc());
                if kind == StageKind::Open {
                    row.loss_approver_id = None;
                }
                record_move(conn, actor, now, row, Some(from.clone()), why)?;
                let name = |code: &str| scenario.stage(code).map_or(code.to_owned(), |s| s.name.clone());
                let mut payload = serde_json::json!({"from": from, "to": stage});
                if let (Some(p), Some(w)) = (payload.as_object_mut(), why.as_object()) {
                    p.extend(w.clone());
                }
                timeline(
                    conn,
                    row.id,
                    actor,
                    now,
                    TimelineKind::StageChanged,
                    format!("Moved from \"{}\" to \"{}\"", name(&from), name(&stage)),
                    payload,
                )?;
            }
            Effect::RequestLossApproval { stage } => {
                row.state = InterestState::AwaitingLossApproval.into();
                row.pending_stage = Some(stage.clone());
                let approver = department_head_for(conn, row.responsible_id)?;
                row.loss_approver_id = approver.map(Into::into);
                let assignee = match approver {
                    Some(a) => a.into(),
                    None => uq::first_active_with_role(conn, Role::Admin.as_str())?
                        .map_or(row.responsible_id, |u| u.id),
                };
                let tz = user_tz(conn, assignee, chrono_tz::UTC)?;
                let due =
                    crm_scenario::engine::due_at(now, crm_scenario::DueOffset { days: 1, hours: 0 }, tz);
                create_task(
                    conn,
                    actor,
                    now,
                    Some(row.id),
                    "Approve the loss",
                    "loss_approval",
                    assignee,
                    due,
                    None,
                )?;
                let mut payload = serde_json::json!({"stage": stage, "approver_id": approver});
                if let (Some(p), Some(w)) = (payload.as_object_mut(), why.as_object()) {
                    p.extend(w.clone());
                }
                timeline(
                    conn,
                    row.id,
                    actor,
                    now,
                    TimelineKind::LossRequested,
                    "Loss requested; awaiting approval",
                    payload,
                )?;
            }
            Effect::CreateTask { title, task_kind, assignee, due_at, stage, rule } => {
                // A rule's task for someone away goes to their deputy.
                let meant = resolve(conn, row, assignee)?;
                let who = crate::identity::policy::stand_in(conn, meant)?;
                create_task(
                    conn,
                    actor,
                    now,
                    Some(row.id),
                    &title,
                    &task_kind,
                    who,
                    due_at,
                    Some((&stage, &rule)),
                )?;
            }
            Effect::CloseTasks { task_kind } => {
                for task in close_open_tasks(conn, actor, row.id, &task_kind, now)? {
                    timeline(
                        conn,
                        row.id,
                        actor,
                        now,
                        TimelineKind::TaskClosed,
                        format!("Task \"{}\" closed by a scenario rule", task.title),
                        serde_json::json!({"task_id": task.id.0}),
                    )?;
                }
            }
            Effect::Notify { assignee, text } => {
                let who = resolve(conn, row, assignee)?;
                notify(conn, who, Some(row.id), &text, now)?;
            }
            Effect::SetPotentialToRevenue => {
                row.potential_minor = Some(coverage(conn, row.id)?.revenue.minor());
            }
        }
    }
    Ok(())
}

/// Marks the interest's open tasks of a kind done; returns them.
pub(crate) fn close_open_tasks(
    conn: &mut DbConnection,
    actor: Option<&Principal>,
    interest: DbUuid,
    task_kind: &str,
    now: DateTime<Utc>,
) -> Result<Vec<TaskRow>, AppError> {
    let mut closed = Vec::new();
    for mut task in q::open_tasks_of(conn, &[interest])?.into_iter().filter(|t| t.task_kind == task_kind) {
        let version = task.version;
        task.status = TaskStatus::Done.into();
        task.completed_at = Some(now.naive_utc());
        task.version += 1;
        task.updated_at = now.naive_utc();
        q::update_task(conn, &task, version)?;
        crate::platform::outbox::record(
            conn,
            now,
            actor,
            EventType::TaskCompleted,
            "task",
            task.id.0,
            serde_json::json!({"id": task.id.0, "closed_by": "rule"}),
        )?;
        closed.push(task);
    }
    Ok(closed)
}
