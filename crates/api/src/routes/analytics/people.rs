//! Who sells and from where: figures per manager and lead source, and stale interests.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use crm_app::analytics::{people as pq, ReportFilter};
use serde::Deserialize;
use serde::Serialize;
use utoipa::IntoParams;
use utoipa::ToSchema;
use uuid::Uuid;

use super::export::{self, currencies, money_cells, money_header, Cell, Table};
use super::{answer, period_dto, sums, PeriodDto, ReportParams};
use crate::error::ApiError;
use crate::extract::{AppState, Auth};
use crate::routes::sales::board::CurrencySumDto;

#[derive(Debug, Serialize, ToSchema)]
pub struct ManagerFiguresDto {
    pub user_id: Uuid,
    #[schema(example = "Иван Петров")]
    pub name: String,
    /// Leads they accepted into an interest or linked to one in the period.
    pub leads_taken: usize,
    /// Interests made in the period that they are responsible for.
    pub opened: usize,
    pub won: usize,
    pub won_amount: Vec<CurrencySumDto>,
    pub lost: usize,
    /// won / (won + lost) in percent; null when they closed nothing.
    pub win_rate: Option<f64>,
    /// Days from creation to closing of what they closed in the period.
    pub average_cycle_days: Option<f64>,
    /// Their open interests now.
    pub open: usize,
    /// Of those, the ones with a task overdue now.
    pub open_with_overdue_tasks: usize,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"period": {"from": "2026-11-01", "to": "2026-11-30", "time_zone": "Europe/Moscow"},
    "managers": [{"user_id": "0193a1b2-0000-7000-8000-000000000004", "name": "Иван Петров", "leads_taken": 5, "opened": 6,
        "won": 2, "won_amount": [{"currency": "RUB", "sum": "350000.00"}], "lost": 1, "win_rate": 66.7,
        "average_cycle_days": 11.5, "open": 7, "open_with_overdue_tasks": 2}]}))]
pub struct ManagersDto {
    pub period: PeriodDto,
    /// Every manager and head you see, by name (and anyone else holding figures).
    pub managers: Vec<ManagerFiguresDto>,
}

/// Figures per manager.
///
/// For each manager and head you see: leads taken, interests opened, won
/// (with revenue) and lost in the period, the win rate and average cycle,
/// and their open interests now with those that have an overdue task.
#[utoipa::path(get, path = "/api/v1/analytics/managers", operation_id = "getManagerReport", tag = "analytics",
    params(ReportParams), responses((status = 200, description = "Figures per manager", body = ManagersDto)))]
pub async fn managers(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    query: web::Query<ReportParams>,
) -> Result<HttpResponse, ApiError> {
    let shape = |m: pq::Managers| ManagersDto {
        period: period_dto(&m.period),
        managers: m
            .managers
            .into_iter()
            .map(|r| ManagerFiguresDto {
                user_id: r.user_id,
                name: r.name,
                leads_taken: r.leads_taken,
                opened: r.opened,
                won: r.won,
                won_amount: sums(&r.won_amount),
                lost: r.lost,
                win_rate: r.win_rate,
                average_cycle_days: r.average_cycle_days,
                open: r.open,
                open_with_overdue_tasks: r.open_with_overdue_tasks,
            })
            .collect(),
    };
    answer(state, req, auth, query.into_inner(), pq::managers, shape, managers_table).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LeadSourceDto {
    /// The channel the leads came by.
    #[schema(example = "form", value_type = crate::routes::words::LeadChannelDto)]
    pub channel: String,
    /// The form, bot, mailbox or line, when known.
    #[schema(example = "Website: request a quote")]
    pub source: Option<String>,
    pub received: usize,
    /// Accepted into an interest or linked to one, so far.
    pub taken: usize,
    /// Of their interests, those won so far, and what they brought.
    pub won: usize,
    pub won_amount: Vec<CurrencySumDto>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"period": {"from": "2026-11-01", "to": "2026-11-30", "time_zone": "Europe/Moscow"}, "received": 12,
    "sources": [{"channel": "form", "source": "Website: request a quote", "received": 8, "taken": 5, "won": 2,
        "won_amount": [{"currency": "RUB", "sum": "480000.00"}]},
        {"channel": "email", "source": null, "received": 4, "taken": 1, "won": 0, "won_amount": []}]}))]
