//! Accepting a lead: into a new interest (with a new client and contact if
//! need be) or linked to an existing one, in one transaction.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use crm_domain::events::EventType;
use crm_domain::status::LeadStatus;
use crm_domain::status::TimelineKind;
use crm_scenario::InterestState;
use crm_store::queries::clients as cq;
use crm_store::queries::{leads as q, sales as sq};
use crm_store::rows::{LeadRow, TimelineEntryRow};
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::policy::{self, visibility};
use crate::identity::principal::actor_parts;
use crate::identity::principal::Principal;
use crate::parties::clients::{self, ClientInput};

use super::*;
use crate::parties::contacts::ContactInput;
use crate::platform::error::{check_version, AppError, Problems, Unmet};
use crate::platform::outbox;
use crate::sales::interests::{self, InterestView, NewInterest};
use crate::sales::{create_task, timeline};
use crate::App;

/// Which client or contact an accepted lead goes with.
#[derive(Debug, Clone)]
pub enum Party<T> {
    /// What the lead was matched to, if anything.
    AsMatched,
    None,
    Existing(Uuid),
    New(T),
}

#[derive(Debug, Clone)]
pub struct AcceptAsNew {
    pub client: Party<ClientInput>,
    pub contact: Party<ContactInput>,
    pub responsible_id: Option<Uuid>,
    pub scenario_id: Option<Uuid>,
    pub service_type: Option<String>,
    pub title: Option<String>,
    pub potential_amount: Option<String>,
}

#[derive(Debug, Clone)]
pub enum LinkThen {
    None,
    Open,
    Task { title: String, due_at: DateTime<Utc>, assignee_id: Option<Uuid> },
}

#[derive(Debug, Clone)]
pub enum Accept {
    NewInterest(AcceptAsNew),
    Link { interest_id: Uuid, then: LinkThen },
}

#[derive(Debug, Clone)]
pub struct Accepted {
    pub lead: LeadView,
    pub interest: Option<InterestView>,
}

pub(super) fn mark_processed(row: &mut LeadRow, actor: &Principal, now: DateTime<Utc>, status: LeadStatus) {
    row.status = status.into();
    row.processed_by = actor_parts(Some(actor)).1;
    row.processed_at = Some(now.naive_utc());
    row.version += 1;
    row.updated_at = now.naive_utc();
}

pub(super) fn must_be_new(row: &LeadRow) -> Result<(), AppError> {
    if row.status != LeadStatus::New {
        return Err(AppError::conflict(None, format!("the lead is already {}", row.status)));
    }
    Ok(())
}

/// The lead's own entry on the interest's timeline, dated when it arrived so
/// that the timeline starts with it.
pub(super) fn lead_on_timeline(
    conn: &mut DbConnection,
    actor: &Principal,
    interest: DbUuid,
    lead: &LeadRow,
    kind: TimelineKind,
) -> Result<(), AppError> {
    // Dated when the lead arrived: the timeline reads by `occurred_at`, so
    // the lead opens it whatever the order of writing.
    let id = crm_domain::new_id();
    let (actor_kind, actor_id) = actor_parts(Some(actor));
    sq::insert_timeline_entry(
        conn,
        &TimelineEntryRow {
            id: id.into(),
            interest_id: interest,
            kind: kind.as_str().to_owned(),
            actor_kind: actor_kind.to_owned(),
            actor_id,
            occurred_at: lead.received_at,
            summary: format!(
                "Lead by {}: {}",
                lead.channel,
                lead.subject
                    .clone()
                    .or_else(|| lead.name.clone())
                    .unwrap_or_else(|| "(no subject)".to_owned())
            ),
            payload: serde_json::json!({"lead_id": lead.id.0, "channel": lead.channel, "name": lead.name,
            "phone": lead.phone, "email": lead.email, "subject": lead.subject, "body": lead.body})
            .to_string(),
        },
    )?;
    Ok(())
}

