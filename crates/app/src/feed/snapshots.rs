//! Renders the events a transaction wrote, before it commits: each gets the
//! entity as its GET returns it at that moment, the fields that changed
//! since the entity's previous event, its version and who could see it.

use std::collections::HashMap;

use crm_store::queries::{
    auth as aq, catalog as cq, clients as clq, departments as dq, documents as docq, leads as lq,
    orders as oq, sales as sq, users as uq,
};
use crm_store::rows::{EventSnapshot, OutboxEventRow};
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::documents::agreements::AgreementView;
use crate::documents::catalog::{Organization, ProductView};
use crate::documents::orders::OrderView;
use crate::documents::payments::PaymentView;
use crate::documents::purchasing::RelatedView;
use crate::documents::quotes::QuoteView;
use crate::documents::shipments::ShipmentView;
use crate::identity::api_keys::ApiKeyView;
use crate::identity::departments::DepartmentView;
use crate::identity::users::UserView;
use crate::intake::channels::ChannelView;
use crate::intake::leads::LeadView;
use crate::parties::clients::ClientView;
use crate::parties::contacts::ContactView;
use crate::platform::error::AppError;
use crate::platform::outbox::Audience;
use crate::sales::interests::InterestView;
use crate::sales::loss_reasons::LossReasonView;
use crate::sales::plans::PlanView;
use crate::sales::scenarios::ScenarioView;
use crate::sales::work::{InteractionView, TaskView};
use crate::App;

/// An entity as the use cases see it, for the API to render as its GET does.
#[derive(Debug, Clone)]
pub enum Snapshot {
    User(UserView),
    Department(DepartmentView),
    ApiKey(ApiKeyView),
    Scenario(ScenarioView),
    LossReason(LossReasonView),
    Channel(ChannelView),
    Lead(LeadView),
    Client(ClientView),
    Contact(ContactView),
    Interest(InterestView),
    Task(TaskView),
    Interaction(InteractionView),
    Product(ProductView),
    Organization(Organization),
    Agreement(AgreementView),
    Quote(QuoteView),
    Order(OrderView),
    Payment(PaymentView),
    Shipment(ShipmentView),
    RelatedDocument(RelatedView),
    SalesPlan(PlanView),
    Absence(crate::sales::absences::AbsenceView),
    ClientDate(crate::parties::dates::ClientDateView),
}

/// The port through which the API renders entities: the feed's `data` is
/// what GET returns because the same DTO conversion makes both.
pub trait Render: Send + Sync {
    fn render(&self, snapshot: Snapshot) -> serde_json::Value;
}

/// Fields that change with every write and say nothing of what changed.
const BOOKKEEPING: &[&str] = &["version", "updated_at"];

/// An entity's latest event before the one being rendered: its data, and
/// its audience (`None`: there was no such event; `Some(None)`: everyone's).
type Previous = (Option<serde_json::Value>, Option<Option<String>>);

/// Renders the events this transaction recorded and appends them (called
/// by `App::write` just before it commits). Without a renderer (use-case
/// tests) the ad-hoc payload stands in for `data`.
pub(crate) fn render_pending(
    conn: &mut DbConnection,
    app: &App,
    events: Vec<OutboxEventRow>,
) -> Result<(), AppError> {
    let mut loaded: HashMap<(String, Uuid), (serde_json::Value, Option<Audience>)> = HashMap::new();
    // Per entity, its latest event: rendered earlier in this loop, else read.
    let mut previous: HashMap<(String, Uuid), Previous> = HashMap::new();
    for event in events {
        let key = (event.entity_type.clone(), event.entity_id.0);
        if !loaded.contains_key(&key) {
            let found = load(conn, app, &event.entity_type, event.entity_id.0)?;
            let rendered = match (found, app.renderer()) {
                (Some((snapshot, audience)), Some(render)) => (render.render(snapshot), audience),
                (Some((_, audience)), None) => {
                    (serde_json::from_str(&event.payload).map_err(AppError::internal)?, audience)
                }
                (None, _) => (serde_json::Value::Null, None),
            };
            loaded.insert(key.clone(), rendered);
        }
        let Some((data, audience)) = loaded.get(&key) else { continue };
        let begins = crm_domain::events::EventType::parse(&event.kind)
            .is_some_and(|kind| kind.begins(&event.entity_type));
        let (prev_data, prev_audience) = match previous.remove(&key) {
            Some(p) => p,
            // The entity came into being in this transaction: there is no
            // earlier event to read (the tests' debug build checks it).
            None if begins => {
                debug_assert!(
                    crm_store::queries::outbox::last_rendered(conn, &event.entity_type, event.entity_id)?
                        .is_none(),
                    "{} written on a {} that already had events",
                    event.kind,
                    event.entity_type
                );
                (None, None)
            }
            None => {
                match crm_store::queries::outbox::last_rendered(conn, &event.entity_type, event.entity_id)? {
                    Some((d, a)) => {
                        (d.and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok()), Some(a))
                    }
                    None => (None, None),
                }
            }
        };
        let changes = prev_data.as_ref().and_then(|before| changes(before, data));
        let audience = audience_text(audience.as_ref())?;
        let snapshot = EventSnapshot {
            data: Some(data.to_string()),
            changes: changes.map(|c| c.to_string()),
            entity_version: data.get("version").and_then(serde_json::Value::as_i64),
            audience: audience.clone(),
            prev_audience: prev_audience.flatten(),
        };
        crm_store::queries::outbox::append_rendered(conn, &event, &snapshot)?;
        previous.insert(key, (Some(data.clone()), Some(audience)));
    }
    Ok(())
}

