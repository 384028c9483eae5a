//! The sales board: stage columns with counts and sums, and the lead inbox.

use actix_web::{web, HttpResponse};
use crm_app::sales::interests::{Board, BoardQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{encode_cursor, page_request, AppState, Auth};
use crate::routes::sales::interests::*;
use crate::routes::sales::scenarios::StageKindDto;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/board").get(board));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BoardCardDto {
    pub interest_id: Uuid,
    pub title: String,
    pub client_id: Option<Uuid>,
    pub potential_amount: Option<String>,
    pub currency: String,
    pub responsible_id: Uuid,
    pub responsible_name: String,
    pub health: HealthDto,
    pub next_interaction: Option<NextInteractionDto>,
    /// An open interest with no planned interaction: nobody will call the client.
    pub no_next_step: bool,
    pub days_in_stage: i64,
    pub awaiting_approval: bool,
    /// You stand in for the card's responsible while their absence runs.
    pub standing_in: bool,
    pub version: i64,
}

/// A sum of amounts in one currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrencySumDto {
    /// ISO 4217 code.
    #[schema(example = "RUB")]
    pub currency: String,
    #[schema(example = "1250000.00")]
    pub sum: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BoardColumnDto {
    pub stage: String,
    pub name: String,
    pub kind: StageKindDto,
    pub count: usize,
    /// Sum of the potential amounts of the column's interests in RUB, the
    /// organisation's currency (`"0.00"` when none are); interests in other
    /// currencies count in `potential_by_currency` only, never here.
    #[schema(example = "1250000.00")]
    pub potential_sum: String,
    /// The potential amounts summed per currency, by currency code; two
    /// currencies are never added together.
    pub potential_by_currency: Vec<CurrencySumDto>,
    pub cards: Vec<BoardCardDto>,
    /// Fetch more of this column with `stage` and `cursor`.
    pub next_cursor: Option<String>,
}

/// The board's first column: unprocessed leads you may take.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboxDto {
    pub count: i64,
    pub leads: Vec<crate::routes::intake::leads::LeadDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BoardDto {
    pub scenario_id: Uuid,
    pub scenario_name: String,
    /// Absent when one column is asked for.
    pub inbox: Option<InboxDto>,
    pub columns: Vec<BoardColumnDto>,
}

impl From<Board<crm_app::intake::leads::LeadView>> for BoardDto {
    fn from(b: Board<crm_app::intake::leads::LeadView>) -> Self {
        Self {
            scenario_id: b.scenario_id,
            scenario_name: b.scenario_name,
            inbox: b.inbox.map(|(count, leads)| InboxDto {
                count,
                leads: leads.into_iter().map(crate::routes::intake::leads::LeadDto::from).collect(),
            }),
            columns: b
                .columns
                .into_iter()
                .map(|c| BoardColumnDto {
                    stage: c.stage,
                    name: c.name,
                    kind: kind_dto(c.kind),
                    count: c.count,
                    potential_sum: c
                        .potential_by_currency
                        .iter()
                        .find(|(code, _)| code == crm_domain::Currency::RUB)
                        .map_or_else(|| crm_domain::money::Total(0).to_string(), |(_, sum)| sum.to_string()),
                    potential_by_currency: c
                        .potential_by_currency
                        .iter()
                        .map(|(currency, sum)| CurrencySumDto {
                            currency: currency.clone(),
                            sum: sum.to_string(),
                        })
                        .collect(),
                    cards: c
                        .cards
                        .into_iter()
                        .map(|k| BoardCardDto {
                            interest_id: k.interest_id,
                            title: k.title,
                            client_id: k.client_id,
                            potential_amount: k.potential_amount.map(|m| m.to_string()),
                            currency: k.currency,
                            responsible_id: k.responsible_id,
                            responsible_name: k.responsible_name,
                            health: health_dto(k.health),
                            next_interaction: next_dto(k.next_interaction),
                            no_next_step: k.no_next_step,
                            days_in_stage: k.days_in_stage,
                            awaiting_approval: k.awaiting_approval,
                            standing_in: k.standing_in,
                            version: k.version,
                        })
                        .collect(),
                    next_cursor: c.next_after.map(encode_cursor),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BoardParams {
    /// Default: the default scenario.
    pub scenario_id: Option<Uuid>,
    /// `me`, `department` (everyone you see; default) or a user id.
    #[param(
        pattern = "^(me|department|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$",
        example = "department"
    )]
    pub responsible: Option<String>,
    /// Only this column, to page through it.
    pub stage: Option<String>,
    /// Cards per column, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// With `stage`: the column's `next_cursor`.
    pub cursor: Option<String>,
}

/// The board ("My sales"): one column per stage.
///
/// Each column has its count, potential sum and a page of cards with their
/// health (judged in the responsible's time zone: red when a task or planned
/// interaction is overdue, yellow when one is due today, green otherwise).
#[utoipa::path(get, path = "/api/v1/board", operation_id = "getBoard", tag = "interests",
    params(BoardParams), responses((status = 200, description = "The board", body = BoardDto)))]
pub async fn board(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<BoardParams>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    // Two parameters together: a rule, not the shape of either (422).
    if q.cursor.as_deref().is_some_and(|c| !c.is_empty()) && q.stage.is_none() {
        return Err(crm_app::AppError::field(
            "cursor",
            "needs_stage",
            "page through one column: give its stage with the cursor",
        )
        .into());
    }
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let bq = BoardQuery { scenario_id: q.scenario_id, responsible: q.responsible, stage: q.stage };
    let b = auth
        .run(&state, move |app, principal| {
            crm_app::sales::interests::board(app, principal, bq, page, crm_app::intake::leads::inbox)
        })
        .await?;
    Ok(HttpResponse::Ok().json(BoardDto::from(b)))
}
