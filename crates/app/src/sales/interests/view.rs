//! The read model of an interest: progress bar, health, next interaction,
//! related names, and loading it inside a transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use crm_domain::{Health, Money};
use crm_scenario::{InterestState, Scenario, StageKind};
use crm_store::queries::{sales as q, users as uq};
use crm_store::rows::{InteractionRow, InterestRow};
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::platform::error::AppError;
use crate::sales::{parse_definition, state_of, user_tz};

/// One stage on the interest's progress bar.
#[derive(Debug, Clone)]
pub struct StageProgress {
    pub code: String,
    pub name: String,
    pub kind: StageKind,
    pub current: bool,
}

#[derive(Debug, Clone)]
pub struct NextInteraction {
    pub id: Uuid,
    pub kind: String,
    pub subject: String,
    pub planned_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct InterestView {
    pub id: Uuid,
    pub scenario_id: Uuid,
    pub stage: String,
    pub state: InterestState,
    pub pending_stage: Option<String>,
    pub title: String,
    pub potential_amount: Option<Money>,
    pub currency: String,
    pub service_type: Option<String>,
    pub client_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub responsible_id: Uuid,
    pub loss_reason_id: Option<Uuid>,
    pub loss_comment: Option<String>,
    pub loss_approver_id: Option<Uuid>,
    pub stage_entered_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub expected_close_on: chrono::NaiveDate,
    /// The current stage's chance, in percent, of being won.
    pub probability: u8,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The scenario's stages with the current one marked (the progress bar).
    pub stages: Vec<StageProgress>,
    pub health: Health,
    pub next_interaction: Option<NextInteraction>,
}

pub(super) fn progress(def: &Scenario, current: &str) -> Vec<StageProgress> {
    def.stages
        .iter()
        .map(|s| StageProgress {
            code: s.code.clone(),
            name: s.name.clone(),
            kind: s.kind,
            current: s.code == current,
        })
        .collect()
}

/// The due times that make an interest's health: open tasks and planned interactions.
pub(super) fn health_of(
    now: DateTime<Utc>,
    tz: Tz,
    tasks: &[crm_store::rows::TaskRow],
    planned: &[InteractionRow],
) -> Health {
    crm_domain::health::judge(
        now,
        tz,
        tasks
            .iter()
            .map(|t| t.due_at.and_utc())
            .chain(planned.iter().filter_map(|i| i.planned_at.map(|p| p.and_utc()))),
    )
}

pub(super) fn next_of(planned: &[InteractionRow]) -> Option<NextInteraction> {
    planned.first().map(|i| NextInteraction {
        id: i.id.0,
        kind: i.kind.clone(),
        subject: i.subject.clone(),
        planned_at: i.planned_at.map(|p| p.and_utc()),
    })
}

/// What an interest's read model needs beyond its row.
pub(super) struct Extras<'a> {
    tasks: &'a [crm_store::rows::TaskRow],
    planned: &'a [InteractionRow],
    tz: Tz,
}

pub(super) fn build(
    row: InterestRow,
    def: &Scenario,
    now: DateTime<Utc>,
    extras: Extras<'_>,
) -> Result<InterestView, AppError> {
    Ok(InterestView {
        id: row.id.0,
        scenario_id: row.scenario_id.0,
        state: state_of(&row)?,
        stages: progress(def, &row.stage),
        health: health_of(now, extras.tz, extras.tasks, extras.planned),
        next_interaction: next_of(extras.planned),
        probability: def.probability(&row.stage).unwrap_or(0),
        expected_close_on: row.expected_close_on,
        stage: row.stage,
        pending_stage: row.pending_stage,
        title: row.title,
        potential_amount: row.potential_minor.map(Money::from_minor),
        currency: row.currency,
        service_type: row.service_type,
        client_id: row.client_id.map(Into::into),
        contact_id: row.contact_id.map(Into::into),
        responsible_id: row.responsible_id.0,
        loss_reason_id: row.loss_reason_id.map(Into::into),
        loss_comment: row.loss_comment,
        loss_approver_id: row.loss_approver_id.map(Into::into),
        stage_entered_at: row.stage_entered_at.and_utc(),
        closed_at: row.closed_at.map(|t| t.and_utc()),
        version: row.version,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    })
}