/// Accepts a lead: into a new interest (making the client and contact if
/// asked) or onto an existing one. One transaction; a lead someone else
/// processed a moment ago is 409 and nothing changes.
pub fn accept_lead(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    how: Accept,
) -> Result<Accepted, AppError> {
    actor.require(&permissions::PROCESS_LEADS)?;
    let now = app.now();
    let fallback: Tz = app.settings().default_time_zone.tz();
    app.write(|conn| {
        let mut row = visible_lead(conn, actor, id)?;
        check_version(expected_version, row.version)?;
        must_be_new(&row)?;
        match how {
            Accept::NewInterest(a) => {
                let client_id = match a.client {
                    Party::AsMatched => row.client_id.map(Uuid::from),
                    Party::None => None,
                    Party::Existing(c) => Some(c),
                    Party::New(input) => Some(clients::create_client_in(conn, actor, input, now)?.id),
                };
                let contact_id = match a.contact {
                    Party::AsMatched => row.contact_id.map(Uuid::from),
                    Party::None => None,
                    Party::Existing(c) => Some(c),
                    Party::New(mut input) => {
                        if input.client_id.is_none() {
                            input.client_id = client_id;
                        }
                        if input.phones.is_empty() {
                            input.phones.extend(row.phone.clone());
                        }
                        if input.emails.is_empty() {
                            input.emails.extend(row.email.clone());
                        }
                        Some(crate::parties::contacts::create_contact_in(conn, actor, input, now)?.id)
                    }
                };
                let title = a.title.or_else(|| row.subject.clone()).unwrap_or_else(|| {
                    format!("Request from {}", row.name.clone().unwrap_or_else(|| row.channel.clone()))
                });
                let client_manager = match client_id {
                    Some(c) => {
                        cq::find_client(conn, c.into())?.and_then(|c| c.responsible_id).map(Uuid::from)
                    }
                    None => None,
                };
                let responsible = a.responsible_id.or(client_manager);
                let service_type = match a.service_type {
                    Some(s) => Some(s),
                    None => match actor.user() {
                        Some(u) => crm_store::queries::users::find(conn, u.id.into())?
                            .and_then(|u| u.default_service_type),
                        None => None,
                    },
                };
                let input = NewInterest {
                    id: None,
                    title: title.chars().take(200).collect(),
                    scenario_id: a.scenario_id,
                    potential_amount: a.potential_amount,
                    currency: None,
                    service_type,
                    client_id,
                    contact_id,
                    responsible_id: responsible,
                    expected_close_on: None,
                };
                let interest = interests::create_interest_in(conn, actor, input, now, fallback)?;
                lead_on_timeline(conn, actor, interest.id.into(), &row, TimelineKind::LeadAccepted)?;
                let version = row.version;
                row.interest_id = Some(interest.id.into());
                row.client_id = client_id.map(Into::into);
                row.contact_id = contact_id.map(Into::into);
                mark_processed(&mut row, actor, now, LeadStatus::Accepted);
                if q::update_lead(conn, &row, version)? != 1 {
                    return Err(AppError::conflict(
                        None,
                        "the lead was processed by someone else a moment ago",
                    ));
                }
                outbox::record(
                    conn,
                    now,
                    Some(actor),
                    EventType::LeadAccepted,
                    "lead",
                    id,
                    serde_json::json!({"id": id, "interest_id": interest.id}),
                )?;
                let interest = interests::interest_view_in(conn, interest.id.into(), now, fallback)?;
                Ok(Accepted { lead: view(row), interest: Some(interest) })
            }
            Accept::Link { interest_id, then } => {
                let target =
                    sq::find_interest(conn, interest_id.into())?.ok_or(AppError::NotFound("interest"))?;
                if !visibility(conn, actor)?.allows(target.responsible_id.0) {
                    return Err(AppError::NotFound("interest"));
                }
                if !matches!(*target.state, InterestState::Active | InterestState::AwaitingLossApproval) {
                    return Err(AppError::Rules(vec![Unmet::new(
                        "interest_active",
                        "a lead can only be linked to an open interest",
                    )]));
                }
                lead_on_timeline(conn, actor, target.id, &row, TimelineKind::LeadLinked)?;
                if let LinkThen::Task { title, due_at, assignee_id } = &then {
                    let mut p = Problems::new();
                    let t = title.trim();
                    if t.is_empty() || t.chars().count() > 200 {
                        p.push("task.title", "invalid", "1 to 200 characters");
                    }
                    if *due_at < now - Duration::minutes(1) {
                        p.push("task.due_at", "in_the_past", "must be in the future");
                    }
                    p.into_result()?;
                    let assignee = match assignee_id {
                        Some(a) => policy::assignable(
                            conn,
                            Some(actor),
                            *a,
                            "task.assignee_id",
                            policy::Holding::Task,
                        )?,
                        None => actor.user().map_or(target.responsible_id, |u| u.id.into()),
                    };
                    create_task(
                        conn,
                        Some(actor),
                        now,
                        Some(target.id),
                        t,
                        "follow_up",
                        assignee,
                        *due_at,
                        None,
                    )?;
                }
                timeline(
                    conn,
                    target.id,
                    Some(actor),
                    now,
                    TimelineKind::Updated,
                    "A new request from the client was linked",
                    serde_json::json!({"lead_id": id}),
                )?;
                let version = row.version;
                row.interest_id = Some(target.id);
                if row.client_id.is_none() {
                    row.client_id = target.client_id;
                }
                mark_processed(&mut row, actor, now, LeadStatus::Linked);
                if q::update_lead(conn, &row, version)? != 1 {
                    return Err(AppError::conflict(
                        None,
                        "the lead was processed by someone else a moment ago",
                    ));
                }
                outbox::record(
                    conn,
                    now,
                    Some(actor),
                    EventType::LeadLinked,
                    "lead",
                    id,
                    serde_json::json!({"id": id, "interest_id": interest_id}),
                )?;
                let interest = match then {
                    LinkThen::Open => Some(interests::interest_view_in(conn, target.id, now, fallback)?),
                    _ => None,
                };
                Ok(Accepted { lead: view(row), interest })
            }
        }
    })
}
