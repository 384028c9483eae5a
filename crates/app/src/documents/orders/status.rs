//! Posting (confirming) and cancelling an order, and what that fixes:
//! due dates, the interest's rules.

use chrono::NaiveDate;
use crm_domain::events::EventType;
use crm_domain::status::TimelineKind;
use crm_domain::status::{OrderStatus, ShipmentStatus};
use crm_domain::Money;
use crm_store::queries::{documents as dq, orders as q};
use crm_store::rows::OrderRow;
use crm_store::DbConnection;
use uuid::Uuid;

use super::*;
use crate::identity::permissions::{self, Access};
use crate::identity::principal::Principal;
use crate::platform::error::{check_version, AppError};
use crate::platform::outbox;
use crate::sales::timeline;
use crate::App;

pub(in crate::documents) fn change_status(
    app: &App,
    actor: &Principal,
    access: &Access,
    id: Uuid,
    expected: Option<i64>,
    to: OrderStatus,
) -> Result<OrderView, AppError> {
    actor.require(access)?;
    let day = today(app);
    let now = app.now();
    app.write(|conn| {
        let mut row = visible_order(conn, actor, id)?;
        check_version(expected, row.version)?;
        use OrderStatus::{Cancelled, Confirmed, Draft};
        let allowed = match (row.status.0, to) {
            (Draft, Confirmed) => q::lines_of(conn, &[row.id])?
                .is_empty()
                .then_some("an order without lines cannot be confirmed"),
            (Draft | Confirmed, Cancelled) if row.paid_minor > 0 => {
                Some("an order with payments cannot be cancelled; cancel the payments first")
            }
            (Draft | Confirmed, Cancelled) => dq::shipments_of_orders(conn, &[row.id])?
                .iter()
                .any(|s| s.status != ShipmentStatus::Cancelled)
                .then_some("an order with shipments cannot be cancelled; cancel the shipments first"),
            (from, _) => return Err(AppError::conflict(None, format!("a {from} order cannot become {to}"))),
        };
        if let Some(why) = allowed {
            return Err(AppError::rule("order_status", why));
        }
        if to == Confirmed {
            fix_due_dates(conn, &row, &["on_confirmation", "before_shipment"], day)?;
        }
        let version = row.version;
        row.status = to.into();
        if to == Confirmed {
            row.confirmed_at = Some(now.naive_utc());
            // From now on the invoice prints the parties and terms of this moment.
            row.issued_snapshot = Some(crate::documents::invoices::snapshot_for_issue(conn, &row)?);
        }
        row.version += 1;
        row.updated_at = now.naive_utc();
        if q::update_order(conn, &row, version)? != 1 {
            return Err(AppError::PreconditionFailed { expected: version, current: version + 1 });
        }
        timeline(
            conn,
            row.interest_id,
            Some(actor),
            now,
            match to {
                OrderStatus::Confirmed => TimelineKind::OrderConfirmed,
                OrderStatus::Cancelled => TimelineKind::OrderCancelled,
                OrderStatus::Draft => TimelineKind::OrderUpdated,
            },
            format!("Order {} {to}", row.number),
            serde_json::json!({"order_id": id}),
        )?;
        outbox::record(
            conn,
            now,
            Some(actor),
            match to {
                OrderStatus::Confirmed => EventType::OrderConfirmed,
                OrderStatus::Cancelled => EventType::OrderCancelled,
                OrderStatus::Draft => EventType::OrderUpdated,
            },
            "order",
            id,
            serde_json::json!({"id": id, "status": to.as_str()}),
        )?;
        order_view(conn, row, day)
    })
}

/// Sets the due dates of instalments whose trigger just happened on `day`
/// (confirmation, or the first shipment); a schedule must add up to the total.
pub(in crate::documents) fn fix_due_dates(
    conn: &mut DbConnection,
    order: &OrderRow,
    triggers: &[&str],
    day: NaiveDate,
) -> Result<(), AppError> {
    let rows = dq::instalments_of(conn, order.id)?;
    let sum = Money::checked_sum(rows.iter().map(|r| Money::from_minor(r.amount_minor)))?.minor();
    if !rows.is_empty() && sum != order.total_minor {
        return Err(AppError::rule(
            "schedule_total",
            format!(
                "the instalments add up to {}, the order's total is {}",
                Money::from_minor(sum),
                Money::from_minor(order.total_minor)
            ),
        ));
    }
    for mut r in rows {
        if r.due_on.is_none() && triggers.contains(&r.due_trigger.as_str()) {
            r.due_on = Some(midnight(day + chrono::Duration::days(i64::from(r.days_offset))));
            dq::update_instalment(conn, &r)?;
        }
    }
    Ok(())
}

/// Posts the order: its lines and totals are frozen from now on.
pub fn confirm_order(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected: Option<i64>,
) -> Result<OrderView, AppError> {
    change_status(app, actor, &permissions::WRITE_ORDERS, id, expected, OrderStatus::Confirmed)
}

pub fn cancel_order(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected: Option<i64>,
) -> Result<OrderView, AppError> {
    change_status(app, actor, &permissions::WRITE_ORDERS, id, expected, OrderStatus::Cancelled)
}
