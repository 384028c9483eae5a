//! How deals move and end: funnel, time in stage, win rate, loss reasons, forecast.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use crm_app::analytics::{funnel as fq, outcomes as oq};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::export::{currencies, money_cells, money_header, Cell, Table};
use super::{answer, period_dto, sums, PeriodDto, ReportParams};
use crate::error::ApiError;
use crate::extract::{AppState, Auth};
use crate::routes::sales::board::CurrencySumDto;
use crate::routes::sales::scenarios::StageKindDto;

#[derive(Debug, Serialize, ToSchema)]
pub struct FunnelStageDto {
    #[schema(example = "proposal")]
    pub code: String,
    #[schema(example = "Proposal")]
    pub name: String,
    pub kind: StageKindDto,
    /// Interests that reached this stage in the period (entering a later
    /// stage, or winning, counts as passing it).
    #[schema(example = 12)]
    pub reached: usize,
    /// Their potential amounts, per currency.
    pub potential: Vec<CurrencySumDto>,
    /// Percent of them that reached the next stage; null on the won stage or when none reached this one.
    #[schema(example = 66.7)]
    pub to_next: Option<f64>,
    /// Percent of them won in the period.
    #[schema(example = 25.0)]
    pub to_won: Option<f64>,
    /// Interests lost in the period from this stage.
    #[schema(example = 2)]
    pub lost_here: usize,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"period": {"from": "2026-11-01", "to": "2026-11-30", "time_zone": "Europe/Moscow"},
    "scenario_id": "0193a1b2-0000-7000-8000-000000000001", "scenario_name": "Typical sale", "interests": 4, "lost": 1,
    "stages": [
        {"code": "request", "name": "Request", "kind": "open", "reached": 4, "potential": [{"currency": "RUB", "sum": "400000.00"}], "to_next": 75.0, "to_won": 25.0, "lost_here": 1},
        {"code": "proposal", "name": "Proposal", "kind": "open", "reached": 3, "potential": [{"currency": "RUB", "sum": "300000.00"}], "to_next": 33.3, "to_won": 33.3, "lost_here": 0},
        {"code": "payment", "name": "Payment", "kind": "open", "reached": 1, "potential": [{"currency": "RUB", "sum": "100000.00"}], "to_next": 100.0, "to_won": 100.0, "lost_here": 0},
        {"code": "shipment", "name": "Shipment", "kind": "open", "reached": 1, "potential": [{"currency": "RUB", "sum": "100000.00"}], "to_next": 100.0, "to_won": 100.0, "lost_here": 0},
        {"code": "won", "name": "Won", "kind": "won", "reached": 1, "potential": [{"currency": "RUB", "sum": "100000.00"}], "to_next": null, "to_won": null, "lost_here": 0}]}))]
pub struct FunnelDto {
    pub period: PeriodDto,
    pub scenario_id: Uuid,
    pub scenario_name: String,
    /// Interests that moved at least once in the period.
    pub interests: usize,
    /// The open stages in order, then the won stage.
    pub stages: Vec<FunnelStageDto>,
    /// Interests lost in the period.
    pub lost: usize,
}

/// The funnel of a scenario.
///
/// Per stage: the interests that reached it in the period, their potential,
/// and the share that went on to the next stage and to won. Computed from the
/// stage-move log: an interest that entered a later stage counts as having
/// passed the earlier open ones (skipped ones too); a won one passes every
/// open stage; a lost one counts up to the furthest stage it entered in the
/// period, and as `lost_here` at the stage it was lost from.
#[utoipa::path(get, path = "/api/v1/analytics/funnel", operation_id = "getFunnel", tag = "analytics",
    params(ReportParams), responses((status = 200, description = "The funnel", body = FunnelDto)))]
