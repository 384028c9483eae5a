//! The funnel (how far deals got in a period, and how many went on) and the
//! time deals spend on each stage — both read from the stage-move log.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use crm_scenario::{Scenario, StageKind};
use crm_store::queries::analytics::{self as q, DealAmount, MoveFacts};
use crm_store::DbUuid;
use uuid::Uuid;

use super::{mean_and_median, percent, report, Period, ReportFilter, Sums};
use crate::identity::principal::Principal;
use crate::platform::error::AppError;
use crate::sales::scenarios::scenario_for;
use crate::App;

/// One stage of the funnel.
#[derive(Debug, Clone)]
pub struct FunnelStage {
    pub code: String,
    pub name: String,
    pub kind: StageKind,
    /// Interests that reached this stage in the period.
    pub reached: usize,
    /// Their potential, per currency.
    pub potential: Sums,
    /// Percent of them that reached the next stage (the won stage after the
    /// last open one); `None` on the won stage or when none reached this one.
    pub to_next: Option<f64>,
    /// Percent of them that were won in the period.
    pub to_won: Option<f64>,
    /// Interests lost in the period from this stage.
    pub lost_here: usize,
}

#[derive(Debug, Clone)]
pub struct Funnel {
    pub period: Period,
    pub scenario_id: Uuid,
    pub scenario_name: String,
    /// Interests that moved at least once in the period.
    pub interests: usize,
    /// The open stages in order, then the won stage.
    pub stages: Vec<FunnelStage>,
    /// Interests lost in the period.
    pub lost: usize,
}

/// Moves grouped per interest, in the order they were made.
fn by_interest(moves: Vec<MoveFacts>) -> BTreeMap<DbUuid, Vec<MoveFacts>> {
    let mut out: BTreeMap<DbUuid, Vec<MoveFacts>> = BTreeMap::new();
    for m in moves {
        out.entry(m.interest_id).or_default().push(m);
    }
    out
}

fn in_period(p: &Period, at: NaiveDateTime) -> bool {
    at >= p.start && at < p.end
}

/// What one interest did in the period: the furthest open stage it entered
/// (by position among the open stages), whether it was won, and the stage
/// it was lost from.
struct Reach {
    furthest: Option<usize>,
    won: bool,
    lost_from: Option<String>,
}

fn reach(def: &Scenario, open: &[&str], period: &Period, moves: &[MoveFacts]) -> Reach {
    let mut r = Reach { furthest: None, won: false, lost_from: None };
    for m in moves.iter().filter(|m| in_period(period, m.moved_at)) {
        match def.stage(&m.to_stage).map(|s| s.kind) {
            Some(StageKind::Open) => {
                let at = open.iter().position(|c| *c == m.to_stage);
                r.furthest = r.furthest.max(at);
            }
            Some(StageKind::Won) => r.won = true,
            Some(StageKind::Lost) => r.lost_from = m.from_stage.clone(),
            // A stage the scenario no longer has: its moves count nowhere.
            None => {}
        }
    }
    r
}