pub struct LeadSourcesDto {
    pub period: PeriodDto,
    pub received: usize,
    /// Most leads first.
    pub sources: Vec<LeadSourceDto>,
}

/// Figures per lead source.
///
/// Per channel and source (form, bot, mailbox, line), the leads received in
/// the period: how many were taken into interests, how many of those are
/// won so far, and their revenue. A manager counts the leads assigned to
/// them; the shared inbox counts for those who see everything.
#[utoipa::path(get, path = "/api/v1/analytics/lead-sources", operation_id = "getLeadSourceReport", tag = "analytics",
    params(ReportParams), responses((status = 200, description = "Figures per lead source", body = LeadSourcesDto)))]
pub async fn lead_sources(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    query: web::Query<ReportParams>,
) -> Result<HttpResponse, ApiError> {
    let shape = |l: pq::LeadSources| LeadSourcesDto {
        period: period_dto(&l.period),
        received: l.received,
        sources: l
            .sources
            .into_iter()
            .map(|s| LeadSourceDto {
                channel: s.channel,
                source: s.source,
                received: s.received,
                taken: s.taken,
                won: s.won,
                won_amount: sums(&s.won_amount),
            })
            .collect(),
    };
    answer(state, req, auth, query.into_inner(), pq::lead_sources, shape, lead_sources_table).await
}

/// Which open interests count as stale, and whose.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StaleParams {
    /// Days with no stage move and no done interaction, 1 to 365 (default 14).
    #[param(minimum = 1, maximum = 365, example = 14)]
    pub days: Option<u32>,
    /// How many to list, 1 to 200 (default 50); the count and sums cover all.
    #[param(minimum = 1, maximum = 200, example = 50)]
    pub limit: Option<u32>,
    pub scenario_id: Option<Uuid>,
    /// Only people of this department and those below it.
    pub department_id: Option<Uuid>,
    pub responsible_id: Option<Uuid>,
    /// `json` (default), `csv` or `xlsx`; without it the `Accept` header chooses.
    pub format: Option<export::ExportFormat>,
}

impl StaleParams {
    fn shown(&self) -> Vec<(&'static str, String)> {
        let or_all = |v: Option<Uuid>| v.map_or_else(|| "all".to_owned(), |v| v.to_string());
        vec![
            ("days", self.days.unwrap_or(14).to_string()),
            ("scenario_id", or_all(self.scenario_id)),
            ("department_id", or_all(self.department_id)),
            ("responsible_id", or_all(self.responsible_id)),
        ]
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaleInterestDto {
    pub interest_id: Uuid,
    #[schema(example = "Supply of 40 office chairs")]
    pub title: String,
    #[schema(example = "proposal")]
    pub stage: String,
    pub responsible_id: Uuid,
    /// The last stage move or done interaction.
    pub last_activity_at: DateTime<Utc>,
    #[schema(example = 21.5)]
    pub idle_days: f64,
    #[schema(example = "480000.00")]
    pub potential_amount: Option<String>,
    #[schema(example = "RUB")]
    pub currency: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"days": 14, "count": 1, "at_risk": [{"currency": "RUB", "sum": "480000.00"}],
    "items": [{"interest_id": "0193a1b2-0000-7000-8000-000000000005", "title": "Supply of 40 office chairs", "stage": "proposal",
        "responsible_id": "0193a1b2-0000-7000-8000-000000000004", "last_activity_at": "2026-11-10T07:00:00Z", "idle_days": 21.5,
        "potential_amount": "480000.00", "currency": "RUB"}]}))]
pub struct StaleInterestsDto {
    pub days: u32,
    /// Every stale interest you see.
    pub count: usize,
    /// Their potential, per currency: the value at risk.
    pub at_risk: Vec<CurrencySumDto>,
    /// The longest idle first, at most `limit`.
    pub items: Vec<StaleInterestDto>,
}

/// Stale interests.
///
/// Open interests with no stage move and no done interaction for `days`
/// days, as of now: how many, the value at risk, and the longest idle first.
#[utoipa::path(get, path = "/api/v1/analytics/stale-interests", operation_id = "getStaleInterests", tag = "analytics",
    params(StaleParams), responses((status = 200, description = "Stale interests", body = StaleInterestsDto)))]
