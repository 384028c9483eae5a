//! The change feed: `GET /api/v1/events`, and the renderer that gives each
//! event the entity as its GET returns it (the same DTO conversion).

use std::borrow::Cow;

use actix_web::{web, HttpResponse};
use base64::Engine;
use chrono::{DateTime, Utc};
use crm_app::feed::events::{FeedItem, FeedPage, MAX_LIMIT};
use crm_app::feed::snapshots::{Render, Snapshot};
use crm_domain::events::EventType;
use crm_domain::status::Word;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{AppState, Auth};
use crate::routes::{documents as d, identity as i, intake as n, parties as p, sales as s};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/events").get(list_events));
}

/// Renders entities for the feed with the DTOs their GETs answer with.
pub struct AsGetReturns;

fn value<T: Serialize>(dto: T) -> serde_json::Value {
    serde_json::to_value(dto).unwrap_or_else(|e| {
        tracing::error!(error = %e, "an entity could not be rendered for the change feed");
        serde_json::Value::Null
    })
}

impl Render for AsGetReturns {
    fn render(&self, snapshot: Snapshot) -> serde_json::Value {
        match snapshot {
            Snapshot::User(v) => value(i::users::UserDto::from(v)),
            Snapshot::Department(v) => value(i::departments::DepartmentDto::from(v)),
            Snapshot::ApiKey(v) => value(i::api_keys::ApiKeyDto::from(v)),
            Snapshot::Scenario(v) => match s::scenarios::ScenarioDto::from_view(v) {
                Ok(dto) => value(dto),
                Err(e) => {
                    tracing::error!(error = ?e, "a scenario could not be rendered for the change feed");
                    serde_json::Value::Null
                }
            },
            Snapshot::LossReason(v) => value(s::scenarios::LossReasonDto::from(v)),
            Snapshot::SalesPlan(v) => value(s::plans::SalesPlanDto::from(v)),
            Snapshot::Absence(v) => value(s::absences::AbsenceDto::from(v)),
            Snapshot::ClientDate(v) => value(p::dates::ClientDateDto::from(v)),
            Snapshot::Channel(v) => value(n::providers::ChannelDto::from(v)),
            Snapshot::Lead(v) => value(n::leads::LeadDto::from(v)),
            Snapshot::Client(v) => value(p::clients::ClientDto::from(v)),
            Snapshot::Contact(v) => value(p::contacts::ContactDto::from(v)),
            Snapshot::Interest(v) => value(s::interests::InterestDto::from(v)),
            Snapshot::Task(v) => value(s::work::TaskDto::from(v)),
            Snapshot::Interaction(v) => value(s::work::InteractionDto::from(v)),
            Snapshot::Product(v) => value(d::catalog::ProductDto::from(v)),
            Snapshot::Organization(v) => value(d::catalog::OrganizationDto::from(v)),
            Snapshot::Agreement(v) => value(d::agreements::AgreementDto::from(v)),
            Snapshot::Quote(v) => value(d::quotes::QuoteDto::from(v)),
            Snapshot::Order(v) => value(d::orders::OrderDto::from(v)),
            Snapshot::Payment(v) => value(d::payments::PaymentDto::from(v)),
            Snapshot::Shipment(v) => value(d::shipments::ShipmentDto::from(v)),
            Snapshot::RelatedDocument(v) => value(d::purchasing::RelatedDocumentDto::from(v)),
        }
    }
}

/// An event type of the published catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTypeDto(pub EventType);

impl Serialize for EventTypeDto {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

impl utoipa::PartialSchema for EventTypeDto {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(EventType::ALL.iter().map(|t| t.as_str())))
            .description(Some(
                "What happened. `<entity>.removed` is a tombstone: the entity left your view with this change (handed to someone you do not see); drop it from a local copy. `webhook.test` comes only to a webhook.",
            ))
            .examples([serde_json::json!("order.confirmed")])
            .into()
    }
}

impl ToSchema for EventTypeDto {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("EventType")
    }
}

/// Who made the change.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventActorDto {
    /// `user`, `api_key` or `system` (timed rules).
    #[schema(example = "user")]
    #[schema(value_type = crate::routes::words::ActorKindDto)]
    pub kind: String,
    /// The user or API key; null for `system`.
    pub id: Option<Uuid>,
}

/// The entity an event is about.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventEntityDto {
    /// `order`, `payment`, `interest`, `lead`, … (an invoice's events name its order).
    #[serde(rename = "type")]
    #[schema(example = "order")]
    pub entity_type: String,
    pub id: Uuid,
    /// The entity's version after this change (its `ETag`); null on tombstones
    /// and for entities without versions.
    pub version: Option<i64>,
}