pub async fn funnel(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    query: web::Query<ReportParams>,
) -> Result<HttpResponse, ApiError> {
    let shape = |f: fq::Funnel| FunnelDto {
        period: period_dto(&f.period),
        scenario_id: f.scenario_id,
        scenario_name: f.scenario_name,
        interests: f.interests,
        lost: f.lost,
        stages: f
            .stages
            .into_iter()
            .map(|s| FunnelStageDto {
                code: s.code,
                name: s.name,
                kind: crate::routes::sales::interests::kind_dto(s.kind),
                reached: s.reached,
                potential: sums(&s.potential),
                to_next: s.to_next,
                to_won: s.to_won,
                lost_here: s.lost_here,
            })
            .collect(),
    };
    answer(state, req, auth, query.into_inner(), fq::funnel, shape, funnel_table).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StageDurationDto {
    #[schema(example = "proposal")]
    pub code: String,
    #[schema(example = "Proposal")]
    pub name: String,
    /// Stays on the stage that ended (the interest moved on, was won or lost) in the period.
    #[schema(example = 5)]
    pub completed: usize,
    /// Days, to two decimals; null when no stay ended.
    #[schema(example = 3.5)]
    pub mean_days: Option<f64>,
    #[schema(example = 2.0)]
    pub median_days: Option<f64>,
    /// Interests on the stage now — not mixed into the figures above.
    #[schema(example = 2)]
    pub current: usize,
    /// How long those have been on it so far, on average.
    #[schema(example = 4.25)]
    pub current_mean_days: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"period": {"from": "2026-11-01", "to": "2026-11-30", "time_zone": "Europe/Moscow"},
    "scenario_id": "0193a1b2-0000-7000-8000-000000000001", "scenario_name": "Typical sale",
    "stages": [{"code": "request", "name": "Request", "completed": 5, "mean_days": 3.5, "median_days": 2.0, "current": 2, "current_mean_days": 4.25}]}))]
pub struct StageDurationsDto {
    pub period: PeriodDto,
    pub scenario_id: Uuid,
    pub scenario_name: String,
    /// The open stages in order.
    pub stages: Vec<StageDurationDto>,
}

/// Time in stage.
///
/// Per open stage of a scenario: the mean and median days from entering the
/// stage to leaving it, over the stays that ended in the period (a loss that
/// was not approved does not end a stay); the interests on the stage now are
/// reported apart, with their time so far.
#[utoipa::path(get, path = "/api/v1/analytics/stage-durations", operation_id = "getStageDurations", tag = "analytics",
    params(ReportParams), responses((status = 200, description = "Time in stage", body = StageDurationsDto)))]
pub async fn stage_durations(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    query: web::Query<ReportParams>,
) -> Result<HttpResponse, ApiError> {
    let shape = |d: fq::StageDurations| StageDurationsDto {
        period: period_dto(&d.period),
        scenario_id: d.scenario_id,
        scenario_name: d.scenario_name,
        stages: d
            .stages
            .into_iter()
            .map(|s| StageDurationDto {
                code: s.code,
                name: s.name,
                completed: s.completed,
                mean_days: s.mean_days,
                median_days: s.median_days,
                current: s.current,
                current_mean_days: s.current_mean_days,
            })
            .collect(),
    };
    answer(state, req, auth, query.into_inner(), fq::stage_durations, shape, stage_durations_table).await
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"period": {"from": "2026-11-01", "to": "2026-11-30", "time_zone": "Europe/Moscow"},
    "won": 3, "lost": 1, "win_rate": 75.0, "average_cycle_days": 12.5, "won_average_cycle_days": 10.0,
    "won_amount": [{"currency": "RUB", "sum": "1250000.00"}]}))]
pub struct WinRateDto {
    pub period: PeriodDto,
    /// Interests won in the period.
    pub won: usize,
    /// Interests lost in the period (losses approved in it).
    pub lost: usize,
    /// won / (won + lost), in percent to one decimal; null when nothing closed.
    pub win_rate: Option<f64>,
    /// Days from creation to closing, won and lost alike.
    pub average_cycle_days: Option<f64>,
    /// The same, of the won only.
    pub won_average_cycle_days: Option<f64>,
    /// What the won interests brought (their orders' revenue), per currency.
    pub won_amount: Vec<CurrencySumDto>,
}

/// Win rate.
///
/// Of the interests closed in the period: how many were won and lost, the
/// share won, the average cycle from creation to closing, and the revenue won.
#[utoipa::path(get, path = "/api/v1/analytics/win-rate", operation_id = "getWinRate", tag = "analytics",
    params(ReportParams), responses((status = 200, description = "The win rate", body = WinRateDto)))]