pub async fn stale_interests(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    query: web::Query<StaleParams>,
) -> Result<HttpResponse, ApiError> {
    let p = query.into_inner();
    let format = export::negotiate(p.format, &req);
    let days = p.days.unwrap_or(14);
    if !(1..=365).contains(&days) {
        return Err(crm_app::AppError::malformed("days", "out_of_range", "use 1 to 365 days").into());
    }
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(crm_app::AppError::malformed("limit", "out_of_range", "use 1 to 200").into());
    }
    let filter = ReportFilter {
        scenario_id: p.scenario_id,
        department_id: p.department_id,
        responsible_id: p.responsible_id,
        ..ReportFilter::default()
    };
    let s = auth
        .run(&state, move |app, principal| {
            pq::stale_interests(app, principal, &filter, days, usize::try_from(limit).unwrap_or(50))
        })
        .await?;
    let dto = StaleInterestsDto {
        days: s.days,
        count: s.count,
        at_risk: sums(&s.at_risk),
        items: s
            .items
            .into_iter()
            .map(|i| StaleInterestDto {
                interest_id: i.interest_id,
                title: i.title,
                stage: i.stage,
                responsible_id: i.responsible_id,
                last_activity_at: i.last_activity_at,
                idle_days: i.idle_days,
                potential_amount: i.potential_minor.map(|m| crm_domain::Money::from_minor(m).to_string()),
                currency: i.currency,
            })
            .collect(),
    };
    export::respond(format, &dto, |d| stale_interests_table(d, p.shown()))
}

fn managers_table(d: &ManagersDto, filters: Vec<(&'static str, String)>) -> Table {
    let cur = currencies(d.managers.iter().map(|m| &m.won_amount));
    let mut header: Vec<String> = [
        "user_id",
        "name",
        "leads_taken",
        "opened",
        "won",
        "lost",
        "win_rate",
        "average_cycle_days",
        "open",
        "open_with_overdue_tasks",
    ]
    .map(str::to_owned)
    .to_vec();
    header.extend(money_header("won_amount", &cur));
    let rows = d
        .managers
        .iter()
        .map(|m| {
            let mut row: Vec<Cell> = vec![
                Cell::Text(m.user_id.to_string()),
                m.name.as_str().into(),
                m.leads_taken.into(),
                m.opened.into(),
                m.won.into(),
                m.lost.into(),
                m.win_rate.into(),
                m.average_cycle_days.into(),
                m.open.into(),
                m.open_with_overdue_tasks.into(),
            ];
            row.extend(money_cells(&m.won_amount, &cur));
            row
        })
        .collect();
    Table { name: "managers", filters, header, rows }
}

fn lead_sources_table(d: &LeadSourcesDto, filters: Vec<(&'static str, String)>) -> Table {
    let cur = currencies(d.sources.iter().map(|s| &s.won_amount));
    let mut header: Vec<String> =
        ["channel", "source", "received", "taken", "won"].map(str::to_owned).to_vec();
    header.extend(money_header("won_amount", &cur));
    let rows = d
        .sources
        .iter()
        .map(|s| {
            let mut row: Vec<Cell> = vec![
                s.channel.as_str().into(),
                s.source.as_deref().unwrap_or("").into(),
                s.received.into(),
                s.taken.into(),
                s.won.into(),
            ];
            row.extend(money_cells(&s.won_amount, &cur));
            row
        })
        .collect();
    Table { name: "lead-sources", filters, header, rows }
}

fn stale_interests_table(d: &StaleInterestsDto, mut filters: Vec<(&'static str, String)>) -> Table {
    filters.push(("count", d.count.to_string()));
    let header = [
        "interest_id",
        "title",
        "stage",
        "responsible_id",
        "last_activity_at",
        "idle_days",
        "potential_amount",
        "currency",
    ]
    .map(str::to_owned)
    .to_vec();
    let rows = d
        .items
        .iter()
        .map(|i| {
            vec![
                Cell::Text(i.interest_id.to_string()),
                i.title.as_str().into(),
                i.stage.as_str().into(),
                Cell::Text(i.responsible_id.to_string()),
                Cell::Text(i.last_activity_at.to_rfc3339()),
                Cell::Number(i.idle_days),
                i.potential_amount.clone().map_or(Cell::Empty, Cell::Money),
                i.currency.as_str().into(),
            ]
        })
        .collect();
    Table { name: "stale-interests", filters, header, rows }
}