pub(crate) fn view(
    conn: &mut DbConnection,
    row: InterestRow,
    def: &Scenario,
    now: DateTime<Utc>,
    fallback: Tz,
) -> Result<InterestView, AppError> {
    let tasks = q::open_tasks_of(conn, &[row.id])?;
    let planned = q::planned_interactions(conn, &[row.id])?;
    let tz = user_tz(conn, row.responsible_id, fallback)?;
    build(row, def, now, Extras { tasks: &tasks, planned: &planned, tz })
}

/// Open tasks, planned interactions and responsible people of a set of
/// interests, each in one query: pages and boards never query per card.
pub(super) struct Related {
    tasks: HashMap<DbUuid, Vec<crm_store::rows::TaskRow>>,
    planned: HashMap<DbUuid, Vec<InteractionRow>>,
    people: HashMap<DbUuid, (String, Tz)>,
}

impl Related {
    pub(super) fn load(
        conn: &mut DbConnection,
        rows: &[&InterestRow],
        fallback: Tz,
    ) -> Result<Self, AppError> {
        let mut related = Related { tasks: HashMap::new(), planned: HashMap::new(), people: HashMap::new() };
        if rows.is_empty() {
            return Ok(related);
        }
        let ids: Vec<DbUuid> = rows.iter().map(|r| r.id).collect();
        for t in q::open_tasks_of(conn, &ids)? {
            if let Some(i) = t.interest_id {
                related.tasks.entry(i).or_default().push(t);
            }
        }
        for i in q::planned_interactions(conn, &ids)? {
            related.planned.entry(i.interest_id).or_default().push(i);
        }
        let mut people: Vec<DbUuid> = rows.iter().map(|r| r.responsible_id).collect();
        people.sort();
        people.dedup();
        for u in uq::find_many(conn, &people)? {
            let tz = u.time_zone.parse::<Tz>().unwrap_or(fallback);
            related.people.insert(u.id, (u.name, tz));
        }
        Ok(related)
    }

    pub(super) fn tasks(&self, id: DbUuid) -> &[crm_store::rows::TaskRow] {
        self.tasks.get(&id).map(Vec::as_slice).unwrap_or_default()
    }

    pub(super) fn planned(&self, id: DbUuid) -> &[InteractionRow] {
        self.planned.get(&id).map(Vec::as_slice).unwrap_or_default()
    }

    pub(super) fn person(&self, id: DbUuid, fallback: Tz) -> (String, Tz) {
        self.people.get(&id).cloned().unwrap_or_else(|| (String::new(), fallback))
    }
}

/// Read models for a page of interests in a fixed number of queries.
pub(super) fn views(
    conn: &mut DbConnection,
    rows: Vec<InterestRow>,
    now: DateTime<Utc>,
    fallback: Tz,
) -> Result<Vec<InterestView>, AppError> {
    let related = Related::load(conn, &rows.iter().collect::<Vec<_>>(), fallback)?;
    let mut defs: HashMap<DbUuid, Scenario> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if let std::collections::hash_map::Entry::Vacant(e) = defs.entry(row.scenario_id) {
            let s = q::find_scenario(conn, row.scenario_id)?.ok_or(AppError::NotFound("scenario"))?;
            e.insert(parse_definition(&s.definition)?);
        }
        let def = defs.get(&row.scenario_id).ok_or(AppError::NotFound("scenario"))?;
        let (id, responsible) = (row.id, row.responsible_id);
        let extras = Extras {
            tasks: related.tasks(id),
            planned: related.planned(id),
            tz: related.person(responsible, fallback).1,
        };
        out.push(build(row, def, now, extras)?);
    }
    Ok(out)
}

pub(super) fn event_payload(row: &InterestRow) -> serde_json::Value {
    serde_json::json!({
        "id": row.id.0, "scenario_id": row.scenario_id.0, "stage": row.stage, "state": row.state.as_str(),
        "title": row.title, "potential_minor": row.potential_minor, "currency": row.currency,
        "responsible_id": row.responsible_id.0, "client_id": row.client_id.map(|c| c.0), "version": row.version,
        "expected_close_on": row.expected_close_on,
    })
}

/// The read model of one interest inside a transaction.
pub(crate) fn interest_view_in(
    conn: &mut DbConnection,
    id: DbUuid,
    now: DateTime<Utc>,
    fallback: Tz,
) -> Result<InterestView, AppError> {
    let row = q::find_interest(conn, id)?.ok_or(AppError::NotFound("interest"))?;
    let def = parse_definition(
        &q::find_scenario(conn, row.scenario_id)?.ok_or(AppError::NotFound("scenario"))?.definition,
    )?;
    view(conn, row, &def, now, fallback)
}