/// A stored audience; `None` for entities everyone who may read their kind sees.
fn audience_text(audience: Option<&Audience>) -> Result<Option<String>, AppError> {
    audience.map(|a| serde_json::to_string(a).map_err(AppError::internal)).transpose()
}

/// `{field: {from, to}}` for the top-level fields that differ, or `None`
/// when neither side is an object.
fn changes(before: &serde_json::Value, after: &serde_json::Value) -> Option<serde_json::Value> {
    let (before, after) = (before.as_object()?, after.as_object()?);
    let mut out = serde_json::Map::new();
    let null = serde_json::Value::Null;
    for (field, to) in after {
        if BOOKKEEPING.contains(&field.as_str()) {
            continue;
        }
        let from = before.get(field).unwrap_or(&null);
        if from != to {
            out.insert(field.clone(), serde_json::json!({"from": from, "to": to}));
        }
    }
    for (field, from) in before {
        if !after.contains_key(field) && !BOOKKEEPING.contains(&field.as_str()) {
            out.insert(field.clone(), serde_json::json!({"from": from, "to": null}));
        }
    }
    Some(serde_json::Value::Object(out))
}

fn owned(id: Option<DbUuid>) -> Audience {
    Audience { owners: id.map(|i| i.0).into_iter().collect(), persons: Vec::new() }
}

/// The responsible of an interest, who decides who sees its documents.
fn interest_owner(conn: &mut DbConnection, interest: DbUuid) -> Result<Audience, AppError> {
    Ok(owned(sq::find_interest(conn, interest)?.map(|i| i.responsible_id)))
}

fn order_owner(conn: &mut DbConnection, order: DbUuid) -> Result<Audience, AppError> {
    match oq::find_order(conn, order)? {
        Some(o) => interest_owner(conn, o.interest_id),
        None => Ok(Audience::default()),
    }
}

fn client_owner(conn: &mut DbConnection, client: DbUuid) -> Result<Audience, AppError> {
    Ok(owned(clq::find_client(conn, client)?.and_then(|c| c.responsible_id)))
}