pub async fn win_rate(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    query: web::Query<ReportParams>,
) -> Result<HttpResponse, ApiError> {
    let shape = |w: oq::WinRate| WinRateDto {
        period: period_dto(&w.period),
        won: w.won,
        lost: w.lost,
        win_rate: w.win_rate,
        average_cycle_days: w.average_cycle_days,
        won_average_cycle_days: w.won_average_cycle_days,
        won_amount: sums(&w.won_amount),
    };
    answer(state, req, auth, query.into_inner(), oq::win_rate, shape, win_rate_table).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LossStageDto {
    #[schema(example = "proposal")]
    pub code: String,
    #[schema(example = "Proposal")]
    pub name: String,
    pub count: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LossReasonFiguresDto {
    /// Null: losses recorded without a reason.
    pub reason_id: Option<Uuid>,
    #[schema(example = "Price too high")]
    pub name: Option<String>,
    pub count: usize,
    /// The lost interests' potential, per currency.
    pub potential: Vec<CurrencySumDto>,
    /// The stages they were lost from, most first.
    pub stages: Vec<LossStageDto>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"period": {"from": "2026-11-01", "to": "2026-11-30", "time_zone": "Europe/Moscow"}, "lost": 3,
    "reasons": [{"reason_id": "0193a1b2-0000-7000-8000-000000000002", "name": "Price too high", "count": 2,
        "potential": [{"currency": "RUB", "sum": "350000.00"}], "stages": [{"code": "proposal", "name": "Proposal", "count": 2}]},
        {"reason_id": "0193a1b2-0000-7000-8000-000000000003", "name": "Chose a competitor", "count": 1,
        "potential": [{"currency": "RUB", "sum": "90000.00"}], "stages": [{"code": "request", "name": "Request", "count": 1}]}]}))]
pub struct LossReasonsDto {
    pub period: PeriodDto,
    /// Interests lost in the period.
    pub lost: usize,
    /// Most frequent first.
    pub reasons: Vec<LossReasonFiguresDto>,
}

/// Loss reasons.
///
/// The interests lost in the period, per reason: how many, the potential
/// lost, and the stages they were lost from.
#[utoipa::path(get, path = "/api/v1/analytics/loss-reasons", operation_id = "getLossReasonReport", tag = "analytics",
    params(ReportParams), responses((status = 200, description = "Losses by reason", body = LossReasonsDto)))]
pub async fn loss_reasons(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    query: web::Query<ReportParams>,
) -> Result<HttpResponse, ApiError> {
    let shape = |l: oq::LossReasons| LossReasonsDto {
        period: period_dto(&l.period),
        lost: l.lost,
        reasons: l
            .reasons
            .into_iter()
            .map(|r| LossReasonFiguresDto {
                reason_id: r.reason_id,
                name: r.name,
                count: r.count,
                potential: sums(&r.potential),
                stages: r
                    .stages
                    .into_iter()
                    .map(|s| LossStageDto { code: s.code, name: s.name, count: s.count })
                    .collect(),
            })
            .collect(),
    };
    answer(state, req, auth, query.into_inner(), oq::loss_reasons, shape, loss_reasons_table).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ForecastMonthDto {
    /// The month's first day in the period.
    #[schema(example = "2026-12-01")]
    pub from: NaiveDate,
    /// The month's last day in the period.
    #[schema(example = "2026-12-31")]
    pub to: NaiveDate,
    /// Open interests expected to close in these days.
    pub open: usize,
    /// Their potential, unweighted, per currency.
    pub potential: Vec<CurrencySumDto>,
    /// Their potential, each weighted by its stage's probability (rounded to the kopeck).
    pub weighted: Vec<CurrencySumDto>,
    /// Interests won in these days.
    pub won: usize,
    pub won_amount: Vec<CurrencySumDto>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"period": {"from": "2026-12-01", "to": "2026-12-31", "time_zone": "Europe/Moscow"},
    "months": [{"from": "2026-12-01", "to": "2026-12-31", "open": 2,
        "potential": [{"currency": "RUB", "sum": "300000.00"}], "weighted": [{"currency": "RUB", "sum": "100000.00"}],
        "won": 1, "won_amount": [{"currency": "RUB", "sum": "120000.00"}]}]}))]
pub struct ForecastDto {
    pub period: PeriodDto,
    /// Every month the period touches, in order, empty ones too.
    pub months: Vec<ForecastMonthDto>,
}

/// Forecast.
///
/// By month of the interests' expected close date: the open interests'
/// potential, the same weighted by their stage's probability, and what was
/// already won in the month.
#[utoipa::path(get, path = "/api/v1/analytics/forecast", operation_id = "getForecast", tag = "analytics",
    params(ReportParams), responses((status = 200, description = "The forecast", body = ForecastDto)))]
