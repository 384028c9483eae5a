//! Deciding a requested loss: the department head (or an admin) approves
//! or returns it.

use crm_domain::events::EventType;
use crm_domain::status::TimelineKind;
use crm_domain::Role;
use crm_store::queries::sales as q;
use uuid::Uuid;

use super::*;
use crate::identity::permissions;
use crate::identity::policy::visibility;
use crate::identity::principal::Principal;
use crate::platform::error::{AppError, Problems, Unmet};
use crate::platform::outbox;
use crate::sales::{apply_effects, parse_definition, timeline, user_tz};
use crate::App;

#[derive(Debug, Clone)]
pub enum LossDecision {
    Approve,
    Return { to_stage: String },
}

/// The approver decides a requested loss: approve (lost) or return it to an
/// earlier open stage. Anyone else is refused with 403.
pub fn decide_loss(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    decision: LossDecision,
    comment: Option<String>,
) -> Result<InterestView, AppError> {
    actor.require(&permissions::DECIDE_LOSS)?;
    let Principal::User(me) = actor else {
        return Err(AppError::Forbidden("API keys may not decide losses".to_owned()));
    };
    let mut p = Problems::new();
    let comment = comment.as_deref().map(|c| p.text("comment", c, 2000));
    p.into_result()?;
    let now = app.now();
    let fallback = app.settings().default_time_zone.tz();
    app.write(|conn| {
        // The approver may be a head who does not otherwise see the interest.
        q::lock_interest(conn, id.into())?;
        let mut row = q::find_interest(conn, id.into())?.ok_or(AppError::NotFound("interest"))?;
        // The named approver, or any admin (who stands in for an absent head).
        let is_approver = me.role == Role::Admin || row.loss_approver_id.is_some_and(|a| a.0 == me.id);
        if !is_approver {
            let vis = visibility(conn, actor)?;
            if !vis.allows(row.responsible_id.0) && row.loss_approver_id.map(|a| a.0) != Some(me.id) {
                return Err(AppError::NotFound("interest"));
            }
            return Err(AppError::Forbidden("only the loss's approver may decide it".to_owned()));
        }
        crate::platform::error::check_version(expected_version, row.version)?;
        let def = parse_definition(
            &q::find_scenario(conn, row.scenario_id)?.ok_or(AppError::NotFound("scenario"))?.definition,
        )?;
        let (snap, _) = snapshot(conn, &row)?;
        let tz = user_tz(conn, row.responsible_id, fallback)?;
        let (effects, kind, summary) = match &decision {
            LossDecision::Approve => (
                crm_scenario::decide_loss_approval(&def, &snap, now, tz),
                TimelineKind::LossApproved,
                "Loss approved".to_owned(),
            ),
            LossDecision::Return { to_stage } => (
                crm_scenario::decide_loss_return(&def, &snap, to_stage, now, tz),
                TimelineKind::LossReturned,
                format!("Loss not approved; returned to {to_stage}"),
            ),
        };
        let effects = effects
            .map_err(|u| AppError::Rules(u.into_iter().map(|u| Unmet::new(u.check, u.message)).collect()))?;
        crate::sales::close_open_tasks(conn, Some(actor), row.id, "loss_approval", now)?;
        timeline(
            conn,
            row.id,
            Some(actor),
            now,
            kind,
            summary,
            serde_json::json!({"comment": comment, "decision": kind.as_str()}),
        )?;
        if matches!(decision, LossDecision::Return { .. }) {
            row.loss_reason_id = None;
            row.loss_comment = None;
        }
        let why = serde_json::json!({"comment": comment, "decision": kind.as_str()});
        apply_effects(conn, Some(actor), now, &def, &mut row, effects, &why)?;
        let version = row.version;
        row.version += 1;
        row.updated_at = now.naive_utc();
        if q::update_interest(conn, &row, version)? != 1 {
            return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
        }
        outbox::record(
            conn,
            now,
            Some(actor),
            if kind == TimelineKind::LossApproved {
                EventType::InterestLossApproved
            } else {
                EventType::InterestLossReturned
            },
            "interest",
            id,
            event_payload(&row),
        )?;
        view(conn, row, &def, now, fallback)
    })
}
