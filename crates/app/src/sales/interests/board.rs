//! The sales board: one column per stage with counts and sums, and the
//! lead inbox supplied through a port.

use std::collections::HashMap;

use crm_domain::{Health, Money};
use crm_scenario::{InterestState, StageKind};
use crm_store::queries::sales as q;
use crm_store::queries::sales::InterestFilter;
use crm_store::rows::InterestRow;
use crm_store::DbConnection;
use uuid::Uuid;

use super::*;
use crate::identity::permissions;
use crate::identity::policy::visibility;
use crate::identity::principal::Principal;
use crate::platform::error::AppError;
use crate::platform::page::{Page, PageRequest};
use crate::sales::parse_definition;
use crate::sales::scenarios::scenario_for;
use crate::App;

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
    /// The caller stands in for the card's responsible (an absence runs).
    pub standing_in: bool,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct BoardColumn {
    pub stage: String,
    pub name: String,
    pub kind: StageKind,
    pub count: usize,
    /// The potential amounts of the column's interests, a sum per currency
    /// (sorted by currency code): amounts in two currencies never add up.
    pub potential_by_currency: Vec<(String, crm_domain::money::Total)>,
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
        let covered = match actor.user() {
            Some(me) => crm_store::queries::identity::absences::covered_by(conn, me.id.into())?,
            None => Vec::new(),
        };
        let responsible_in = responsible_filter(actor, &vis, query.responsible.as_deref())?;
        let base =
            InterestFilter { scenario_id: Some(scenario_row.id), responsible_in, ..Default::default() };

        let mut totals: HashMap<String, (usize, Vec<(String, crm_domain::money::Total)>)> = HashMap::new();
        for (stage, currency, count, sum) in q::stage_totals(conn, &base)? {
            let entry = totals.entry(stage).or_default();
            entry.0 += usize::try_from(count).unwrap_or(0);
            entry.1.push((currency, crm_domain::money::Total(sum)));
        }
        for (_, sums) in totals.values_mut() {
            sums.sort_by(|a, b| a.0.cmp(&b.0));
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
            let (count, sums) = totals.remove(&stage.code).unwrap_or_default();
            let cards = page
                .items
                .into_iter()
                .map(|r| {
                    let (tasks, planned) = (related.tasks(r.id), related.planned(r.id));
                    let (name, tz) = related.person(r.responsible_id, fallback);
                    let open =
                        r.state == InterestState::Active || r.state == InterestState::AwaitingLossApproval;
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
                        awaiting_approval: r.state == InterestState::AwaitingLossApproval,
                        standing_in: covered.contains(&r.responsible_id),
                        version: r.version,
                    }
                })
                .collect();
            columns.push(BoardColumn {
                stage: stage.code.clone(),
                name: stage.name.clone(),
                kind: stage.kind,
                count,
                potential_by_currency: sums,
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
