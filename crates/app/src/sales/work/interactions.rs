//! Interactions (Взаимодействие): calls, meetings, letters planned and held.

use chrono::{DateTime, Utc};
use crm_domain::events::EventType;
use crm_domain::status::InteractionStatus;
use crm_domain::status::TimelineKind;
use crm_scenario::InterestState;
use crm_store::queries::sales as q;
use crm_store::rows::InteractionRow;
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::principal::actor_parts;
use crate::identity::principal::Principal;
use crate::platform::error::{AppError, Problems};
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::sales::{state_of, timeline, visible_interest};
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
    pub status: InteractionStatus,
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
        status: r.status.0,
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
        status: InteractionStatus::Planned.into(),
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
        TimelineKind::InteractionPlanned,
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
    row.status = InteractionStatus::Done.into();
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
        TimelineKind::InteractionCompleted,
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
        outbox::record(conn, now, Some(actor), EventType::InteractionCreated, "interaction", made.id.0,
            serde_json::json!({"id": made.id.0, "interest_id": interest, "type": made.kind, "status": made.status.as_str()}))?;
        Ok(interaction_view(made))
    })
}

pub(super) fn visible_interaction(
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
        if row.status != InteractionStatus::Planned {
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
        timeline(conn, row.interest_id, Some(actor), now, TimelineKind::InteractionUpdated, format!("Rescheduled {}: {}", row.kind, row.subject),
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
        if row.status != InteractionStatus::Planned {
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
        if row.status != InteractionStatus::Planned {
            return Err(AppError::conflict(None, format!("the interaction is already {}", row.status)));
        }
        let version = row.version;
        row.status = InteractionStatus::Cancelled.into();
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
            TimelineKind::InteractionCancelled,
            format!("Cancelled {}: {}", row.kind, row.subject),
            serde_json::json!({"interaction_id": row.id.0, "reason": row.result}),
        )?;
        Ok(interaction_view(row))
    })
}
