//! Shipments (Реализация): shipping what remains of an order's lines,
//! tracking, cancelling and reading.

use chrono::{DateTime, Utc};
use crm_domain::events::EventType;
use crm_domain::pricing::Quantity;
use crm_domain::status::TimelineKind;
use crm_domain::status::{InstalmentStatus, OrderStatus, ShipmentStatus};
use crm_domain::Money;
use crm_scenario::DomainEvent;
use crm_store::queries::{documents as dq, orders as q, sales as sq};
use crm_store::rows::{ShipmentLineRow, ShipmentRow};
use crm_store::DbConnection;
use uuid::Uuid;

use crate::documents::orders::*;
use crate::documents::payments::*;
use crate::identity::permissions::{self};
use crate::identity::principal::Principal;
use crate::platform::error::{check_version, AppError, Problems, Unmet};
use crate::platform::outbox;
use crate::sales::interests::apply_event;
use crate::sales::timeline;
use crate::App;

#[derive(Debug, Clone)]
pub struct ShipmentView {
    pub id: Uuid,
    pub number: String,
    pub order_id: Uuid,
    pub kind: String,
    pub shipped_on: DateTime<Utc>,
    pub status: ShipmentStatus,
    pub route_sheet: Option<String>,
    pub notes: Option<String>,
    pub lines: Vec<(Uuid, Quantity)>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn shipment_view(conn: &mut DbConnection, r: ShipmentRow) -> Result<ShipmentView, AppError> {
    let lines = q::shipment_lines_of(conn, r.id)?
        .into_iter()
        .map(|l| (l.order_line_id.0, Quantity(l.quantity)))
        .collect();
    Ok(ShipmentView {
        id: r.id.0,
        number: r.number,
        order_id: r.order_id.0,
        kind: r.kind,
        shipped_on: r.shipped_on.and_utc(),
        status: r.status.0,
        route_sheet: r.route_sheet,
        notes: r.notes,
        lines,
        version: r.version,
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
    })
}

#[derive(Debug, Clone)]
pub struct ShipmentInput {
    pub kind: String,
    pub shipped_on: Option<DateTime<Utc>>,
    pub lines: Vec<(Uuid, String)>,
    pub route_sheet: Option<String>,
    pub notes: Option<String>,
}

/// Ships (part of) a confirmed order; never more than remains unshipped.
/// Fires "shipment made", and "orders fully shipped" when the interest's
/// confirmed orders are all shipped in full.
pub fn create_shipment(
    app: &App,
    actor: &Principal,
    order: Uuid,
    input: ShipmentInput,
) -> Result<ShipmentView, AppError> {
    actor.require(&permissions::WRITE_SHIPMENTS)?;
    let mut p = Problems::new();
    if !matches!(input.kind.as_str(), "sales_document" | "warehouse_issue") {
        p.push("kind", "invalid", "sales_document or warehouse_issue");
    }
    if input.lines.is_empty() {
        p.push("lines", "empty", "ship at least one line");
    }
    let qtys: Vec<Option<Quantity>> = input
        .lines
        .iter()
        .enumerate()
        .map(|(i, (_, q))| p.check(&format!("lines[{i}].quantity"), Quantity::parse(q)))
        .collect();
    not_ahead(&mut p, "shipped_on", input.shipped_on, app.now());
    p.into_result()?;
    let day = today(app);
    let now = app.now();
    let fallback = fallback_tz(app);
    app.write(|conn| {
        let order = visible_order(conn, actor, order)?;
        sq::lock_interest(conn, order.interest_id)?;
        let order = q::find_order(conn, order.id)?.ok_or(AppError::NotFound("order"))?;
        if order.status != OrderStatus::Confirmed {
            return Err(AppError::rule("order_confirmed", "only a confirmed order ships"));
        }
        let mut unmet = Vec::new();
        // The agreement's prepayments come first: nothing ships while a
        // before-shipment instalment is short.
        let schedule =
            schedule_view(dq::instalments_of(conn, order.id)?, Money::from_minor(order.paid_minor), day);
        for i in
            schedule.iter().filter(|i| i.trigger == "before_shipment" && i.status != InstalmentStatus::Paid)
        {
            unmet.push(Unmet::new(
                "prepayment_received",
                format!(
                    "instalment {} is due before shipment: {} of {} paid",
                    i.position + 1,
                    i.paid,
                    i.amount
                ),
            ));
        }
        let mut lines = q::lines_of(conn, &[order.id])?;
        for (i, ((line_id, _), qty)) in input.lines.iter().zip(&qtys).enumerate() {
            let Some(qty) = qty else { continue };
            match lines.iter_mut().find(|l| l.id.0 == *line_id) {
                None => {
                    unmet.push(Unmet::new("line_of_order", format!("lines[{i}]: not a line of this order")))
                }
                Some(l) if l.shipped_quantity.checked_add(qty.0).is_none_or(|s| s > l.quantity) => unmet
                    .push(Unmet::new(
                        "within_remaining",
                        format!(
                            "lines[{i}]: only {} of \"{}\" remain to ship",
                            Quantity(l.quantity - l.shipped_quantity),
                            l.description
                        ),
                    )),
                Some(l) => l.shipped_quantity += qty.0,
            }
        }
        if !unmet.is_empty() {
            return Err(AppError::Rules(unmet));
        }
        let row = ShipmentRow {
            id: crm_domain::new_id().into(),
            number: number(conn, "SHP", now.with_timezone(&fallback_tz(app)).date_naive())?,
            order_id: order.id,
            kind: input.kind.clone(),
            shipped_on: input.shipped_on.unwrap_or(now).naive_utc(),
            status: ShipmentStatus::Preparing.into(),
            route_sheet: input.route_sheet.clone(),
            notes: input.notes.clone(),
            version: 1,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
        };
        q::insert_shipment(conn, &row)?;
        for ((line_id, _), qty) in input.lines.iter().zip(&qtys) {
            if let Some(qty) = qty {
                q::insert_shipment_line(
                    conn,
                    &ShipmentLineRow {
                        id: crm_domain::new_id().into(),
                        shipment_id: row.id,
                        order_line_id: (*line_id).into(),
                        quantity: qty.0,
                    },
                )?;
            }
        }
        for l in &lines {
            q::update_line(conn, l)?;
        }
        let shipped_day = input.shipped_on.map_or(day, |t| t.with_timezone(&fallback).date_naive());
        fix_due_dates(conn, &order, &["after_shipment"], shipped_day)?;
        timeline(
            conn,
            order.interest_id,
            Some(actor),
            now,
            TimelineKind::ShipmentMade,
            format!("Shipment {} for order {}", row.number, order.number),
            serde_json::json!({"shipment_id": row.id.0, "order_id": order.id.0}),
        )?;
        outbox::record(
            conn,
            now,
            Some(actor),
            EventType::ShipmentCreated,
            "shipment",
            row.id.0,
            serde_json::json!({"id": row.id.0, "order_id": order.id.0}),
        )?;
        crate::documents::orders::figures_changed(conn, now, actor, order.id.0)?;
        apply_event(conn, Some(actor), now, fallback, order.interest_id.0, DomainEvent::ShipmentMade)?;
        let shipped = crate::sales::coverage(conn, order.interest_id)?.fully_shipped;
        if shipped {
            apply_event(
                conn,
                Some(actor),
                now,
                fallback,
                order.interest_id.0,
                DomainEvent::OrdersFullyShipped,
            )?;
        }
        shipment_view(conn, row)
    })
}

/// The shipments of an order, cancelled ones included, oldest first.
pub fn list_shipments(
    app: &App,
    actor: &Principal,
    order: Uuid,
    page: crate::platform::page::PageRequest,
) -> Result<crate::platform::page::Page<ShipmentView>, AppError> {
    actor.require(&permissions::READ_SHIPMENTS)?;
    app.read(|conn| {
        let row = visible_order(conn, actor, order)?;
        let rows = q::shipments_of_order_page(conn, row.id, page.query())?;
        crate::platform::page::Page::try_from_rows(
            rows,
            page,
            |s| s.id.0,
            |rows| rows.into_iter().map(|s| shipment_view(conn, s)).collect(),
        )
    })
}

pub fn get_shipment(app: &App, actor: &Principal, id: Uuid) -> Result<ShipmentView, AppError> {
    actor.require(&permissions::READ_SHIPMENTS)?;
    app.read(|conn| {
        let row = q::find_shipment(conn, id.into())?.ok_or(AppError::NotFound("shipment"))?;
        visible_order(conn, actor, row.order_id.0).map_err(|_| AppError::NotFound("shipment"))?;
        shipment_view(conn, row)
    })
}

#[derive(Debug, Clone, Default)]
pub struct ShipmentChanges {
    pub status: Option<String>,
    pub route_sheet: Option<String>,
    pub notes: Option<String>,
}

/// Tracks where the goods are: delivery status, route sheet, notes.
pub fn update_shipment(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected: Option<i64>,
    c: ShipmentChanges,
) -> Result<ShipmentView, AppError> {
    actor.require(&permissions::WRITE_SHIPMENTS)?;
    let mut p = Problems::new();
    let status = c.status.as_deref().and_then(|s| {
        use ShipmentStatus::*;
        p.word(
            "status",
            s,
            &[Preparing, InTransit, Delivered, Returned],
            "preparing, in_transit, delivered or returned",
        )
    });
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        let mut row = q::find_shipment(conn, id.into())?.ok_or(AppError::NotFound("shipment"))?;
        let order = visible_order(conn, actor, row.order_id.0).map_err(|_| AppError::NotFound("shipment"))?;
        check_version(expected, row.version)?;
        if row.status == ShipmentStatus::Cancelled {
            return Err(AppError::conflict(None, "the shipment is cancelled"));
        }
        let v = row.version;
        if let Some(s) = status {
            row.status = s.into();
        }
        if let Some(r) = c.route_sheet {
            row.route_sheet = Some(r);
        }
        if let Some(n) = c.notes {
            row.notes = Some(n);
        }
        row.version += 1;
        row.updated_at = now.naive_utc();
        if q::update_shipment(conn, &row, v)? != 1 {
            return Err(AppError::PreconditionFailed { expected: v, current: v + 1 });
        }
        timeline(
            conn,
            order.interest_id,
            Some(actor),
            now,
            TimelineKind::ShipmentUpdated,
            format!("Shipment {} is {}", row.number, row.status),
            serde_json::json!({"shipment_id": id, "status": row.status.as_str(), "route_sheet": row.route_sheet}),
        )?;
        shipment_view(conn, row)
    })
}

