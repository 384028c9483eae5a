//! Interests: creating, reading, changing, moving along the scenario, the
//! loss approval, the timeline and the board.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use crm_domain::{Health, Money, Role};
use crm_scenario::{InterestState, MoveRequest, Scenario, Snapshot, StageKind};
use crm_store::queries::sales::InterestFilter;
use crm_store::queries::{sales as q, users as uq};
use crm_store::rows::{InteractionRow, InterestRow};
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use super::scenarios::scenario_for;
use super::work::{self, InteractionKind};
use super::{apply_effects, create_task, parse_definition, state_of, timeline, user_tz, visible_interest};
use crate::identity::permissions;
use crate::identity::policy::{self, visibility, Visibility};
use crate::identity::principal::Principal;
use crate::platform::error::{AppError, Problems, Unmet};
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::App;

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
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The scenario's stages with the current one marked (the progress bar).
    pub stages: Vec<StageProgress>,
    pub health: Health,
    pub next_interaction: Option<NextInteraction>,
}

fn progress(def: &Scenario, current: &str) -> Vec<StageProgress> {
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
fn health_of(
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

fn next_of(planned: &[InteractionRow]) -> Option<NextInteraction> {
    planned.first().map(|i| NextInteraction {
        id: i.id.0,
        kind: i.kind.clone(),
        subject: i.subject.clone(),
        planned_at: i.planned_at.map(|p| p.and_utc()),
    })
}

/// What an interest's read model needs beyond its row.
struct Extras<'a> {
    tasks: &'a [crm_store::rows::TaskRow],
    planned: &'a [InteractionRow],
    tz: Tz,
}

fn build(
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

fn view(
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
struct Related {
    tasks: HashMap<DbUuid, Vec<crm_store::rows::TaskRow>>,
    planned: HashMap<DbUuid, Vec<InteractionRow>>,
    people: HashMap<DbUuid, (String, Tz)>,
}

impl Related {
    fn load(conn: &mut DbConnection, rows: &[&InterestRow], fallback: Tz) -> Result<Self, AppError> {
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

    fn tasks(&self, id: DbUuid) -> &[crm_store::rows::TaskRow] {
        self.tasks.get(&id).map(Vec::as_slice).unwrap_or_default()
    }

    fn planned(&self, id: DbUuid) -> &[InteractionRow] {
        self.planned.get(&id).map(Vec::as_slice).unwrap_or_default()
    }

    fn person(&self, id: DbUuid, fallback: Tz) -> (String, Tz) {
        self.people.get(&id).cloned().unwrap_or_else(|| (String::new(), fallback))
    }
}

/// Read models for a page of interests in a fixed number of queries.
fn views(
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

fn event_payload(row: &InterestRow) -> serde_json::Value {
    serde_json::json!({
        "id": row.id.0, "scenario_id": row.scenario_id.0, "stage": row.stage, "state": row.state,
        "title": row.title, "potential_minor": row.potential_minor, "currency": row.currency,
        "responsible_id": row.responsible_id.0, "client_id": row.client_id.map(|c| c.0), "version": row.version,
    })
}

#[derive(Debug, Clone, Default)]
pub struct NewInterest {
    pub id: Option<Uuid>,
    pub title: String,
    pub scenario_id: Option<Uuid>,
    pub potential_amount: Option<String>,
    pub currency: Option<String>,
    pub service_type: Option<String>,
    pub client_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub responsible_id: Option<Uuid>,
}

fn check_title(p: &mut Problems, field: &str, title: &str) -> String {
    let t = title.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() {
        p.push(field, "blank", "must not be blank");
    } else if t.chars().count() > 200 {
        p.push(field, "too_long", "must be at most 200 characters");
    }
    t
}

fn check_currency(p: &mut Problems, raw: &str) -> String {
    let c = raw.trim().to_uppercase();
    if c.len() != 3 || !c.chars().all(|ch| ch.is_ascii_uppercase()) {
        p.push("currency", "invalid_currency", "use an ISO 4217 code such as RUB");
    }
    c
}

fn check_service_type(p: &mut Problems, raw: &str) -> Option<String> {
    let s = raw.trim();
    if s.chars().count() > 100 {
        p.push("service_type", "too_long", "must be at most 100 characters");
    }
    (!s.is_empty()).then(|| s.to_owned())
}

/// Who may be made responsible by this actor: managers only themselves,
/// heads people of their departments, admins, integrations and keys anyone.
fn may_assign(vis: &Visibility, actor: &Principal, user: Uuid) -> bool {
    match actor {
        Principal::User(u) if u.role == Role::Manager => u.id == user,
        _ => vis.allows(user),
    }
}

/// A client or contact an interest names must exist and be visible to the actor.
fn check_parties(
    conn: &mut DbConnection,
    actor: &Principal,
    client: Option<Uuid>,
    contact: Option<Uuid>,
) -> Result<(), AppError> {
    let mut unmet = Vec::new();
    if let Some(c) = client {
        if !crate::parties::clients::client_visible(conn, actor, c)? {
            unmet.push(Unmet::new("client_exists", format!("no client {c} that you may see")));
        }
    }
    if let Some(c) = contact {
        if !crate::parties::clients::contact_visible(conn, actor, c)? {
            unmet.push(Unmet::new("contact_exists", format!("no contact {c} that you may see")));
        }
    }
    if unmet.is_empty() {
        Ok(())
    } else {
        Err(AppError::Rules(unmet))
    }
}

/// Creates an interest on its scenario's first open stage; the stage's entry rules run.
pub fn create_interest(app: &App, actor: &Principal, input: NewInterest) -> Result<InterestView, AppError> {
    let now = app.now();
    let fallback = app.settings().default_time_zone.tz();
    app.write(|conn| create_interest_in(conn, actor, input, now, fallback))
}

/// [`create_interest`] inside the caller's transaction (used when one use case makes several records).
pub(crate) fn create_interest_in(
    conn: &mut DbConnection,
    actor: &Principal,
    input: NewInterest,
    now: DateTime<Utc>,
    fallback: Tz,
) -> Result<InterestView, AppError> {
    actor.require(&permissions::WRITE_INTERESTS)?;
    let mut p = Problems::new();
    let title = check_title(&mut p, "title", &input.title);
    let potential =
        input.potential_amount.as_deref().and_then(|a| p.check("potential_amount", Money::parse(a)));
    if potential.is_some_and(|m| m.minor() < 0) {
        p.push("potential_amount", "negative", "must not be negative");
    }
    let currency = check_currency(&mut p, input.currency.as_deref().unwrap_or("RUB"));
    let service_type = input.service_type.as_deref().and_then(|s| check_service_type(&mut p, s));
    let responsible = match (input.responsible_id, actor) {
        (Some(r), _) => Some(r),
        (None, Principal::User(u)) => Some(u.id),
        (None, Principal::ApiKey(_)) => {
            p.push("responsible_id", "required", "an integration must name the responsible manager");
            None
        }
    };
    p.into_result()?;
    let Some(responsible) = responsible else {
        return Err(AppError::internal("validated responsible missing"));
    };
    let id = input.id.unwrap_or_else(crm_domain::new_id);
    let vis = visibility(conn, actor)?;
    // A known client's new interest may always go to that client's own manager
    // (a colleague takes a repeat request from the inbox): it stays where the
    // client is seen, so nothing leaks.
    let client_owner = match input.client_id {
        Some(c) => crm_store::queries::clients::find_client(conn, c.into())?
            .and_then(|c| c.responsible_id)
            .map(Uuid::from),
        None => None,
    };
    let to_client_owner = client_owner == Some(responsible);
    if !to_client_owner && !may_assign(&vis, actor, responsible) {
        return Err(AppError::Forbidden("you may not make that user responsible".to_owned()));
    }
    // The client's own manager may receive it from anyone; others only
    // from someone who may hand them work. Either way, a sales role.
    let reach = if to_client_owner { None } else { Some(actor) };
    let responsible = policy::assignable(conn, reach, responsible, "responsible", policy::Holding::Sales)?;
    if to_client_owner {
        let contact_of_client = match input.contact_id {
            Some(c) => crm_store::queries::clients::find_contact(conn, c.into())?
                .and_then(|c| c.client_id)
                .map(Uuid::from),
            None => None,
        };
        let contact = input.contact_id.filter(|_| contact_of_client != input.client_id);
        check_parties(conn, actor, None, contact)?;
    } else {
        check_parties(conn, actor, input.client_id, input.contact_id)?;
    }
    if q::find_interest(conn, id.into())?.is_some() {
        return Err(AppError::conflict(Some("id"), format!("an interest with id {id} already exists")));
    }
    let (scenario_row, def) = scenario_for(conn, input.scenario_id)?;
    let tz = user_tz(conn, responsible, fallback)?;
    let effects = crm_scenario::decide_start(&def, now, tz)
        .map_err(|u| AppError::Rules(u.into_iter().map(|u| Unmet::new(u.check, u.message)).collect()))?;
    let first = def.first_open().map(|s| s.code.clone()).unwrap_or_default();
    let mut row = InterestRow {
        id: id.into(),
        scenario_id: scenario_row.id,
        stage: first.clone(),
        state: InterestState::Active.as_str().to_owned(),
        pending_stage: None,
        title,
        potential_minor: potential.map(Money::minor),
        currency,
        service_type,
        client_id: input.client_id.map(Into::into),
        contact_id: input.contact_id.map(Into::into),
        responsible_id: responsible,
        loss_reason_id: None,
        loss_comment: None,
        loss_approver_id: None,
        stage_entered_at: now.naive_utc(),
        closed_at: None,
        version: 1,
        created_at: now.naive_utc(),
        updated_at: now.naive_utc(),
    };
    q::insert_interest(conn, &row)?;
    timeline(
        conn,
        row.id,
        Some(actor),
        now,
        "created",
        format!("Interest \"{}\" created", row.title),
        event_payload(&row),
    )?;
    // Entering the first stage: skip the EnterStage effect (already there), run its actions.
    let actions =
        effects.into_iter().filter(|e| !matches!(e, crm_scenario::Effect::EnterStage { .. })).collect();
    apply_effects(conn, Some(actor), now, &def, &mut row, actions, &serde_json::json!({}))?;
    q::update_interest(conn, &row, row.version)?;
    outbox::record(conn, now, Some(actor), "interest.created", "interest", id, event_payload(&row))?;
    view(conn, row, &def, now, fallback)
}

pub fn get_interest(app: &App, actor: &Principal, id: Uuid) -> Result<InterestView, AppError> {
    actor.require(&permissions::READ_INTERESTS)?;
    let now = app.now();
    let fallback = app.settings().default_time_zone.tz();
    app.read(|conn| {
        let (row, _) = visible_interest(conn, actor, id)?;
        let def = parse_definition(
            &q::find_scenario(conn, row.scenario_id)?.ok_or(AppError::NotFound("scenario"))?.definition,
        )?;
        view(conn, row, &def, now, fallback)
    })
}

#[derive(Debug, Clone, Default)]
pub struct InterestListFilter {
    pub scenario_id: Option<Uuid>,
    pub stage: Option<String>,
    /// `me`, `department` (everyone the actor sees) or a user id.
    pub responsible: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<Uuid>,
    pub updated_since: Option<DateTime<Utc>>,
}

/// Narrows visibility by the `responsible` filter (`me`, `department`, a user id).
fn responsible_filter(
    actor: &Principal,
    vis: &Visibility,
    raw: Option<&str>,
) -> Result<Option<Vec<DbUuid>>, AppError> {
    let me = actor.user().map(|u| u.id);
    let wanted = match raw {
        None | Some("department") | Some("all") => return Ok(vis.filter()),
        Some("me") => me.ok_or_else(|| {
            AppError::field("responsible", "invalid", "an API key is no one; name a user id")
        })?,
        Some(other) => Uuid::parse_str(other)
            .map_err(|_| AppError::field("responsible", "invalid", "use me, department or a user id"))?,
    };
    // Someone the actor cannot see yields an empty list, not an error: no leak.
    Ok(Some(if vis.allows(wanted) { vec![wanted.into()] } else { Vec::new() }))
}

fn states_filter(raw: Option<&str>) -> Result<Option<Vec<String>>, AppError> {
    Ok(match raw {
        None => None,
        Some("open") => Some(vec!["active".into(), "awaiting_loss_approval".into()]),
        Some(s) if InterestState::parse(s).is_some() => Some(vec![s.to_owned()]),
        Some(_) => {
            return Err(AppError::field(
                "state",
                "invalid",
                "use open, active, awaiting_loss_approval, won or lost",
            ))
        }
    })
}

pub fn list_interests(
    app: &App,
    actor: &Principal,
    filter: InterestListFilter,
    page: PageRequest,
) -> Result<Page<InterestView>, AppError> {
    actor.require(&permissions::READ_INTERESTS)?;
    let now = app.now();
    let fallback = app.settings().default_time_zone.tz();
    let states = states_filter(filter.state.as_deref())?;
    app.read(|conn| {
        let vis = visibility(conn, actor)?;
        let store_filter = InterestFilter {
            scenario_id: filter.scenario_id.map(Into::into),
            stage: filter.stage.clone(),
            responsible_in: responsible_filter(actor, &vis, filter.responsible.as_deref())?,
            states,
            client_id: filter.client_id.map(Into::into),
            updated_since: filter.updated_since.map(|t| t.naive_utc()),
        };
        let rows = q::list_interests(conn, &store_filter, page.query())?;
        let page = Page::from_rows(rows, page, |r| r.id.0, |r| r);
        let items = views(conn, page.items, now, fallback)?;
        Ok(Page { items, next_after: page.next_after })
    })
}

#[derive(Debug, Clone, Default)]
pub struct InterestChanges {
    pub title: Option<String>,
    pub potential_amount: Option<Option<String>>,
    pub service_type: Option<Option<String>>,
    pub client_id: Option<Option<Uuid>>,
    pub contact_id: Option<Option<Uuid>>,
    pub responsible_id: Option<Uuid>,
}

/// Changes an interest's fields. The responsible may change the deal's
/// details; handing it to someone else is for heads and admins.
pub fn update_interest(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    changes: InterestChanges,
) -> Result<InterestView, AppError> {
    actor.require(&permissions::WRITE_INTERESTS)?;
    let mut p = Problems::new();
    let title = changes.title.as_deref().map(|t| check_title(&mut p, "title", t));
    let potential = match &changes.potential_amount {
        Some(Some(a)) => Some(p.check("potential_amount", Money::parse(a)).map(Money::minor)),
        Some(None) => Some(None),
        None => None,
    };
    if potential.flatten().is_some_and(|m| m < 0) {
        p.push("potential_amount", "negative", "must not be negative");
    }
    let service_type =
        changes.service_type.as_ref().map(|s| s.as_deref().and_then(|s| check_service_type(&mut p, s)));
    p.into_result()?;
    let now = app.now();
    let fallback = app.settings().default_time_zone.tz();
    app.write(|conn| {
        let (mut row, _) = visible_interest(conn, actor, id)?;
        crate::platform::error::check_version(expected_version, row.version)?;
        if state_of(&row)? != InterestState::Active {
            return Err(AppError::rule("interest_active", "a closed or waiting interest cannot be changed"));
        }
        check_parties(conn, actor, changes.client_id.flatten(), changes.contact_id.flatten())?;
        let before = event_payload(&row);
        let mut changed = Vec::new();
        if let Some(t) = title {
            row.title = t;
            changed.push("title");
        }
        if let Some(pm) = potential {
            row.potential_minor = pm;
            changed.push("potential_amount");
        }
        if let Some(s) = service_type {
            row.service_type = s;
            changed.push("service_type");
        }
        if let Some(c) = changes.client_id {
            // Confirmed orders were issued to this client (their invoices
            // name it): the buyer of a posted document does not change.
            if c.map(DbUuid::from) != row.client_id
                && super::coverage(conn, row.id)?.orders > 0
            {
                return Err(AppError::rule(
                    "client_fixed_by_orders",
                    "the interest has confirmed orders issued to its client; cancel them before changing the client",
                ));
            }
            row.client_id = c.map(Into::into);
            changed.push("client_id");
        }
        if let Some(c) = changes.contact_id {
            row.contact_id = c.map(Into::into);
            changed.push("contact_id");
        }
        if let Some(r) = changes.responsible_id {
            let reassigning = r != row.responsible_id.0;
            if reassigning {
                let allowed = match actor {
                    // Whom they may hand it to is the assignment policy's to say (422).
                    Principal::User(u) => matches!(u.role, Role::Head | Role::Admin | Role::Integration),
                    Principal::ApiKey(_) => true,
                };
                if !allowed {
                    return Err(AppError::Forbidden(
                        "only a head or an admin may hand an interest to someone else".to_owned(),
                    ));
                }
                row.responsible_id =
                    policy::assignable(conn, Some(actor), r, "responsible", policy::Holding::Sales)?;
                changed.push("responsible_id");
            }
        }
        let version = row.version;
        row.version += 1;
        row.updated_at = now.naive_utc();
        if q::update_interest(conn, &row, version)? != 1 {
            return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
        }
        if !changed.is_empty() {
            timeline(
                conn,
                row.id,
                Some(actor),
                now,
                "updated",
                format!("Changed {}", changed.join(", ")),
                serde_json::json!({"fields": changed, "before": before, "after": event_payload(&row)}),
            )?;
        }
        outbox::record(conn, now, Some(actor), "interest.updated", "interest", id, event_payload(&row))?;
        let def = parse_definition(
            &q::find_scenario(conn, row.scenario_id)?.ok_or(AppError::NotFound("scenario"))?.definition,
        )?;
        view(conn, row, &def, now, fallback)
    })
}

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

fn snapshot(conn: &mut DbConnection, row: &InterestRow) -> Result<(Snapshot, Vec<InteractionRow>), AppError> {
    let planned = q::planned_interactions(conn, &[row.id])?;
    let orders = super::coverage(conn, row.id)?;
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

fn check_text(p: &mut Problems, field: &str, text: &str, max: usize) -> String {
    let t = text.trim().to_owned();
    if t.is_empty() {
        p.push(field, "blank", "must not be blank");
    } else if t.chars().count() > max {
        p.push(field, "too_long", format!("must be at most {max} characters"));
    }
    t
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
    let result = t.interaction_result.as_deref().map(|r| check_text(&mut p, "interaction_result", r, 2000));
    let comment = t.comment.as_deref().map(|c| check_text(&mut p, "comment", c, 2000));
    match &t.next {
        NextStep::None => {}
        NextStep::Interaction { kind, planned_at, subject } => {
            if InteractionKind::parse(kind).is_none() {
                p.push("next.type", "invalid", "use call, email, meeting, message or note");
            }
            if *planned_at < now {
                p.push("next.planned_at", "in_the_past", "plan the next interaction in the future");
            }
            check_text(&mut p, "next.subject", subject, 500);
        }
        NextStep::Task { title, due_at, .. } => {
            check_text(&mut p, "next.title", title, 200);
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
        let kind = if row.state == InterestState::AwaitingLossApproval.as_str() { "interest.loss_requested" } else { "interest.stage_changed" };
        outbox::record(conn, now, Some(actor), kind, "interest", id, event_payload(&row))?;
        view(conn, row, &def, now, fallback)
    })
}

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
    let comment = comment.as_deref().map(|c| check_text(&mut p, "comment", c, 2000));
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
                "loss_approved",
                "Loss approved".to_owned(),
            ),
            LossDecision::Return { to_stage } => (
                crm_scenario::decide_loss_return(&def, &snap, to_stage, now, tz),
                "loss_returned",
                format!("Loss not approved; returned to {to_stage}"),
            ),
        };
        let effects = effects
            .map_err(|u| AppError::Rules(u.into_iter().map(|u| Unmet::new(u.check, u.message)).collect()))?;
        super::close_open_tasks(conn, row.id, "loss_approval", now)?;
        timeline(
            conn,
            row.id,
            Some(actor),
            now,
            kind,
            summary,
            serde_json::json!({"comment": comment, "decision": kind}),
        )?;
        if matches!(decision, LossDecision::Return { .. }) {
            row.loss_reason_id = None;
            row.loss_comment = None;
        }
        let why = serde_json::json!({"comment": comment, "decision": kind});
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
            &format!("interest.{kind}"),
            "interest",
            id,
            event_payload(&row),
        )?;
        view(conn, row, &def, now, fallback)
    })
}