/// The entity an event names as it stands now, and who may see it; `None`
/// when it no longer exists.
fn load(
    conn: &mut DbConnection,
    app: &App,
    entity_type: &str,
    id: Uuid,
) -> Result<Option<(Snapshot, Option<Audience>)>, AppError> {
    let key: DbUuid = id.into();
    let open = |s: Snapshot| Some((s, None));
    Ok(match entity_type {
        "user" => match uq::find(conn, key)? {
            Some(r) => open(Snapshot::User(crate::identity::users::view(r)?)),
            None => None,
        },
        "department" => dq::find(conn, key)?
            .and_then(|r| open(Snapshot::Department(crate::identity::departments::view(r)))),
        "api_key" => aq::find_api_key(conn, key)?
            .and_then(|r| open(Snapshot::ApiKey(crate::identity::api_keys::view(r, app.now())))),
        "scenario" => match sq::find_scenario(conn, key)? {
            Some(r) => open(Snapshot::Scenario(crate::sales::scenarios::view(r)?)),
            None => None,
        },
        "loss_reason" => sq::find_loss_reason(conn, key)?
            .and_then(|r| open(Snapshot::LossReason(crate::sales::loss_reasons::view(r)))),
        "channel" => lq::find_channel(conn, key)?
            .and_then(|r| open(Snapshot::Channel(crate::intake::channels::view(r)))),
        "lead" => lq::find_lead(conn, key)?.map(|r| {
            let audience = owned(r.assignee_id);
            (Snapshot::Lead(crate::intake::leads::inbox::view(r)), Some(audience))
        }),
        "client" => match clq::find_client(conn, key)? {
            Some(r) => {
                let audience = owned(r.responsible_id);
                Some((Snapshot::Client(crate::parties::clients::load_client_view(conn, r)?), Some(audience)))
            }
            None => None,
        },
        "contact" => match clq::find_contact(conn, key)? {
            Some(r) => {
                let audience = match r.client_id {
                    Some(c) => client_owner(conn, c)?,
                    None => owned(r.responsible_id),
                };
                Some((
                    Snapshot::Contact(crate::parties::contacts::load_contact_view(conn, r)?),
                    Some(audience),
                ))
            }
            None => None,
        },
        "interest" => match sq::find_interest(conn, key)? {
            Some(r) => {
                let audience = owned(Some(r.responsible_id));
                let scenario =
                    sq::find_scenario(conn, r.scenario_id)?.ok_or(AppError::NotFound("scenario"))?;
                let def = crate::sales::parse_definition(&scenario.definition)?;
                let fallback = app.settings().default_time_zone.tz();
                let view = crate::sales::interests::view::view(conn, r, &def, app.now(), fallback)?;
                Some((Snapshot::Interest(view), Some(audience)))
            }
            None => None,
        },
        "task" => match sq::find_task(conn, key)? {
            Some(r) => {
                let mut audience = match r.interest_id {
                    Some(i) => interest_owner(conn, i)?,
                    None => Audience::default(),
                };
                audience.persons.push(r.assignee_id.0);
                audience.persons.extend(r.created_by.map(Uuid::from));
                Some((Snapshot::Task(crate::sales::work::task_view(r)), Some(audience)))
            }
            None => None,
        },
        "interaction" => match sq::find_interaction(conn, key)? {
            Some(r) => {
                let audience = interest_owner(conn, r.interest_id)?;
                Some((Snapshot::Interaction(crate::sales::work::interaction_view(r)), Some(audience)))
            }
            None => None,
        },
        "product" => cq::find_product(conn, key)?
            .and_then(|r| open(Snapshot::Product(crate::documents::catalog::view(r)))),
        "organization" => open(Snapshot::Organization(crate::documents::catalog::organization_in(conn)?)),
        "agreement" => match docq::find_agreement(conn, key)? {
            Some(r) => {
                let audience = client_owner(conn, r.client_id)?;
                Some((Snapshot::Agreement(crate::documents::agreements::view(r)?), Some(audience)))
            }
            None => None,
        },
        "quote" => match docq::find_quote(conn, key)? {
            Some(r) => {
                let audience = interest_owner(conn, r.interest_id)?;
                let day = crate::documents::orders::today(app);
                Some((Snapshot::Quote(crate::documents::quotes::quote_view(conn, r, day)?), Some(audience)))
            }
            None => None,
        },
        "order" => match oq::find_order(conn, key)? {
            Some(r) => {
                let audience = interest_owner(conn, r.interest_id)?;
                let day = crate::documents::orders::today(app);
                Some((Snapshot::Order(crate::documents::orders::order_view(conn, r, day)?), Some(audience)))
            }
            None => None,
        },
        "payment" => match oq::find_payment(conn, key)? {
            Some(r) => {
                let audience = order_owner(conn, r.order_id)?;
                Some((Snapshot::Payment(crate::documents::payments::payment_view(r)), Some(audience)))
            }
            None => None,
        },
        "shipment" => match oq::find_shipment(conn, key)? {
            Some(r) => {
                let audience = order_owner(conn, r.order_id)?;
                Some((
                    Snapshot::Shipment(crate::documents::shipments::shipment_view(conn, r)?),
                    Some(audience),
                ))
            }
            None => None,
        },
        "related_document" => match docq::find_related(conn, key)? {
            Some(r) => {
                let audience = order_owner(conn, r.order_id)?;
                Some((
                    Snapshot::RelatedDocument(crate::documents::purchasing::related_view(r)),
                    Some(audience),
                ))
            }
            None => None,
        },
        "sales_plan" => match sq::find_plan(conn, key)? {
            Some(r) => {
                let audience = crate::sales::plans::audience(conn, &r)?;
                Some((Snapshot::SalesPlan(crate::sales::plans::view(r)?), Some(audience)))
            }
            None => None,
        },
        "absence" => match crm_store::queries::identity::absences::find(conn, key)? {
            Some(r) => {
                let audience = Audience { owners: vec![r.user_id.0], persons: vec![r.deputy_id.0] };
                Some((Snapshot::Absence(crate::sales::absences::view(r)), Some(audience)))
            }
            None => None,
        },
        "client_date" => match crm_store::queries::parties::dates::find_client_date(conn, key)? {
            Some(r) => {
                let audience = client_owner(conn, r.client_id)?;
                Some((Snapshot::ClientDate(crate::parties::dates::date_view(r)), Some(audience)))
            }
            None => None,
        },
        other => {
            return Err(AppError::internal(format!(
                "an event names an entity type the feed cannot load: {other}"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_list_the_fields_that_differ_but_not_the_bookkeeping() {
        let before = serde_json::json!({"id": 1, "stage": "new", "version": 1, "updated_at": "a", "gone": 1});
        let after = serde_json::json!({"id": 1, "stage": "offer", "version": 2, "updated_at": "b"});
        assert_eq!(
            changes(&before, &after),
            Some(
                serde_json::json!({"stage": {"from": "new", "to": "offer"}, "gone": {"from": 1, "to": null}})
            )
        );
        assert_eq!(changes(&serde_json::Value::Null, &after), None);
    }
}
