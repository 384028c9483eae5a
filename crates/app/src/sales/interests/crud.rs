//! Creating, reading, listing and changing interests.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use crm_domain::events::EventType;
use crm_domain::status::TimelineKind;
use crm_domain::{Money, Role};
use crm_scenario::InterestState;
use crm_store::queries::sales as q;
use crm_store::queries::sales::InterestFilter;
use crm_store::rows::InterestRow;
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use super::*;
use crate::identity::permissions;
use crate::identity::policy::{self, visibility, Visibility};
use crate::identity::principal::Principal;
use crate::platform::error::{AppError, Problems, Unmet};
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::sales::scenarios::scenario_for;
use crate::sales::{apply_effects, parse_definition, state_of, timeline, user_tz, visible_interest};
use crate::App;

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
    /// When the deal should close; absent: today + the scenario's cycle.
    pub expected_close_on: Option<NaiveDate>,
}

/// An expected close date is today or later in the responsible's zone, and
/// within ten years: a date already gone would put the deal in no forecast.
pub(super) fn check_expected_close(on: NaiveDate, today: NaiveDate) -> Result<NaiveDate, AppError> {
    if on < today {
        return Err(AppError::field("expected_close_on", "in_the_past", format!("use {today} or later")));
    }
    if on > today + chrono::Days::new(3653) {
        return Err(AppError::field("expected_close_on", "too_far", "at most ten years ahead"));
    }
    Ok(on)
}

pub(super) fn check_title(p: &mut Problems, field: &str, title: &str) -> String {
    let t = title.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() {
        p.push(field, "blank", "must not be blank");
    } else if t.chars().count() > 200 {
        p.push(field, "too_long", "must be at most 200 characters");
    }
    t
}

pub(super) fn check_service_type(p: &mut Problems, raw: &str) -> Option<String> {
    let s = raw.trim();
    if s.chars().count() > 100 {
        p.push("service_type", "too_long", "must be at most 100 characters");
    }
    (!s.is_empty()).then(|| s.to_owned())
}

/// Who may be made responsible by this actor: managers only themselves,
/// heads people of their departments, admins, integrations and keys anyone.
pub(super) fn may_assign(vis: &Visibility, actor: &Principal, user: Uuid) -> bool {
    match actor {
        Principal::User(u) if u.role == Role::Manager => u.id == user,
        _ => vis.allows(user),
    }
}

/// A client or contact an interest names must exist and be visible to the actor.
pub(super) fn check_parties(
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
        if !crate::parties::contacts::contact_visible(conn, actor, c)? {
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
    let currency = p
        .check(
            "currency",
            crm_domain::Currency::parse(input.currency.as_deref().unwrap_or(crm_domain::Currency::RUB)),
        )
        .map(crm_domain::Currency::into_string)
        .unwrap_or_default();
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
    let today = now.with_timezone(&tz).date_naive();
    let expected_close_on = match input.expected_close_on {
        Some(on) => check_expected_close(on, today)?,
        None => today + chrono::Days::new(u64::from(def.cycle_days())),
    };
    let mut row = InterestRow {
        id: id.into(),
        scenario_id: scenario_row.id,
        stage: first.clone(),
        state: InterestState::Active.into(),
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
        expected_close_on,
    };
    q::insert_interest(conn, &row)?;
    crate::sales::record_move(conn, Some(actor), now, &row, None, &serde_json::json!({}))?;
    timeline(
        conn,
        row.id,
        Some(actor),
        now,
        TimelineKind::Created,
        format!("Interest \"{}\" created", row.title),
        event_payload(&row),
    )?;
    // Entering the first stage: skip the EnterStage effect (already there), run its actions.
    let actions =
        effects.into_iter().filter(|e| !matches!(e, crm_scenario::Effect::EnterStage { .. })).collect();
    apply_effects(conn, Some(actor), now, &def, &mut row, actions, &serde_json::json!({}))?;
    q::update_interest(conn, &row, row.version)?;
    outbox::record(conn, now, Some(actor), EventType::InterestCreated, "interest", id, event_payload(&row))?;
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
pub(super) fn responsible_filter(
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
            .map_err(|_| AppError::malformed("responsible", "invalid", "use me, department or a user id"))?,
    };
    // Someone the actor cannot see yields an empty list, not an error: no leak.
    Ok(Some(if vis.allows(wanted) { vec![wanted.into()] } else { Vec::new() }))
}

pub(super) fn states_filter(raw: Option<&str>) -> Result<Option<Vec<String>>, AppError> {
    Ok(match raw {
        None => None,
        Some("open") => Some(vec![
            InterestState::Active.as_str().to_owned(),
            InterestState::AwaitingLossApproval.as_str().to_owned(),
        ]),
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
        let syncs = page.syncs(filter.updated_since);
        let rows = q::list_interests(conn, &store_filter, page.sync_query(filter.updated_since))?;
        let page = Page::from_rows(rows, page, |r| r.id.0, |r| r);
        let items = views(conn, page.items, now, fallback)?;
        Ok(Page { items, next_after: page.next_after, next_key: page.next_key }
            .keyed(syncs, |v| (v.updated_at, v.id)))
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
    pub expected_close_on: Option<NaiveDate>,
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
                && crate::sales::coverage(conn, row.id)?.orders > 0
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
        if let Some(on) = changes.expected_close_on {
            if on != row.expected_close_on {
                let tz = user_tz(conn, row.responsible_id, fallback)?;
                row.expected_close_on = check_expected_close(on, now.with_timezone(&tz).date_naive())?;
                changed.push("expected_close_on");
            }
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
                TimelineKind::Updated,
                format!("Changed {}", changed.join(", ")),
                serde_json::json!({"fields": changed, "before": before, "after": event_payload(&row)}),
            )?;
        }
        outbox::record(conn, now, Some(actor), EventType::InterestUpdated, "interest", id, event_payload(&row))?;
        let def = parse_definition(
            &q::find_scenario(conn, row.scenario_id)?.ok_or(AppError::NotFound("scenario"))?.definition,
        )?;
        view(conn, row, &def, now, fallback)
    })
}
