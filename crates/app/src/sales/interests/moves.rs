//! Moving an interest along its scenario: the snapshot the rules judge,
//! the transition and what the manager plans next.

use chrono::{DateTime, Utc};
use crm_domain::events::EventType;
use crm_scenario::{InterestState, MoveRequest, Snapshot};
use crm_store::queries::{sales as q, users as uq};
use crm_store::rows::{InteractionRow, InterestRow};
use crm_store::DbConnection;
use uuid::Uuid;

use super::*;
use crate::identity::permissions;
use crate::identity::principal::Principal;
use crate::platform::error::{AppError, Problems, Unmet};
use crate::platform::outbox;
use crate::sales::work::{self, InteractionKind};
use crate::sales::{apply_effects, create_task, parse_definition, state_of, user_tz, visible_interest};
use crate::App;

/// What the manager plans after a move.
#[derive(Debug, Clone)]
pub enum NextStep {
    None,
    Interaction { kind: String, planned_at: DateTime<Utc>, subject: String },
    Task { assignee_id: Uuid, title: String, due_at: DateTime<Utc> },
}

#[derive(Debug, Clone)]
pub struct Transition {
    pub to_stage: String,
    pub interaction_result: Option<String>,
    pub loss_reason_id: Option<Uuid>,
    pub comment: Option<String>,
    pub next: NextStep,
}

pub(super) fn snapshot(
    conn: &mut DbConnection,
    row: &InterestRow,
) -> Result<(Snapshot, Vec<InteractionRow>), AppError> {
    let planned = q::planned_interactions(conn, &[row.id])?;
    let orders = crate::sales::coverage(conn, row.id)?;
    Ok((
        Snapshot {
            stage: row.stage.clone(),
            state: state_of(row)?,
            pending_stage: row.pending_stage.clone(),
            client_set: row.client_id.is_some(),
            contact_set: row.contact_id.is_some(),
            potential_amount_set: row.potential_minor.is_some(),
            service_type_set: row.service_type.is_some(),
            loss_reason_set: row.loss_reason_id.is_some(),
            order_count: orders.orders,
            orders_fully_paid: orders.fully_paid,
            orders_fully_shipped: orders.fully_shipped,
            planned_interactions: planned.len(),
        },
        planned,
    ))
}

/// Moves an interest to another stage: checks the target's guards (every
/// unmet one is reported), completes the planned interaction with its result,
/// runs the entry rules, plans the next step, and records it all.
pub fn move_interest(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    t: Transition,
) -> Result<InterestView, AppError> {
    actor.require(&permissions::WRITE_INTERESTS)?;
    let now = app.now();
    let fallback = app.settings().default_time_zone.tz();
    let mut p = Problems::new();
    let result = t.interaction_result.as_deref().map(|r| p.text("interaction_result", r, 2000));
    let comment = t.comment.as_deref().map(|c| p.text("comment", c, 2000));
    match &t.next {
        NextStep::None => {}
        NextStep::Interaction { kind, planned_at, subject } => {
            if InteractionKind::parse(kind).is_none() {
                p.push("next.type", "invalid", "use call, email, meeting, message or note");
            }
            if *planned_at < now {
                p.push("next.planned_at", "in_the_past", "plan the next interaction in the future");
            }
            p.text("next.subject", subject, 500);
        }
        NextStep::Task { title, due_at, .. } => {
            p.text("next.title", title, 200);
            if *due_at < now {
                p.push("next.due_at", "in_the_past", "the task must be due in the future");
            }
        }
    }
    p.into_result()?;

    app.write(|conn| {
        let (row, _) = visible_interest(conn, actor, id)?;
        // Moves, payments and shipments of one interest run one after another.
        q::lock_interest(conn, row.id)?;
        let mut row = q::find_interest(conn, row.id)?.ok_or(AppError::NotFound("interest"))?;
        crate::platform::error::check_version(expected_version, row.version)?;
        let def = parse_definition(&q::find_scenario(conn, row.scenario_id)?.ok_or(AppError::NotFound("scenario"))?.definition)?;
        let (snap, planned) = snapshot(conn, &row)?;
        let mut unmet = Vec::new();
        if let Some(reason) = t.loss_reason_id {
            match q::find_loss_reason(conn, reason.into())? {
                Some(r) if r.active => {}
                Some(_) => unmet.push(Unmet::new("loss_reason_active", "that loss reason is no longer in use")),
                None => unmet.push(Unmet::new("loss_reason_exists", format!("loss reason {reason} does not exist"))),
            }
        }
        if let NextStep::Task { assignee_id, .. } = &t.next {
            if uq::find(conn, (*assignee_id).into())?.is_none_or(|u| !u.active) {
                unmet.push(Unmet::new("next_assignee_active", format!("no active user {assignee_id}")));
            }
        }
        let request = MoveRequest {
            to: t.to_stage.clone(),
            loss_reason_given: t.loss_reason_id.is_some(),
            interaction_result_given: result.is_some(),
        };
        let tz = user_tz(conn, row.responsible_id, fallback)?;
        let decision = crm_scenario::decide_move(&def, &snap, &request, now, tz);
        if let Err(engine_unmet) = &decision {
            unmet.extend(engine_unmet.iter().map(|u| Unmet::new(u.check.clone(), u.message.clone())));
        }
        if !unmet.is_empty() {
            return Err(AppError::Rules(unmet));
        }
        let effects = decision.map_err(|_| AppError::internal("refusal already handled"))?;

        if let Some(result) = &result {
            for interaction in planned {
                work::complete_interaction_row(conn, actor, now, interaction, result)?;
            }
        }
        if let Some(reason) = t.loss_reason_id {
            row.loss_reason_id = Some(reason.into());
            row.loss_comment = comment.clone();
        }
        let why = serde_json::json!({"interaction_result": result, "comment": comment, "loss_reason_id": t.loss_reason_id});
        apply_effects(conn, Some(actor), now, &def, &mut row, effects, &why)?;

        match &t.next {
            NextStep::None => {}
            NextStep::Interaction { kind, planned_at, subject } => {
                work::plan_interaction_row(conn, actor, now, row.id, kind, subject, Some(*planned_at))?;
            }
            NextStep::Task { assignee_id, title, due_at } => {
                create_task(conn, Some(actor), now, Some(row.id), title.trim(), "follow_up", (*assignee_id).into(), *due_at, None)?;
            }
        }
        let version = row.version;
        row.version += 1;
        row.updated_at = now.naive_utc();
        if q::update_interest(conn, &row, version)? != 1 {
            return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
        }
        let kind = if row.state == InterestState::AwaitingLossApproval { EventType::InterestLossRequested } else { EventType::InterestStageChanged };
        outbox::record(conn, now, Some(actor), kind, "interest", id, event_payload(&row))?;
        view(conn, row, &def, now, fallback)
    })
}
