//! Sales reports for heads, each over a period of the organisation's dates
//! and one filter: how deals move and end (`deals`), and who sells and from
//! where (`people`).

mod deals;
pub mod export;
mod people;
mod plans;

pub use deals::*;
pub use people::*;
pub use plans::*;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use crm_app::analytics::{Period, ReportFilter, Sums};
use crm_app::{App, AppError, Principal};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{AppState, Auth};
use crate::routes::sales::board::CurrencySumDto;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/analytics")
            .service(web::resource("/funnel").get(funnel))
            .service(web::resource("/stage-durations").get(stage_durations))
            .service(web::resource("/win-rate").get(win_rate))
            .service(web::resource("/loss-reasons").get(loss_reasons))
            .service(web::resource("/forecast").get(forecast))
            .service(web::resource("/managers").get(managers))
            .service(web::resource("/lead-sources").get(lead_sources))
            .service(web::resource("/stale-interests").get(stale_interests))
            .service(web::resource("/plan-fact").get(plan_fact)),
    );
}

/// The filter every report takes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// The first day, in the organisation's time zone. Default: the first of `to`'s month, else of this month.
    #[param(example = "2026-11-01")]
    pub from: Option<NaiveDate>,
    /// The last day, included; at most 731 days after `from`. Default: the end of `from`'s month.
    #[param(example = "2026-11-30")]
    pub to: Option<NaiveDate>,
    /// Default: every scenario; the funnel and stage durations use the default scenario.
    pub scenario_id: Option<Uuid>,
    /// Only people of this department and those below it.
    pub department_id: Option<Uuid>,
    /// Only this person's interests.
    pub responsible_id: Option<Uuid>,
    /// `json` (default), `csv` or `xlsx`; without it the `Accept` header chooses.
    pub format: Option<export::ExportFormat>,
}

impl ReportParams {
    /// The filters as a file shows them above the figures.
    pub(crate) fn shown(&self, period: &PeriodDto) -> Vec<(&'static str, String)> {
        let or_all = |v: Option<Uuid>| v.map_or_else(|| "all".to_owned(), |v| v.to_string());
        vec![
            ("from", period.from.to_string()),
            ("to", period.to.to_string()),
            ("time_zone", period.time_zone.clone()),
            ("scenario_id", or_all(self.scenario_id)),
            ("department_id", or_all(self.department_id)),
            ("responsible_id", or_all(self.responsible_id)),
        ]
    }
}

impl From<&ReportParams> for ReportFilter {
    fn from(p: &ReportParams) -> Self {
        Self {
            from: p.from,
            to: p.to,
            scenario_id: p.scenario_id,
            department_id: p.department_id,
            responsible_id: p.responsible_id,
        }
    }
}

/// The period a report covers, as it was read.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodDto {
    #[schema(example = "2026-11-01")]
    pub from: NaiveDate,
    #[schema(example = "2026-11-30")]
    pub to: NaiveDate,
    /// The zone the dates are days of (`CRM_TIMEZONE`).
    #[schema(example = "Europe/Moscow")]
    pub time_zone: String,
}

pub(crate) fn period_dto(p: &Period) -> PeriodDto {
    PeriodDto { from: p.from, to: p.to, time_zone: p.tz.name().to_owned() }
}

pub(crate) fn sums(s: &Sums) -> Vec<CurrencySumDto> {
    s.decimal().into_iter().map(|(currency, sum)| CurrencySumDto { currency, sum }).collect()
}

/// A report's answer, which knows its period (for a file's filter lines).
pub(crate) trait Dated {
    fn period(&self) -> &PeriodDto;
}

macro_rules! dated {
    ($($dto:ty),*) => {$(
        impl Dated for $dto {
            fn period(&self) -> &PeriodDto {
                &self.period
            }
        }
    )*};
}
dated!(
    FunnelDto,
    StageDurationsDto,
    WinRateDto,
    LossReasonsDto,
    ForecastDto,
    ManagersDto,
    LeadSourcesDto,
    PlanFactDto
);

/// What every period report's handler does: read the filter and the format,
/// run the use case on the blocking pool, shape its answer, and write it as
/// JSON or as a file.
pub(crate) async fn answer<V, D>(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
    q: ReportParams,
    report: fn(&App, &Principal, &ReportFilter) -> Result<V, AppError>,
    shape: impl FnOnce(V) -> D,
    table: fn(&D, Vec<(&'static str, String)>) -> export::Table,
) -> Result<HttpResponse, ApiError>
where
    V: Send + 'static,
    D: Serialize + Dated,
{
    let format = export::negotiate(q.format, &req);
    let filter = ReportFilter::from(&q);
    let view = auth.run(&state, move |app, principal| report(app, principal, &filter)).await?;
    let dto = shape(view);
    export::respond(format, &dto, |d| table(d, q.shown(d.period())))
}