pub async fn forecast(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    query: web::Query<ReportParams>,
) -> Result<HttpResponse, ApiError> {
    let shape = |f: oq::Forecast| ForecastDto {
        period: period_dto(&f.period),
        months: f
            .months
            .into_iter()
            .map(|m| ForecastMonthDto {
                from: m.from,
                to: m.to,
                open: m.open,
                potential: sums(&m.potential),
                weighted: sums(&m.weighted),
                won: m.won,
                won_amount: sums(&m.won_amount),
            })
            .collect(),
    };
    answer(state, req, auth, query.into_inner(), oq::forecast, shape, forecast_table).await
}

fn funnel_table(d: &FunnelDto, mut filters: Vec<(&'static str, String)>) -> Table {
    filters.push(("scenario", d.scenario_name.clone()));
    let cur = currencies(d.stages.iter().map(|s| &s.potential));
    let mut header: Vec<String> =
        ["stage", "name", "reached", "to_next", "to_won", "lost_here"].map(str::to_owned).to_vec();
    header.extend(money_header("potential", &cur));
    let rows = d
        .stages
        .iter()
        .map(|s| {
            let mut row = vec![
                s.code.as_str().into(),
                s.name.as_str().into(),
                s.reached.into(),
                s.to_next.into(),
                s.to_won.into(),
                s.lost_here.into(),
            ];
            row.extend(money_cells(&s.potential, &cur));
            row
        })
        .collect();
    Table { name: "funnel", filters, header, rows }
}

fn stage_durations_table(d: &StageDurationsDto, mut filters: Vec<(&'static str, String)>) -> Table {
    filters.push(("scenario", d.scenario_name.clone()));
    let header = ["stage", "name", "completed", "mean_days", "median_days", "current", "current_mean_days"]
        .map(str::to_owned)
        .to_vec();
    let rows = d
        .stages
        .iter()
        .map(|s| {
            vec![
                s.code.as_str().into(),
                s.name.as_str().into(),
                s.completed.into(),
                s.mean_days.into(),
                s.median_days.into(),
                s.current.into(),
                s.current_mean_days.into(),
            ]
        })
        .collect();
    Table { name: "stage-durations", filters, header, rows }
}

fn win_rate_table(d: &WinRateDto, filters: Vec<(&'static str, String)>) -> Table {
    let cur = currencies([&d.won_amount]);
    let mut header: Vec<String> = ["won", "lost", "win_rate", "average_cycle_days", "won_average_cycle_days"]
        .map(str::to_owned)
        .to_vec();
    header.extend(money_header("won_amount", &cur));
    let mut row: Vec<Cell> = vec![
        d.won.into(),
        d.lost.into(),
        d.win_rate.into(),
        d.average_cycle_days.into(),
        d.won_average_cycle_days.into(),
    ];
    row.extend(money_cells(&d.won_amount, &cur));
    Table { name: "win-rate", filters, header, rows: vec![row] }
}

fn loss_reasons_table(d: &LossReasonsDto, filters: Vec<(&'static str, String)>) -> Table {
    let cur = currencies(d.reasons.iter().map(|r| &r.potential));
    let mut header: Vec<String> = ["reason", "count", "stages"].map(str::to_owned).to_vec();
    header.extend(money_header("potential", &cur));
    let rows = d
        .reasons
        .iter()
        .map(|r| {
            let stages: Vec<String> = r.stages.iter().map(|s| format!("{}: {}", s.code, s.count)).collect();
            let mut row: Vec<Cell> = vec![
                r.name.as_deref().unwrap_or("(no reason)").into(),
                r.count.into(),
                Cell::Text(stages.join("; ")),
            ];
            row.extend(money_cells(&r.potential, &cur));
            row
        })
        .collect();
    Table { name: "loss-reasons", filters, header, rows }
}

fn forecast_table(d: &ForecastDto, filters: Vec<(&'static str, String)>) -> Table {
    let cur = currencies(d.months.iter().flat_map(|m| [&m.potential, &m.weighted, &m.won_amount]));
    let mut header: Vec<String> = ["from", "to", "open", "won"].map(str::to_owned).to_vec();
    header.extend(money_header("potential", &cur));
    header.extend(money_header("weighted", &cur));
    header.extend(money_header("won_amount", &cur));
    let rows = d
        .months
        .iter()
        .map(|m| {
            let mut row: Vec<Cell> = vec![
                Cell::Text(m.from.to_string()),
                Cell::Text(m.to.to_string()),
                m.open.into(),
                m.won.into(),
            ];
            row.extend(money_cells(&m.potential, &cur));
            row.extend(money_cells(&m.weighted, &cur));
            row.extend(money_cells(&m.won_amount, &cur));
            row
        })
        .collect();
    Table { name: "forecast", filters, header, rows }
}
