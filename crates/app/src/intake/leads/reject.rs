//! Rejecting a lead with a reason.

use crm_domain::events::EventType;
use crm_domain::status::LeadStatus;
use crm_store::queries::leads as q;
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::principal::Principal;

use super::*;
use crate::platform::error::{check_version, AppError, Problems};
use crate::platform::outbox;
use crate::App;

/// Rejects a lead with a reason: spam, duplicate, not our business, or other (with text).
pub fn reject_lead(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    reason: &str,
    comment: Option<String>,
) -> Result<LeadView, AppError> {
    actor.require(&permissions::PROCESS_LEADS)?;
    let mut p = Problems::new();
    if !matches!(reason, "spam" | "duplicate" | "not_our_business" | "other") {
        p.push("reason", "invalid", "use spam, duplicate, not_our_business or other");
    }
    let comment = comment.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    if reason == "other" && comment.is_none() {
        p.push("comment", "required", "say why when the reason is other");
    }
    if comment.as_ref().is_some_and(|c| c.chars().count() > 2000) {
        p.push("comment", "too_long", "at most 2000 characters");
    }
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        let mut row = visible_lead(conn, actor, id)?;
        check_version(expected_version, row.version)?;
        must_be_new(&row)?;
        let version = row.version;
        row.reject_reason = Some(reason.to_owned());
        row.reject_comment = comment.clone();
        mark_processed(&mut row, actor, now, LeadStatus::Rejected);
        if q::update_lead(conn, &row, version)? != 1 {
            return Err(AppError::conflict(None, "the lead was processed by someone else a moment ago"));
        }
        outbox::record(
            conn,
            now,
            Some(actor),
            EventType::LeadRejected,
            "lead",
            id,
            serde_json::json!({"id": id, "reason": reason}),
        )?;
        Ok(view(row))
    })
}
