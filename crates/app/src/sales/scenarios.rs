//! Scenarios: the built-in "Typical sale" and the copies and new ones heads make.

use chrono::{DateTime, Utc};
use crm_domain::events::EventType;
use crm_domain::PersonName;
use crm_scenario::{Action, Assignee, Scenario};
use crm_store::queries::{sales as q, users as uq};
use crm_store::rows::ScenarioRow;
use crm_store::DbConnection;
use uuid::Uuid;

use super::parse_definition;
use crate::identity::permissions;
use crate::identity::principal::Principal;
use crate::platform::error::{AppError, FieldError, Problems, Unmet};
use crate::platform::outbox;
use crate::platform::page::{Page, PageRequest};
use crate::App;

pub const TYPICAL_SALE: &str = "Typical sale";

#[derive(Debug, Clone)]
pub struct ScenarioView {
    pub id: Uuid,
    pub name: String,
    pub is_default: bool,
    pub definition: Scenario,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn view(row: ScenarioRow) -> Result<ScenarioView, AppError> {
    Ok(ScenarioView {
        id: row.id.0,
        name: row.name,
        is_default: row.is_default,
        definition: parse_definition(&row.definition)?,
        version: row.version,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    })
}

/// Creates "Typical sale" when no default scenario exists (first start).
/// Several instances may race: the unique name settles it.
pub fn ensure_typical_sale(app: &App) -> Result<(), AppError> {
    let now = app.now();
    let result = app.write(|conn| {
        if q::default_scenario(conn)?.is_some() {
            return Ok(());
        }
        let definition = serde_json::to_string(&crm_scenario::typical_sale()).map_err(AppError::internal)?;
        let id = crm_domain::new_id();
        q::insert_scenario(
            conn,
            &ScenarioRow {
                id: id.into(),
                name: TYPICAL_SALE.to_owned(),
                name_key: TYPICAL_SALE.to_lowercase(),
                definition,
                is_default: true,
                version: 1,
                created_at: now.naive_utc(),
                updated_at: now.naive_utc(),
            },
        )?;
        outbox::record(
            conn,
            now,
            None,
            EventType::ScenarioCreated,
            "scenario",
            id,
            serde_json::json!({"id": id, "name": TYPICAL_SALE}),
        )
    });
    match result {
        Err(AppError::Conflict { .. }) => Ok(()),
        other => other,
    }
}

/// Checks a definition and the users it names; every problem at once.
fn check_definition(conn: &mut DbConnection, s: &Scenario) -> Result<(), AppError> {
    let mut problems: Vec<FieldError> = crm_scenario::validate(s)
        .into_iter()
        .map(|p| FieldError::new(format!("definition.{}", p.path), p.code, p.message))
        .collect();
    let mut named = Vec::new();
    let mut note = |path: String, a: &Assignee| {
        if let Assignee::User { user_id } = a {
            named.push((path, *user_id));
        }
    };
    for (i, stage) in s.stages.iter().enumerate() {
        for (j, action) in stage.on_entry.iter().enumerate() {
            match action {
                Action::CreateTask { task } => {
                    note(format!("definition.stages[{i}].on_entry[{j}].assignee"), &task.assignee)
                }
                Action::Notify { assignee, .. } => {
                    note(format!("definition.stages[{i}].on_entry[{j}].assignee"), assignee)
                }
                _ => {}
            }
        }
    }
    for (i, rule) in s.event_rules.iter().enumerate() {
        for (j, action) in rule.actions.iter().enumerate() {
            if let Action::CreateTask { task } = action {
                note(format!("definition.event_rules[{i}].actions[{j}].assignee"), &task.assignee);
            }
        }
    }
    for (path, user) in named {
        if uq::find(conn, user.into())?.is_none_or(|u| !u.active) {
            problems.push(FieldError::new(path, "unknown_user", format!("no active user {user}")));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(problems))
    }
}

pub fn list_scenarios(
    app: &App,
    actor: &Principal,
    updated_since: Option<DateTime<Utc>>,
    page: PageRequest,
) -> Result<Page<ScenarioView>, AppError> {
    actor.require(&permissions::READ_SCENARIOS)?;
    let syncs = page.syncs(updated_since);
    let since = updated_since.map(|t| t.naive_utc());
    let rows = app.read(|conn| Ok(q::list_scenarios(conn, since, page.sync_query(updated_since))?))?;
    let page = Page::from_rows(rows, page, |r| r.id.0, view);
    Ok(Page {
        items: page.items.into_iter().collect::<Result<_, _>>()?,
        next_after: page.next_after,
        next_key: page.next_key,
    }
    .keyed(syncs, |v| (v.updated_at, v.id)))
}

pub fn get_scenario(app: &App, actor: &Principal, id: Uuid) -> Result<ScenarioView, AppError> {
    actor.require(&permissions::READ_SCENARIOS)?;
    app.read(|conn| view(q::find_scenario(conn, id.into())?.ok_or(AppError::NotFound("scenario"))?))
}

pub fn create_scenario(
    app: &App,
    actor: &Principal,
    id: Option<Uuid>,
    name: &str,
    definition: Scenario,
) -> Result<ScenarioView, AppError> {
    actor.require(&permissions::WRITE_SCENARIOS)?;
    let mut p = Problems::new();
    let name = p.check("name", PersonName::parse(name));
    p.into_result()?;
    let Some(name) = name else { return Err(AppError::internal("validated name missing")) };
    let now = app.now();
    let id = id.unwrap_or_else(crm_domain::new_id);
    app.write(|conn| {
        check_definition(conn, &definition)?;
        if q::find_scenario(conn, id.into())?.is_some() {
            return Err(AppError::conflict(Some("id"), format!("a scenario with id {id} already exists")));
        }
        if q::find_scenario_by_name_key(conn, &name.key())?.is_some() {
            return Err(AppError::conflict(Some("name"), format!("a scenario named {name} already exists")));
        }
        let row = ScenarioRow {
            id: id.into(),
            name: name.as_str().to_owned(),
            name_key: name.key(),
            definition: serde_json::to_string(&definition).map_err(AppError::internal)?,
            is_default: false,
            version: 1,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
        };
        q::insert_scenario(conn, &row)?;
        outbox::record(
            conn,
            now,
            Some(actor),
            EventType::ScenarioCreated,
            "scenario",
            id,
            serde_json::json!({"id": id, "name": row.name}),
        )?;
        view(row)
    })
}

/// Replaces a scenario's name and definition. A stage that still holds
/// interests cannot be removed (409).
pub fn replace_scenario(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected_version: Option<i64>,
    name: &str,
    definition: Scenario,
) -> Result<ScenarioView, AppError> {
    actor.require(&permissions::WRITE_SCENARIOS)?;
    let mut p = Problems::new();
    let name = p.check("name", PersonName::parse(name));
    p.into_result()?;
    let Some(name) = name else { return Err(AppError::internal("validated name missing")) };
    let now = app.now();
    app.write(|conn| {
        let row = q::find_scenario(conn, id.into())?.ok_or(AppError::NotFound("scenario"))?;
        crate::platform::error::check_version(expected_version, row.version)?;
        check_definition(conn, &definition)?;
        if name.key() != row.name_key && q::find_scenario_by_name_key(conn, &name.key())?.is_some() {
            return Err(AppError::conflict(Some("name"), format!("a scenario named {name} already exists")));
        }
        let held: Vec<String> = q::stages_in_use(conn, row.id)?
            .into_iter()
            .filter(|(code, _)| definition.stage(code).is_none())
            .map(|(code, n)| format!("{code} ({n})"))
            .collect();
        if !held.is_empty() {
            return Err(AppError::conflict(
                Some("definition.stages"),
                format!("stages still holding interests cannot be removed: {}", held.join(", ")),
            ));
        }
        let json = serde_json::to_string(&definition).map_err(AppError::internal)?;
        if q::update_scenario(conn, row.id, row.version, name.as_str(), &name.key(), &json, now.naive_utc())?
            != 1
        {
            return Err(AppError::PreconditionFailed { expected: row.version, current: row.version + 1 });
        }
        let updated = q::find_scenario(conn, row.id)?.ok_or(AppError::NotFound("scenario"))?;
        outbox::record(
            conn,
            now,
            Some(actor),
            EventType::ScenarioUpdated,
            "scenario",
            id,
            serde_json::json!({"id": id, "name": updated.name, "version": updated.version}),
        )?;
        view(updated)
    })
}

/// Copies a scenario under a new name, as the start of a variant.
pub fn copy_scenario(app: &App, actor: &Principal, id: Uuid, name: &str) -> Result<ScenarioView, AppError> {
    actor.require(&permissions::WRITE_SCENARIOS)?;
    let source =
        app.read(|conn| view(q::find_scenario(conn, id.into())?.ok_or(AppError::NotFound("scenario"))?))?;
    create_scenario(app, actor, None, name, source.definition)
}

/// The scenario a new interest goes to, and its definition.
pub(crate) fn scenario_for(
    conn: &mut DbConnection,
    id: Option<Uuid>,
) -> Result<(ScenarioRow, Scenario), AppError> {
    let row = match id {
        Some(id) => q::find_scenario(conn, id.into())?.ok_or_else(|| {
            AppError::Rules(vec![Unmet::new("scenario_exists", format!("scenario {id} does not exist"))])
        })?,
        None => q::default_scenario(conn)?.ok_or_else(|| AppError::internal("no default scenario"))?,
    };
    let def = parse_definition(&row.definition)?;
    Ok((row, def))
}