#[derive(Debug, Clone)]
pub struct TimelineView {
    pub id: Uuid,
    pub kind: String,
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub summary: String,
    pub details: serde_json::Value,
}

/// The interest's timeline, newest first.
pub fn interest_timeline(
    app: &App,
    actor: &Principal,
    id: Uuid,
    page: PageRequest,
) -> Result<Page<TimelineView>, AppError> {
    actor.require(&permissions::READ_INTERESTS)?;
    app.read(|conn| {
        visible_interest(conn, actor, id)?;
        let rows = q::list_timeline(conn, id.into(), page.after.map(Into::into), i64::from(page.limit) + 1)?;
        let page = Page::from_rows(
            rows,
            page,
            |r| r.id.0,
            |r| TimelineView {
                id: r.id.0,
                kind: r.kind,
                actor_kind: r.actor_kind,
                actor_id: r.actor_id.map(Into::into),
                occurred_at: r.occurred_at.and_utc(),
                summary: r.summary,
                details: serde_json::from_str(&r.payload).unwrap_or(serde_json::Value::Null),
            },
        );
        Ok(page)
    })
}

#[derive(Debug, Clone)]
pub struct BoardCard {
    pub interest_id: Uuid,
    pub title: String,
    pub client_id: Option<Uuid>,
    pub potential_amount: Option<Money>,
    pub currency: String,
    pub responsible_id: Uuid,
    pub responsible_name: String,
    pub health: Health,
    pub next_interaction: Option<NextInteraction>,
    pub no_next_step: bool,
    pub days_in_stage: i64,
    pub awaiting_approval: bool,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct BoardColumn {
    pub stage: String,
    pub name: String,
    pub kind: StageKind,
    pub count: usize,
    pub potential_sum: crm_domain::money::Total,
    pub cards: Vec<BoardCard>,
    pub next_after: Option<Uuid>,
}

#[derive(Debug, Clone)]
pub struct Board<L> {
    pub scenario_id: Uuid,
    pub scenario_name: String,
    /// The leads inbox: unprocessed leads the viewer may take (absent when one column is asked for).
    pub inbox: Option<(i64, Vec<L>)>,
    pub columns: Vec<BoardColumn>,
}

#[derive(Debug, Clone, Default)]
pub struct BoardQuery {
    pub scenario_id: Option<Uuid>,
    pub responsible: Option<String>,
    /// Only this column (to page through it with `page.after`).
    pub stage: Option<String>,
}

/// The board: one column per stage with its count, potential sum and a page
/// of cards. A fixed number of queries whatever the number of cards.
/// What the board's inbox column shows, supplied by the area that owns leads
/// (intake sits above sales, so sales asks through this port instead of
/// calling it): the count of unprocessed leads the viewer may take and the
/// first `limit` of them.
pub type Inbox<L> = fn(&mut DbConnection, &Principal, i64) -> Result<(i64, Vec<L>), AppError>;

pub fn board<L>(
    app: &App,
    actor: &Principal,
    query: BoardQuery,
    page: PageRequest,
    inbox: Inbox<L>,
) -> Result<Board<L>, AppError> {
    actor.require(&permissions::READ_BOARD)?;
    let now = app.now();
    let fallback = app.settings().default_time_zone.tz();
    app.read(|conn| {
        let (scenario_row, def) = match query.scenario_id {
            Some(id) => {
                let row = q::find_scenario(conn, id.into())?.ok_or(AppError::NotFound("scenario"))?;
                let def = parse_definition(&row.definition)?;
                (row, def)
            }
            None => scenario_for(conn, None)?,
        };
        if let Some(stage) = &query.stage {
            if def.stage(stage).is_none() {
                return Err(AppError::field(
                    "stage",
                    "unknown_stage",
                    format!("the scenario has no stage {stage:?}"),
                ));
            }
        }
        let vis = visibility(conn, actor)?;
        let responsible_in = responsible_filter(actor, &vis, query.responsible.as_deref())?;
        let base =
            InterestFilter { scenario_id: Some(scenario_row.id), responsible_in, ..Default::default() };

        let mut totals: HashMap<String, (usize, i128)> = HashMap::new();
        for (stage, count, sum) in q::stage_totals(conn, &base)? {
            totals.insert(stage, (usize::try_from(count).unwrap_or(0), sum));
        }
        let mut columns = Vec::new();
        let mut rows_by_stage = Vec::new();
        for stage in def.stages.iter().filter(|s| query.stage.as_ref().is_none_or(|only| *only == s.code)) {
            let filter = InterestFilter { stage: Some(stage.code.clone()), ..base.clone() };
            let rows = q::list_interests(conn, &filter, page.query())?;
            rows_by_stage.push((stage, Page::from_rows(rows, page, |r| r.id.0, |r| r)));
        }
        let all: Vec<&InterestRow> = rows_by_stage.iter().flat_map(|(_, p)| p.items.iter()).collect();
        let related = Related::load(conn, &all, fallback)?;
        for (stage, page) in rows_by_stage {
            let (count, sum) = totals.get(&stage.code).copied().unwrap_or_default();
            let cards = page
                .items
                .into_iter()
                .map(|r| {
                    let (tasks, planned) = (related.tasks(r.id), related.planned(r.id));
                    let (name, tz) = related.person(r.responsible_id, fallback);
                    let open = r.state == InterestState::Active.as_str()
                        || r.state == InterestState::AwaitingLossApproval.as_str();
                    BoardCard {
                        interest_id: r.id.0,
                        title: r.title.clone(),
                        client_id: r.client_id.map(Into::into),
                        potential_amount: r.potential_minor.map(Money::from_minor),
                        currency: r.currency.clone(),
                        responsible_id: r.responsible_id.0,
                        responsible_name: name,
                        health: if open { health_of(now, tz, tasks, planned) } else { Health::Green },
                        next_interaction: next_of(planned),
                        no_next_step: open && planned.is_empty(),
                        days_in_stage: (now.naive_utc() - r.stage_entered_at).num_days(),
                        awaiting_approval: r.state == InterestState::AwaitingLossApproval.as_str(),
                        version: r.version,
                    }
                })
                .collect();
            columns.push(BoardColumn {
                stage: stage.code.clone(),
                name: stage.name.clone(),
                kind: stage.kind,
                count,
                potential_sum: crm_domain::money::Total(sum),
                cards,
                next_after: page.next_after,
            });
        }
        let inbox = match query.stage {
            None => Some(inbox(conn, actor, i64::from(page.limit))?),
            Some(_) => None,
        };
        Ok(Board { scenario_id: scenario_row.id.0, scenario_name: scenario_row.name, inbox, columns })
    })
}

/// Runs a domain event's rules on an interest inside the caller's
/// transaction: a payment or a shipment (later use cases) calls this in the
/// same transaction as its own change, so the move, its tasks, the timeline
/// and the outbox commit together with it.
pub fn apply_event(
    conn: &mut DbConnection,
    actor: Option<&Principal>,
    now: DateTime<Utc>,
    fallback: Tz,
    interest: Uuid,
    event: crm_scenario::DomainEvent,
) -> Result<(), AppError> {
    q::lock_interest(conn, interest.into())?;
    let mut row = q::find_interest(conn, interest.into())?.ok_or(AppError::NotFound("interest"))?;
    let def = parse_definition(
        &q::find_scenario(conn, row.scenario_id)?.ok_or(AppError::NotFound("scenario"))?.definition,
    )?;
    let (snap, _) = snapshot(conn, &row)?;
    let tz = user_tz(conn, row.responsible_id, fallback)?;
    let effects = crm_scenario::decide_event(&def, &snap, event, now, tz);
    if effects.is_empty() {
        return Ok(());
    }
    let before = row.stage.clone();
    apply_effects(conn, actor, now, &def, &mut row, effects, &serde_json::json!({"event": event.as_str()}))?;
    let version = row.version;
    row.version += 1;
    row.updated_at = now.naive_utc();
    if q::update_interest(conn, &row, version)? != 1 {
        return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
    }
    let kind = if row.stage != before { "interest.stage_changed" } else { "interest.updated" };
    outbox::record(conn, now, actor, kind, "interest", interest, event_payload(&row))
}

/// A domain event reported from outside a use case (an integration's signal,
/// or a test): one transaction around [`apply_event`].
pub fn record_event(
    app: &App,
    interest: Uuid,
    event: crm_scenario::DomainEvent,
) -> Result<InterestView, AppError> {
    let now = app.now();
    let fallback = app.settings().default_time_zone.tz();
    app.write(|conn| {
        apply_event(conn, None, now, fallback, interest, event)?;
        let row = q::find_interest(conn, interest.into())?.ok_or(AppError::NotFound("interest"))?;
        let def = parse_definition(
            &q::find_scenario(conn, row.scenario_id)?.ok_or(AppError::NotFound("scenario"))?.definition,
        )?;
        view(conn, row, &def, now, fallback)
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