/// The funnel of one scenario (`scenario_id`, default the default one):
/// per stage, the interests that reached it in the period. Entering a stage
/// counts as passing every open stage before it (skipped ones too); a won
/// interest passes every open stage; a lost one counts up to the furthest
/// stage it entered in the period, and once more, as `lost_here`, at the
/// stage it was lost from.
pub fn funnel(app: &App, actor: &Principal, filter: &ReportFilter) -> Result<Funnel, AppError> {
    report(app, actor, filter, |conn, period, mut scope| {
        let (row, def) = scenario_for(conn, filter.scenario_id)?;
        scope.scenario_id = Some(row.id);
        // Reaching is judged by the moves made in the period alone.
        let mut deals: HashMap<DbUuid, DealAmount> = HashMap::new();
        let mut in_period: Vec<MoveFacts> = Vec::new();
        for (m, d) in q::moves_between_with_amounts(conn, &scope, period.start, period.end)? {
            deals.entry(d.id).or_insert(d);
            in_period.push(m);
        }
        let moves = by_interest(in_period);
        let open: Vec<&str> =
            def.stages.iter().filter(|s| s.kind == StageKind::Open).map(|s| s.code.as_str()).collect();
        let won_stage = def.stages.iter().find(|s| s.kind == StageKind::Won);
        // reached[i] for the open stages, then the won stage.
        let mut reached: Vec<Vec<&DealAmount>> = vec![Vec::new(); open.len() + 1];
        let mut lost_here: HashMap<String, usize> = HashMap::new();
        let mut lost = 0;
        for (id, deal_moves) in &moves {
            let Some(deal) = deals.get(id) else { continue };
            let r = reach(&def, &open, &period, deal_moves);
            let upto = if r.won { Some(open.len()) } else { r.furthest };
            if let Some(upto) = upto {
                for bucket in reached.iter_mut().take(upto.min(open.len().saturating_sub(1)) + 1) {
                    bucket.push(deal);
                }
            }
            if r.won {
                reached[open.len()].push(deal);
            }
            if let Some(from) = r.lost_from {
                lost += 1;
                *lost_here.entry(from).or_default() += 1;
            }
        }
        let won_count = reached[open.len()].len();
        let mut stages = Vec::new();
        let codes: Vec<&str> = open.iter().copied().chain(won_stage.map(|s| s.code.as_str())).collect();
        for (i, code) in codes.iter().enumerate() {
            let Some(stage) = def.stage(code) else { continue };
            let here = &reached[i];
            let mut potential = Sums::default();
            for d in here {
                potential.add(&d.currency, i128::from(d.potential_minor.unwrap_or(0)));
            }
            let is_won = stage.kind == StageKind::Won;
            stages.push(FunnelStage {
                code: stage.code.clone(),
                name: stage.name.clone(),
                kind: stage.kind,
                reached: here.len(),
                potential,
                to_next: if is_won { None } else { percent(reached[i + 1].len(), here.len()) },
                to_won: if is_won { None } else { percent(won_count, here.len()) },
                lost_here: lost_here.get(*code).copied().unwrap_or(0),
            });
        }
        Ok(Funnel {
            period,
            scenario_id: row.id.0,
            scenario_name: row.name,
            interests: moves.len(),
            stages,
            lost,
        })
    })
}

/// Time spent on one stage.
#[derive(Debug, Clone)]
pub struct StageDuration {
    pub code: String,
    pub name: String,
    /// Stays on this stage that ended (the interest moved on) in the period.
    pub completed: usize,
    pub mean_days: Option<f64>,
    pub median_days: Option<f64>,
    /// Interests on this stage now, apart from the above.
    pub current: usize,
    /// How long those have been on it so far, on average.
    pub current_mean_days: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct StageDurations {
    pub period: Period,
    pub scenario_id: Uuid,
    pub scenario_name: String,
    pub stages: Vec<StageDuration>,
}

/// Per open stage of a scenario: how long interests stayed on it, from each
/// move into it to the move out of it, counting the stays that ended in the
/// period; the interests on it now are counted apart with their time so far.
pub fn stage_durations(
    app: &App,
    actor: &Principal,
    filter: &ReportFilter,
) -> Result<StageDurations, AppError> {
    let now = app.now().naive_utc();
    report(app, actor, filter, |conn, period, mut scope| {
        let (row, def) = scenario_for(conn, filter.scenario_id)?;
        scope.scenario_id = Some(row.id);
        let mut stays: HashMap<String, Vec<i64>> = HashMap::new();
        for (stage, entered, left) in q::stays_ended_between(conn, &scope, period.start, period.end)? {
            // Every stage left was entered before (its creation counts), so both are there.
            if let (Some(stage), Some(entered)) = (stage, entered) {
                stays.entry(stage).or_default().push((left - entered).num_seconds());
            }
        }
        let mut current: HashMap<String, Vec<i64>> = HashMap::new();
        for (_, stage, entered) in q::open_stages(conn, &scope)? {
            current.entry(stage).or_default().push((now - entered).num_seconds().max(0));
        }
        let stages = def
            .stages
            .iter()
            .filter(|s| s.kind == StageKind::Open)
            .map(|s| {
                let done = stays.remove(&s.code).unwrap_or_default();
                let here = current.remove(&s.code).unwrap_or_default();
                let (completed, current_count) = (done.len(), here.len());
                let (mean, median) = mean_and_median(done).unzip();
                StageDuration {
                    code: s.code.clone(),
                    name: s.name.clone(),
                    completed,
                    mean_days: mean,
                    median_days: median,
                    current: current_count,
                    current_mean_days: mean_and_median(here).map(|(m, _)| m),
                }
            })
            .collect();
        Ok(StageDurations { period, scenario_id: row.id.0, scenario_name: row.name, stages })
    })
}
