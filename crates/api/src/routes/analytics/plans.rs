//! Plan against fact: each sales plan beside the revenue won in its month.

use actix_web::{web, HttpRequest, HttpResponse};
use crm_app::analytics::plans as pq;
use crm_domain::money::Total;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::export::{Cell, Table};
use super::{answer, period_dto, PeriodDto, ReportParams};
use crate::error::ApiError;
use crate::extract::{AppState, Auth};

/// Target kinds of a plan.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanTargetDto {
    User,
    Department,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanFactRowDto {
    #[schema(example = "2026-11", pattern = "^(19[0-9]{2}|2[01][0-9]{2}|2200)-(0[1-9]|1[0-2])$")]
    pub month: String,
    pub plan_id: Uuid,
    pub target: PlanTargetDto,
    /// The manager's or the department's id.
    pub target_id: Uuid,
    /// The manager's or the department's name.
    #[schema(example = "Иван Петров")]
    pub name: String,
    #[schema(example = "RUB")]
    pub currency: String,
    #[schema(example = "500000.00")]
    pub plan: String,
    /// Won in the month, in the plan's currency.
    #[schema(example = "350000.00")]
    pub fact: String,
    /// How many won interests make the fact.
    pub won: usize,
    /// fact / plan in percent, to one decimal (above 100 when the plan is beaten).
    #[schema(example = 70.0)]
    pub percent: f64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"period": {"from": "2026-11-01", "to": "2026-11-30", "time_zone": "Europe/Moscow"},
    "rows": [{"month": "2026-11", "plan_id": "0193a1b2-0000-7000-8000-000000000010", "target": "department",
        "target_id": "0193a1b2-0000-7000-8000-000000000002", "name": "Отдел продаж", "currency": "RUB",
        "plan": "1000000.00", "fact": "830000.00", "won": 5, "percent": 83.0},
        {"month": "2026-11", "plan_id": "0193a1b2-0000-7000-8000-000000000011", "target": "user",
        "target_id": "0193a1b2-0000-7000-8000-000000000004", "name": "Иван Петров", "currency": "RUB",
        "plan": "500000.00", "fact": "350000.00", "won": 2, "percent": 70.0}]}))]
pub struct PlanFactDto {
    /// Whole months: the months the asked period touches, each in full.
    pub period: PeriodDto,
    /// By month; departments before managers, then by name and currency.
    pub rows: Vec<PlanFactRowDto>,
}

/// Plan against fact.
///
/// Each sales plan you see for the months the period touches (whole months),
/// beside the revenue won in that month: by the plan's manager, or by the
/// people of the plan's department and the departments below it (as they
/// are now), in the plan's currency, with the percent done. `department_id`
/// narrows to that department's plans and its people's, `responsible_id` to
/// one manager's; `scenario_id` narrows what counts as won.
#[utoipa::path(get, path = "/api/v1/analytics/plan-fact", operation_id = "getPlanFact", tag = "analytics",
    params(ReportParams), responses((status = 200, description = "Plans beside won revenue", body = PlanFactDto)))]
pub async fn plan_fact(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    query: web::Query<ReportParams>,
) -> Result<HttpResponse, ApiError> {
    let shape = |r: pq::PlanFact| PlanFactDto {
        period: period_dto(&r.period),
        rows: r
            .rows
            .into_iter()
            .map(|row| {
                let (target, target_id) = match (row.user_id, row.department_id) {
                    (Some(u), _) => (PlanTargetDto::User, u),
                    (None, d) => (PlanTargetDto::Department, d.unwrap_or_default()),
                };
                PlanFactRowDto {
                    month: row.month.format("%Y-%m").to_string(),
                    plan_id: row.plan_id,
                    target,
                    target_id,
                    name: row.name,
                    currency: row.currency,
                    plan: Total(row.plan).to_string(),
                    fact: Total(row.fact).to_string(),
                    won: row.won,
                    percent: row.percent,
                }
            })
            .collect(),
    };
    answer(state, req, auth, query.into_inner(), pq::plan_fact, shape, plan_fact_table).await
}

fn plan_fact_table(d: &PlanFactDto, filters: Vec<(&'static str, String)>) -> Table {
    let header = ["month", "target", "target_id", "name", "currency", "plan", "fact", "won", "percent"]
        .map(str::to_owned)
        .to_vec();
    let rows = d
        .rows
        .iter()
        .map(|r| {
            vec![
                Cell::Text(r.month.clone()),
                Cell::Text(match r.target {
                    PlanTargetDto::User => "user".to_owned(),
                    PlanTargetDto::Department => "department".to_owned(),
                }),
                Cell::Text(r.target_id.to_string()),
                r.name.as_str().into(),
                Cell::Text(r.currency.clone()),
                Cell::Money(r.plan.clone()),
                Cell::Money(r.fact.clone()),
                r.won.into(),
                Cell::Number(r.percent),
            ]
        })
        .collect();
    Table { name: "plan-fact", filters, header, rows }
}