/// One change, as the feed and webhooks deliver it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDto {
    /// Stable across reads and deliveries: the dedupe key (`webhook-id`).
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: EventTypeDto,
    pub occurred_at: DateTime<Utc>,
    pub actor: EventActorDto,
    pub entity: EventEntityDto,
    /// The entity as `GET` on it returned right after this change; null on
    /// tombstones and for an entity deleted by the change.
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
    /// For updates, `{field: {from, to}}` against the entity's previous
    /// event (`version` and `updated_at` left out); null on an entity's
    /// first event and on tombstones.
    #[schema(value_type = Option<Object>, example = json!({"stage": {"from": "negotiation", "to": "invoice"}}))]
    pub changes: Option<serde_json::Value>,
}

impl From<FeedItem> for EventDto {
    fn from(e: FeedItem) -> Self {
        EventDto {
            id: e.id,
            event_type: EventTypeDto(e.kind),
            occurred_at: e.occurred_at,
            actor: EventActorDto { kind: e.actor_kind, id: e.actor_id },
            entity: EventEntityDto { entity_type: e.entity_type, id: e.entity_id, version: e.entity_version },
            data: e.data,
            changes: e.changes,
        }
    }
}

/// A page of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPageDto {
    pub items: Vec<EventDto>,
    /// Always set: pass as `after` to read on. Keep it even when `items` is
    /// empty (you may see none of the events it passed).
    pub next_cursor: String,
    /// More events already follow `next_cursor`: read on at once rather than
    /// waiting to poll.
    pub has_more: bool,
}

const CURSOR_VERSION: &str = "f1:";

fn encode(pos: crm_app::feed::events::Position) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{CURSOR_VERSION}{}:{}", pos.tx_id, pos.seq))
}

pub(crate) fn decode(cursor: &str) -> Option<crm_app::feed::events::Position> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (tx, seq) = text.strip_prefix(CURSOR_VERSION)?.split_once(':')?;
    let (tx_id, seq) = (tx.parse().ok()?, seq.parse().ok()?);
    (tx_id >= 0 && seq >= 0).then_some(crm_app::feed::events::Position { tx_id, seq })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// `next_cursor` of the previous page; absent to start from the oldest event kept.
    pub after: Option<String>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Comma-separated event types or `<prefix>.*` (`order.*,payment.registered`); absent: all.
    #[param(example = "order.*,payment.registered")]
    pub types: Option<String>,
}

/// Follow every change you may see, in commit order.
///
/// A reader that follows `next_cursor` gets every committed event exactly
/// once, in one order, even when transactions commit out of the order they
/// started in and across instances. Each event's `data` is the entity as its
/// `GET` returned it at that change. You get the events of entities you may
/// read (an API key: those its scopes read; `orders:read` gives order
/// events), and a `<entity>.removed` tombstone when one leaves your view.
/// Events are kept for `CRM_EVENTS_RETENTION` (30 days by default); a cursor
/// from before that answers 410 `cursor_expired`: resync from the lists with
/// `updated_since`, then follow the feed from the new `next_cursor`.
#[utoipa::path(get, path = "/api/v1/events", operation_id = "listEvents", tag = "events",
    params(EventsQuery),
    responses((status = 200, description = "A page of events", body = EventPageDto),
        (status = 400, description = "A bad `after`, `limit` or `types`", body = crate::error::Problem),
        (status = 410, description = "The cursor is older than the events kept", body = crate::error::Problem)))]
pub async fn list_events(
    state: web::Data<AppState>,
    auth: Auth,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || usize::try_from(limit).map_or(true, |l| l > MAX_LIMIT) {
        return Err(ApiError::field("limit", "out_of_range", format!("must be between 1 and {MAX_LIMIT}")));
    }
    let after = match q.after.as_deref() {
        None | Some("") => None,
        Some(c) => Some(decode(c).ok_or_else(|| {
            ApiError::field(
                "after",
                "invalid",
                "not a feed cursor this server issued; start again without it",
            )
        })?),
    };
    let raw: Vec<String> = q.types.unwrap_or_default().split(',').map(str::to_owned).collect();
    let types = crm_app::feed::events::parse_types(&raw)?;
    let page: FeedPage = auth
        .run(&state, move |app, principal| {
            crm_app::feed::events::read(app, principal, after, &types, usize::try_from(limit).unwrap_or(100))
        })
        .await?;
    Ok(HttpResponse::Ok().json(EventPageDto {
        next_cursor: encode(page.next),
        has_more: page.has_more,
        items: page.items.into_iter().map(EventDto::from).collect(),
    }))
}
