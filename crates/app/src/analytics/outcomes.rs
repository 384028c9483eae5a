//! How deals end and will end: the win rate, why deals are lost, and the
//! forecast of open deals weighted by their stage's probability.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use crm_scenario::Scenario;
use crm_store::queries::analytics::{self as q, DealFacts};
use crm_store::queries::sales as sq;
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use super::{cycle_seconds, mean_days, percent, report, Period, ReportFilter, Sums};
use crate::identity::principal::Principal;
use crate::platform::error::AppError;
use crate::sales::parse_definition;
use crate::App;

/// Scenario definitions by id, each read once per report.
#[derive(Default)]
struct Scenarios(HashMap<DbUuid, Option<Scenario>>);

impl Scenarios {
    fn get(&mut self, conn: &mut DbConnection, id: DbUuid) -> Result<Option<&Scenario>, AppError> {
        let def = match self.0.entry(id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(match sq::find_scenario(conn, id)? {
                Some(row) => Some(parse_definition(&row.definition)?),
                None => None,
            }),
        };
        Ok(def.as_ref())
    }
}

#[derive(Debug, Clone)]
pub struct WinRate {
    pub period: Period,
    pub won: usize,
    pub lost: usize,
    /// won / (won + lost), in percent; `None` when nothing closed.
    pub win_rate: Option<f64>,
    /// From creation to closing, over the won and the lost alike.
    pub average_cycle_days: Option<f64>,
    pub won_average_cycle_days: Option<f64>,
    /// The won interests' amounts (their orders' revenue), per currency.
    pub won_amount: Sums,
}

/// Of the interests closed in the period, the share won, with the counts and
/// the average cycle from creation to closing.
pub fn win_rate(app: &App, actor: &Principal, filter: &ReportFilter) -> Result<WinRate, AppError> {
    report(app, actor, filter, |conn, period, scope| {
        let closed = q::interests_closed_between(conn, &scope, period.start, period.end)?;
        let (won, lost): (Vec<&DealFacts>, Vec<&DealFacts>) = closed.iter().partition(|d| d.state == "won");
        let mut won_amount = Sums::default();
        for d in &won {
            won_amount.add(&d.currency, i128::from(d.potential_minor.unwrap_or(0)));
        }
        let all: Vec<i64> = closed.iter().map(cycle_seconds).collect();
        let won_spans: Vec<i64> = won.iter().map(|d| cycle_seconds(d)).collect();
        Ok(WinRate {
            period,
            won: won.len(),
            lost: lost.len(),
            win_rate: percent(won.len(), closed.len()),
            average_cycle_days: mean_days(&all),
            won_average_cycle_days: mean_days(&won_spans),
            won_amount,
        })
    })
}

/// Where losses of one reason happened.
#[derive(Debug, Clone)]
pub struct LossStage {
    pub code: String,
    pub name: String,
    pub count: usize,
}

#[derive(Debug, Clone)]
pub struct LossReasonFigures {
    /// `None`: losses recorded without a reason (before reasons were kept).
    pub reason_id: Option<Uuid>,
    pub name: Option<String>,
    pub count: usize,
    /// The potential of the lost interests, per currency.
    pub potential: Sums,
    /// The stages they were lost from, most first.
    pub stages: Vec<LossStage>,
}

#[derive(Debug, Clone)]
pub struct LossReasons {
    pub period: Period,
    pub lost: usize,
    /// Most frequent first.
    pub reasons: Vec<LossReasonFigures>,
}

/// One reason's count, potential lost, and stages (code → name and count).
type ReasonTally = (usize, Sums, BTreeMap<String, (String, usize)>);