/// Cancels a shipment made by mistake: its quantities return to the order.
pub fn cancel_shipment(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected: Option<i64>,
) -> Result<ShipmentView, AppError> {
    actor.require(&permissions::WRITE_SHIPMENTS)?;
    let now = app.now();
    app.write(|conn| {
        let mut row = q::find_shipment(conn, id.into())?.ok_or(AppError::NotFound("shipment"))?;
        let order = visible_order(conn, actor, row.order_id.0).map_err(|_| AppError::NotFound("shipment"))?;
        sq::lock_interest(conn, order.interest_id)?;
        check_version(expected, row.version)?;
        if row.status == ShipmentStatus::Cancelled {
            return Err(AppError::conflict(None, "the shipment is already cancelled"));
        }
        let shipped = q::shipment_lines_of(conn, row.id)?;
        let mut lines = q::lines_of(conn, &[order.id])?;
        for s in &shipped {
            if let Some(l) = lines.iter_mut().find(|l| l.id == s.order_line_id) {
                l.shipped_quantity = (l.shipped_quantity - s.quantity).max(0);
            }
        }
        for l in &lines {
            q::update_line(conn, l)?;
        }
        let v = row.version;
        row.status = ShipmentStatus::Cancelled.into();
        row.version += 1;
        row.updated_at = now.naive_utc();
        if q::update_shipment(conn, &row, v)? != 1 {
            return Err(AppError::PreconditionFailed { expected: v, current: v + 1 });
        }
        timeline(
            conn,
            order.interest_id,
            Some(actor),
            now,
            TimelineKind::ShipmentCancelled,
            format!("Shipment {} cancelled", row.number),
            serde_json::json!({"shipment_id": id}),
        )?;
        outbox::record(
            conn,
            now,
            Some(actor),
            EventType::ShipmentCancelled,
            "shipment",
            id,
            serde_json::json!({"id": id}),
        )?;
        crate::documents::orders::figures_changed(conn, now, actor, order.id.0)?;
        shipment_view(conn, row)
    })
}