/// The interests lost in the period, per loss reason: how many, the
/// potential lost, and the stages they were lost from (read from the move
/// into the lost stage).
pub fn loss_reasons(app: &App, actor: &Principal, filter: &ReportFilter) -> Result<LossReasons, AppError> {
    report(app, actor, filter, |conn, period, scope| {
        let lost: Vec<DealFacts> = q::interests_closed_between(conn, &scope, period.start, period.end)?
            .into_iter()
            .filter(|d| d.state == "lost")
            .collect();
        // The last move into the stage each is lost on.
        let lost_from: HashMap<DbUuid, String> = q::lost_from(conn, &scope, period.start, period.end)?
            .into_iter()
            .filter_map(|(id, from)| from.map(|f| (id, f)))
            .collect();
        let names: HashMap<DbUuid, String> = q::loss_reason_names(conn)?.into_iter().collect();
        let mut scenarios = Scenarios::default();
        let mut by_reason: BTreeMap<Option<DbUuid>, ReasonTally> = BTreeMap::new();
        for d in &lost {
            let entry = by_reason.entry(d.loss_reason_id).or_default();
            entry.0 += 1;
            entry.1.add(&d.currency, i128::from(d.potential_minor.unwrap_or(0)));
            if let Some(code) = lost_from.get(&d.id) {
                let name = scenarios
                    .get(conn, d.scenario_id)?
                    .and_then(|s| s.stage(code))
                    .map_or_else(|| code.clone(), |s| s.name.clone());
                entry.2.entry(code.clone()).or_insert((name, 0)).1 += 1;
            }
        }
        let mut reasons: Vec<LossReasonFigures> = by_reason
            .into_iter()
            .map(|(id, (count, potential, stages))| {
                let mut stages: Vec<LossStage> =
                    stages.into_iter().map(|(code, (name, count))| LossStage { code, name, count }).collect();
                stages.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
                LossReasonFigures {
                    reason_id: id.map(Into::into),
                    name: id.and_then(|i| names.get(&i).cloned()),
                    count,
                    potential,
                    stages,
                }
            })
            .collect();
        reasons.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        Ok(LossReasons { period, lost: lost.len(), reasons })
    })
}

/// One month of the forecast.
#[derive(Debug, Clone)]
pub struct ForecastMonth {
    /// The month's days inside the period.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Open interests expected to close in these days.
    pub open: usize,
    /// Their potential, unweighted.
    pub potential: Sums,
    /// Their potential, each weighted by its stage's probability.
    pub weighted: Sums,
    /// Interests already won in these days, and their amounts.
    pub won: usize,
    pub won_amount: Sums,
}

#[derive(Debug, Clone)]
pub struct Forecast {
    pub period: Period,
    pub months: Vec<ForecastMonth>,
}

/// `minor × percent / 100`, rounded half away from zero.
pub fn weigh(minor: i64, percent: u8) -> i128 {
    let product = i128::from(minor) * i128::from(percent);
    let half = if product < 0 { -50 } else { 50 };
    (product + half) / 100
}

/// By month of `expected_close_on`: the open interests' potential beside
/// the same weighted by their stage's probability, and what was won.
pub fn forecast(app: &App, actor: &Principal, filter: &ReportFilter) -> Result<Forecast, AppError> {
    report(app, actor, filter, |conn, period, scope| {
        let mut months: Vec<ForecastMonth> = period
            .months()
            .into_iter()
            .map(|(from, to)| ForecastMonth {
                from,
                to,
                open: 0,
                potential: Sums::default(),
                weighted: Sums::default(),
                won: 0,
                won_amount: Sums::default(),
            })
            .collect();
        let month_of = |months: &[ForecastMonth], day: NaiveDate| {
            months.iter().position(|m| m.from <= day && day <= m.to)
        };
        let mut scenarios = Scenarios::default();
        for d in q::open_interests_closing_between(conn, &scope, period.from, period.to)? {
            let Some(i) = month_of(&months, d.expected_close_on) else { continue };
            let probability =
                scenarios.get(conn, d.scenario_id)?.and_then(|s| s.probability(&d.stage)).unwrap_or(0);
            let minor = d.potential_minor.unwrap_or(0);
            let m = &mut months[i];
            m.open += 1;
            m.potential.add(&d.currency, i128::from(minor));
            m.weighted.add(&d.currency, weigh(minor, probability));
        }
        for d in q::interests_closed_between(conn, &scope, period.start, period.end)? {
            if d.state != "won" {
                continue;
            }
            let Some(closed) = d.closed_at else { continue };
            let day = closed.and_utc().with_timezone(&period.tz).date_naive();
            let Some(i) = month_of(&months, day) else { continue };
            months[i].won += 1;
            months[i].won_amount.add(&d.currency, i128::from(d.potential_minor.unwrap_or(0)));
        }
        Ok(Forecast { period, months })
    })
}

#[cfg(test)]
mod tests {
    use super::weigh;

    #[test]
    fn weights_round_half_away_from_zero() {
        assert_eq!(weigh(100_000, 30), 30_000);
        assert_eq!(weigh(5, 10), 1); // 0.5 kopeck → 1
        assert_eq!(weigh(4, 10), 0);
        assert_eq!(weigh(-5, 10), -1);
        assert_eq!(weigh(i64::MAX, 100), i128::from(i64::MAX));
    }
}
