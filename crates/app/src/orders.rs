//! Orders, payments and shipments, and the automatic stage moves they cause:
//! a payment that completes an interest's orders, or a shipment that ships
//! them in full, runs the scenario's event in the same transaction.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use crm_domain::pricing::{Line, Quantity, VatRate};
use crm_domain::{Money, Role};
use crm_scenario::DomainEvent;
use crm_store::queries::{catalog as cq, orders as q, sales as sq};
use crm_store::rows::{OrderLineRow, OrderRow, PaymentRow, ShipmentLineRow, ShipmentRow};
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::error::{check_version, AppError, Problems, Unmet};
use crate::permissions::{self, Access};
use crate::principal::Principal;
use crate::sales::interests::apply_event;
use crate::sales::{actor_parts, create_task, timeline, visibility, Visibility};
use crate::{outbox, App};

#[derive(Debug, Clone)]
pub struct OrderLineView {
    pub id: Uuid,
    pub position: i32,
    pub product_id: Option<Uuid>,
    pub description: String,
    pub quantity: Quantity,
    pub unit_price: Money,
    pub discount_bp: i32,
    pub vat_rate: String,
    pub price_includes_vat: bool,
    pub net: Money,
    pub vat: Money,
    pub total: Money,
    pub shipped_quantity: Quantity,
}

#[derive(Debug, Clone)]
pub struct OrderView {
    pub id: Uuid,
    pub number: String,
    pub interest_id: Uuid,
    pub client_id: Option<Uuid>,
    pub status: String,
    pub currency: String,
    pub net: Money,
    pub vat: Money,
    pub total: Money,
    pub paid: Money,
    /// Paid share in percent (may exceed 100 when overpaid).
    pub paid_percent: i64,
    /// Shipped share by quantity, in percent.
    pub shipped_percent: i64,
    pub lines: Vec<OrderLineView>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn percent(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        return 0;
    }
    i64::try_from(crm_domain::pricing::div_round(i128::from(part) * 100, i128::from(whole))).unwrap_or(0)
}

fn order_view(conn: &mut DbConnection, row: OrderRow) -> Result<OrderView, AppError> {
    let lines = q::lines_of(conn, &[row.id])?;
    let client = sq::find_interest(conn, row.interest_id)?.and_then(|i| i.client_id).map(Into::into);
    let (qty, shipped): (i64, i64) =
        lines.iter().fold((0, 0), |a, l| (a.0 + l.quantity, a.1 + l.shipped_quantity));
    Ok(OrderView {
        id: row.id.0,
        number: row.number,
        interest_id: row.interest_id.0,
        client_id: client,
        status: row.status,
        currency: row.currency,
        net: Money(row.net_minor),
        vat: Money(row.vat_minor),
        total: Money(row.total_minor),
        paid: Money(row.paid_minor),
        paid_percent: percent(row.paid_minor, row.total_minor),
        shipped_percent: percent(shipped, qty),
        lines: lines
            .into_iter()
            .map(|l| OrderLineView {
                id: l.id.0,
                position: l.position,
                product_id: l.product_id.map(Into::into),
                description: l.description,
                quantity: Quantity(l.quantity),
                unit_price: Money(l.unit_price_minor),
                discount_bp: l.discount_bp,
                vat_rate: l.vat_rate,
                price_includes_vat: l.price_includes_vat,
                net: Money(l.net_minor),
                vat: Money(l.vat_minor),
                total: Money(l.total_minor),
                shipped_quantity: Quantity(l.shipped_quantity),
            })
            .collect(),
        confirmed_at: row.confirmed_at.map(|t| t.and_utc()),
        version: row.version,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    })
}

/// Accountants (and admins, integrations, keys) see every order; others those of interests they see.
fn order_visibility(conn: &mut DbConnection, actor: &Principal) -> Result<Visibility, AppError> {
    match actor {
        Principal::User(u) if u.role == Role::Accountant => Ok(Visibility::All),
        _ => visibility(conn, actor),
    }
}

fn visible_order(conn: &mut DbConnection, actor: &Principal, id: Uuid) -> Result<OrderRow, AppError> {
    let row = q::find_order(conn, id.into())?.ok_or(AppError::NotFound("order"))?;
    let interest = sq::find_interest(conn, row.interest_id)?.ok_or(AppError::NotFound("order"))?;
    if !order_visibility(conn, actor)?.allows(interest.responsible_id.0) {
        return Err(AppError::NotFound("order"));
    }
    Ok(row)
}

fn number(conn: &mut DbConnection, prefix: &str, now: DateTime<Utc>) -> Result<String, AppError> {
    let n = q::next_number(conn, prefix, now.year())?;
    Ok(format!("{prefix}-{}-{n:06}", now.year()))
}

#[derive(Debug, Clone, Default)]
pub struct LineInput {
    pub product_id: Option<Uuid>,
    pub description: Option<String>,
    pub quantity: String,
    pub unit_price: Option<String>,
    pub discount_percent: Option<String>,
    pub vat_rate: Option<String>,
    pub price_includes_vat: Option<bool>,
}

/// Creates a draft order on an interest: lines from the catalogue or free
/// text, totals computed line by line.
pub fn create_order(
    app: &App,
    actor: &Principal,
    interest: Uuid,
    lines: Vec<LineInput>,
) -> Result<OrderView, AppError> {
    actor.require(&permissions::WRITE_ORDERS)?;
    let mut p = Problems::new();
    if lines.is_empty() || lines.len() > 500 {
        p.push("lines", "count", "give 1 to 500 lines");
    }
    let mut parsed = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let qty = p.check(&format!("lines[{i}].quantity"), Quantity::parse(&l.quantity));
        let price =
            l.unit_price.as_deref().and_then(|x| p.check(&format!("lines[{i}].unit_price"), Money::parse(x)));
        if price.is_some_and(|m| m.0 < 0) {
            p.push(&format!("lines[{i}].unit_price"), "negative", "must not be negative");
        }
        let rate =
            l.vat_rate.as_deref().and_then(|x| p.check(&format!("lines[{i}].vat_rate"), VatRate::parse(x)));
        let discount = match l.discount_percent.as_deref() {
            None => Some(0u32),
            Some(d) => match VatRate::parse(d) {
                Ok(VatRate::Percent(bp)) if bp <= 10_000 => Some(bp),
                _ => {
                    p.push(&format!("lines[{i}].discount_percent"), "invalid", "a percentage from 0 to 100");
                    None
                }
            },
        };
        if l.product_id.is_none()
            && (l.description.as_deref().is_none_or(|d| d.trim().is_empty()) || l.unit_price.is_none())
        {
            p.push(
                &format!("lines[{i}]"),
                "incomplete",
                "a free-text line needs a description and a unit price",
            );
        }
        parsed.push((qty, price, rate, discount));
    }
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        let (interest_row, _) = crate::sales::visible_interest(conn, actor, interest)?;
        if !matches!(interest_row.state.as_str(), "active") {
            return Err(AppError::rule("interest_active", "orders are made on open interests"));
        }
        let id = crm_domain::new_id();
        let mut order = OrderRow {
            id: id.into(),
            number: number(conn, "ORD", now)?,
            interest_id: interest_row.id,
            status: "draft".into(),
            currency: interest_row.currency.clone(),
            net_minor: 0,
            vat_minor: 0,
            total_minor: 0,
            paid_minor: 0,
            confirmed_at: None,
            version: 1,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
        };
        q::insert_order(conn, &order)?;
        let mut unmet = Vec::new();
        for (i, (l, (qty, price, rate, discount))) in lines.iter().zip(parsed).enumerate() {
            let product = match l.product_id {
                Some(pid) => match cq::find_product(conn, pid.into())? {
                    Some(prod) if prod.active => Some(prod),
                    _ => {
                        unmet.push(Unmet::new("product_exists", format!("lines[{i}]: no active product {pid}")));
                        continue;
                    }
                },
                None => None,
            };
            let (Some(qty), Some(discount)) = (qty, discount) else { continue };
            let unit_price = price.or(product.as_ref().map(|pr| Money(pr.price_minor))).unwrap_or_default();
            let vat = rate
                .or_else(|| product.as_ref().and_then(|pr| VatRate::parse(&pr.vat_rate).ok()))
                .unwrap_or(VatRate::Percent(2200));
            let includes = l.price_includes_vat.or(product.as_ref().map(|pr| pr.price_includes_vat)).unwrap_or(true);
            let amounts = Line { unit_price, quantity: qty, discount_bp: discount, vat, price_includes_vat: includes }.amounts();
            let description = l
                .description
                .clone()
                .filter(|d| !d.trim().is_empty())
                .or(product.as_ref().map(|pr| pr.name.clone()))
                .unwrap_or_default();
            q::insert_line(conn, &OrderLineRow {
                id: crm_domain::new_id().into(),
                order_id: order.id,
                position: i32::try_from(i).unwrap_or(i32::MAX),
                product_id: l.product_id.map(Into::into),
                description: description.chars().take(500).collect(),
                quantity: qty.0,
                unit_price_minor: unit_price.0,
                discount_bp: i32::try_from(discount).unwrap_or(0),
                vat_rate: vat.to_string(),
                price_includes_vat: includes,
                net_minor: amounts.net.0,
                vat_minor: amounts.vat.0,
                total_minor: amounts.total.0,
                shipped_quantity: 0,
            })?;
            order.net_minor += amounts.net.0;
            order.vat_minor += amounts.vat.0;
            order.total_minor += amounts.total.0;
        }
        if !unmet.is_empty() {
            return Err(AppError::Rules(unmet));
        }
        q::update_order(conn, &order, 1)?;
        timeline(conn, order.interest_id, Some(actor), now, "order_created", format!("Order {} drafted for {}", order.number, Money(order.total_minor)),
            serde_json::json!({"order_id": id, "number": order.number, "total": Money(order.total_minor).to_string()}))?;
        outbox::record(conn, now, Some(actor), "order.created", "order", id, serde_json::json!({"id": id, "number": order.number}))?;
        let order = q::find_order(conn, order.id)?.ok_or(AppError::NotFound("order"))?;
        order_view(conn, order)
    })
}

pub fn get_order(app: &App, actor: &Principal, id: Uuid) -> Result<OrderView, AppError> {
    actor.require(&permissions::READ_ORDERS)?;
    app.read(|conn| {
        let row = visible_order(conn, actor, id)?;
        order_view(conn, row)
    })
}

pub fn list_interest_orders(
    app: &App,
    actor: &Principal,
    interest: Uuid,
) -> Result<Vec<OrderView>, AppError> {
    actor.require(&permissions::READ_ORDERS)?;
    app.read(|conn| {
        let row = sq::find_interest(conn, interest.into())?.ok_or(AppError::NotFound("interest"))?;
        if !order_visibility(conn, actor)?.allows(row.responsible_id.0) {
            return Err(AppError::NotFound("interest"));
        }
        q::orders_of_interest(conn, row.id)?.into_iter().map(|o| order_view(conn, o)).collect()
    })
}

fn change_status(
    app: &App,
    actor: &Principal,
    access: &Access,
    id: Uuid,
    expected: Option<i64>,
    to: &str,
) -> Result<OrderView, AppError> {
    actor.require(access)?;
    let now = app.now();
    app.write(|conn| {
        let mut row = visible_order(conn, actor, id)?;
        check_version(expected, row.version)?;
        let allowed = match (row.status.as_str(), to) {
            ("draft", "confirmed") => q::lines_of(conn, &[row.id])?
                .is_empty()
                .then_some("an order without lines cannot be confirmed"),
            ("draft" | "confirmed", "cancelled") => (row.paid_minor > 0)
                .then_some("an order with payments cannot be cancelled; cancel the payments first"),
            (from, _) => return Err(AppError::conflict(None, format!("a {from} order cannot become {to}"))),
        };
        if let Some(why) = allowed {
            return Err(AppError::rule("order_status", why));
        }
        let version = row.version;
        row.status = to.to_owned();
        if to == "confirmed" {
            row.confirmed_at = Some(now.naive_utc());
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
            &format!("order_{to}"),
            format!("Order {} {to}", row.number),
            serde_json::json!({"order_id": id}),
        )?;
        outbox::record(
            conn,
            now,
            Some(actor),
            &format!("order.{to}"),
            "order",
            id,
            serde_json::json!({"id": id, "status": to}),
        )?;
        order_view(conn, row)
    })
}

/// Posts the order: its lines and totals are frozen from now on.
pub fn confirm_order(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected: Option<i64>,
) -> Result<OrderView, AppError> {
    change_status(app, actor, &permissions::WRITE_ORDERS, id, expected, "confirmed")
}

pub fn cancel_order(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected: Option<i64>,
) -> Result<OrderView, AppError> {
    change_status(app, actor, &permissions::WRITE_ORDERS, id, expected, "cancelled")
}

/// Whether every confirmed order of the interest is paid, and shipped, in full.
fn coverage(conn: &mut DbConnection, interest: DbUuid) -> Result<(usize, bool, bool, i64), AppError> {
    let orders: Vec<OrderRow> =
        q::orders_of_interest(conn, interest)?.into_iter().filter(|o| o.status == "confirmed").collect();
    let ids: Vec<DbUuid> = orders.iter().map(|o| o.id).collect();
    let lines = if ids.is_empty() { Vec::new() } else { q::lines_of(conn, &ids)? };
    let paid = !orders.is_empty() && orders.iter().all(|o| o.paid_minor >= o.total_minor);
    let shipped = !orders.is_empty() && lines.iter().all(|l| l.shipped_quantity >= l.quantity);
    let revenue = orders.iter().map(|o| o.total_minor).sum();
    Ok((orders.len(), paid, shipped, revenue))
}

/// Order facts for the rule engine's snapshot: count, fully paid, fully shipped, revenue.
pub(crate) fn order_facts(
    conn: &mut DbConnection,
    interest: DbUuid,
) -> Result<(usize, bool, bool, i64), AppError> {
    coverage(conn, interest)
}

#[derive(Debug, Clone)]
pub struct PaymentView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub amount: Money,
    pub paid_on: DateTime<Utc>,
    pub external_ref: Option<String>,
    pub payer: Option<String>,
    pub comment: Option<String>,
    pub status: String,
    pub overpaid: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn payment_view(r: PaymentRow) -> PaymentView {
    PaymentView {
        id: r.id.0,
        order_id: r.order_id.0,
        amount: Money(r.amount_minor),
        paid_on: r.paid_on.and_utc(),
        external_ref: r.external_ref,
        payer: r.payer,
        comment: r.comment,
        status: r.status,
        overpaid: r.overpaid,
        version: r.version,
        created_at: r.created_at.and_utc(),
        updated_at: r.updated_at.and_utc(),
    }
}

#[derive(Debug, Clone)]
pub struct PaymentInput {
    pub order_id: Uuid,
    pub amount: String,
    pub paid_on: Option<DateTime<Utc>>,
    pub external_ref: Option<String>,
    pub payer: Option<String>,
    pub comment: Option<String>,
}

fn fallback_tz(app: &App) -> Tz {
    app.settings().default_time_zone.tz()
}

/// Registers a payment. The bank document's id dedupes: the same one again
/// returns the first payment (`false`). When it completes every confirmed
/// order of the interest, "orders fully paid" runs in this transaction.
pub fn register_payment(
    app: &App,
    actor: &Principal,
    input: PaymentInput,
) -> Result<(PaymentView, bool), AppError> {
    actor.require(&permissions::WRITE_PAYMENTS)?;
    let mut p = Problems::new();
    let amount = p.check("amount", Money::parse(&input.amount));
    if amount.is_some_and(|a| a.0 <= 0) {
        p.push("amount", "not_positive", "must be more than zero");
    }
    p.into_result()?;
    let Some(amount) = amount else { return Err(AppError::internal("validated amount missing")) };
    let now = app.now();
    let fallback = fallback_tz(app);
    app.write(|conn| {
        if let Some(r) = &input.external_ref {
            if let Some(existing) = q::payment_by_ref(conn, r)? {
                return Ok((payment_view(existing), false));
            }
        }
        let found = q::find_order(conn, input.order_id.into())?.ok_or(AppError::NotFound("order"))?;
        // Payments of one interest run one after another across instances, so
        // the one that completes it sees the others and fires the move once.
        sq::lock_interest(conn, found.interest_id)?;
        let mut order = q::find_order(conn, found.id)?.ok_or(AppError::NotFound("order"))?;
        if order.status != "confirmed" {
            return Err(AppError::rule("order_confirmed", format!("order {} is {}; only confirmed orders take payments", order.number, order.status)));
        }
        let version = order.version;
        order.paid_minor += amount.0;
        order.version += 1;
        order.updated_at = now.naive_utc();
        let overpaid = order.paid_minor > order.total_minor;
        q::update_order(conn, &order, version)?;
        let row = PaymentRow {
            id: crm_domain::new_id().into(),
            order_id: order.id,
            amount_minor: amount.0,
            paid_on: input.paid_on.unwrap_or(now).naive_utc(),
            external_ref: input.external_ref.clone(),
            payer: input.payer.clone().map(|s| s.chars().take(300).collect()),
            comment: input.comment.clone().map(|s| s.chars().take(2000).collect()),
            status: "posted".into(),
            overpaid,
            created_by: actor_parts(Some(actor)).1,
            version: 1,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
        };
        match q::insert_payment(conn, &row) {
            Ok(()) => {}
            Err(e) if crm_store::db::is_unique_violation(&e) => {
                // The same bank document raced in: its first registration stands.
                return Err(AppError::conflict(Some("external_ref"), "this bank document is being registered right now; retry"));
            }
            Err(e) => return Err(e.into()),
        }
        let note = if overpaid { " (overpaid)" } else { "" };
        timeline(conn, order.interest_id, Some(actor), now, "payment_registered", format!("Payment {amount} for order {}{note}", order.number),
            serde_json::json!({"payment_id": row.id.0, "order_id": order.id.0, "amount": amount.to_string(), "overpaid": overpaid}))?;
        outbox::record(conn, now, Some(actor), "payment.registered", "payment", row.id.0, serde_json::json!({"id": row.id.0, "order_id": order.id.0, "amount": amount.to_string()}))?;
        let (_, paid, _, _) = coverage(conn, order.interest_id)?;
        if paid {
            apply_event(conn, Some(actor), now, fallback, order.interest_id.0, DomainEvent::OrdersFullyPaid)?;
        }
        Ok((payment_view(row), true))
    })
}

/// Cancels a mistaken payment. Coverage is recomputed; a stage the interest
/// already moved to stays, and its manager gets a task to look at it.
pub fn cancel_payment(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected: Option<i64>,
) -> Result<PaymentView, AppError> {
    actor.require(&permissions::WRITE_PAYMENTS)?;
    let now = app.now();
    app.write(|conn| {
        let mut row = q::find_payment(conn, id.into())?.ok_or(AppError::NotFound("payment"))?;
        check_version(expected, row.version)?;
        if row.status != "posted" {
            return Err(AppError::conflict(None, "the payment is already cancelled"));
        }
        let found = q::find_order(conn, row.order_id)?.ok_or(AppError::NotFound("order"))?;
        sq::lock_interest(conn, found.interest_id)?;
        let mut order = q::find_order(conn, found.id)?.ok_or(AppError::NotFound("order"))?;
        let ov = order.version;
        order.paid_minor -= row.amount_minor;
        order.version += 1;
        order.updated_at = now.naive_utc();
        q::update_order(conn, &order, ov)?;
        let v = row.version;
        row.status = "cancelled".into();
        row.version += 1;
        row.updated_at = now.naive_utc();
        q::update_payment(conn, &row, v)?;
        let interest = sq::find_interest(conn, order.interest_id)?.ok_or(AppError::NotFound("interest"))?;
        timeline(
            conn,
            interest.id,
            Some(actor),
            now,
            "payment_cancelled",
            format!("Payment {} for order {} cancelled", Money(row.amount_minor), order.number),
            serde_json::json!({"payment_id": id}),
        )?;
        create_task(
            conn,
            Some(actor),
            now,
            Some(interest.id),
            &format!("A payment for order {} was cancelled: check the deal", order.number),
            "payment_check",
            interest.responsible_id,
            now + chrono::Duration::days(1),
            None,
        )?;
        outbox::record(
            conn,
            now,
            Some(actor),
            "payment.cancelled",
            "payment",
            id,
            serde_json::json!({"id": id}),
        )?;
        Ok(payment_view(row))
    })
}

pub fn list_payments(app: &App, actor: &Principal, order: Uuid) -> Result<Vec<PaymentView>, AppError> {
    actor.require(&permissions::READ_PAYMENTS)?;
    app.read(|conn| {
        let row = visible_order(conn, actor, order)?;
        Ok(q::payments_of(conn, row.id)?.into_iter().map(payment_view).collect())
    })
}

#[derive(Debug, Clone)]
pub struct ShipmentView {
    pub id: Uuid,
    pub number: String,
    pub order_id: Uuid,
    pub kind: String,
    pub shipped_on: DateTime<Utc>,
    pub status: String,
    pub route_sheet: Option<String>,
    pub notes: Option<String>,
    pub lines: Vec<(Uuid, Quantity)>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn shipment_view(conn: &mut DbConnection, r: ShipmentRow) -> Result<ShipmentView, AppError> {
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
        status: r.status,
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
    p.into_result()?;
    let now = app.now();
    let fallback = fallback_tz(app);
    app.write(|conn| {
        let order = visible_order(conn, actor, order)?;
        sq::lock_interest(conn, order.interest_id)?;
        let order = q::find_order(conn, order.id)?.ok_or(AppError::NotFound("order"))?;
        if order.status != "confirmed" {
            return Err(AppError::rule("order_confirmed", "only a confirmed order ships"));
        }
        let mut lines = q::lines_of(conn, &[order.id])?;
        let mut unmet = Vec::new();
        for (i, ((line_id, _), qty)) in input.lines.iter().zip(&qtys).enumerate() {
            let Some(qty) = qty else { continue };
            match lines.iter_mut().find(|l| l.id.0 == *line_id) {
                None => {
                    unmet.push(Unmet::new("line_of_order", format!("lines[{i}]: not a line of this order")))
                }
                Some(l) if l.shipped_quantity + qty.0 > l.quantity => unmet.push(Unmet::new(
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
            number: number(conn, "SHP", now)?,
            order_id: order.id,
            kind: input.kind.clone(),
            shipped_on: input.shipped_on.unwrap_or(now).naive_utc(),
            status: "preparing".into(),
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
        timeline(
            conn,
            order.interest_id,
            Some(actor),
            now,
            "shipment_made",
            format!("Shipment {} for order {}", row.number, order.number),
            serde_json::json!({"shipment_id": row.id.0, "order_id": order.id.0}),
        )?;
        outbox::record(
            conn,
            now,
            Some(actor),
            "shipment.created",
            "shipment",
            row.id.0,
            serde_json::json!({"id": row.id.0, "order_id": order.id.0}),
        )?;
        apply_event(conn, Some(actor), now, fallback, order.interest_id.0, DomainEvent::ShipmentMade)?;
        let (_, _, shipped, _) = coverage(conn, order.interest_id)?;
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
    if c.status
        .as_deref()
        .is_some_and(|s| !matches!(s, "preparing" | "in_transit" | "delivered" | "returned"))
    {
        return Err(AppError::field("status", "invalid", "preparing, in_transit, delivered or returned"));
    }
    let now = app.now();
    app.write(|conn| {
        let mut row = q::find_shipment(conn, id.into())?.ok_or(AppError::NotFound("shipment"))?;
        let order = visible_order(conn, actor, row.order_id.0).map_err(|_| AppError::NotFound("shipment"))?;
        check_version(expected, row.version)?;
        if row.status == "cancelled" {
            return Err(AppError::conflict(None, "the shipment is cancelled"));
        }
        let v = row.version;
        if let Some(s) = c.status {
            row.status = s;
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
            "shipment_updated",
            format!("Shipment {} is {}", row.number, row.status),
            serde_json::json!({"shipment_id": id, "status": row.status, "route_sheet": row.route_sheet}),
        )?;
        shipment_view(conn, row)
    })
}

/// Orders for integrators and lists: by status and `updated_since`, only
/// those of interests the actor may see (accountants, admins and keys: all).
pub fn list_orders(
    app: &App,
    actor: &Principal,
    status: Option<String>,
    updated_since: Option<DateTime<Utc>>,
    page: crate::page::PageRequest,
) -> Result<crate::page::Page<OrderView>, AppError> {
    actor.require(&permissions::READ_ORDERS)?;
    if status.as_deref().is_some_and(|s| !matches!(s, "draft" | "confirmed" | "cancelled")) {
        return Err(AppError::field("status", "invalid", "draft, confirmed or cancelled"));
    }
    app.read(|conn| {
        let responsible = order_visibility(conn, actor)?.filter();
        let rows = q::list_orders(
            conn,
            status.as_deref(),
            updated_since.map(|t| t.naive_utc()),
            responsible,
            page.query(),
        )?;
        let page = crate::page::Page::from_rows(rows, page, |r| r.id.0, |r| r);
        let items = page.items.into_iter().map(|r| order_view(conn, r)).collect::<Result<Vec<_>, _>>()?;
        Ok(crate::page::Page { items, next_after: page.next_after })
    })
}

/// Payments for accounting systems: by order and `updated_since`.
pub fn list_all_payments(
    app: &App,
    actor: &Principal,
    order: Option<Uuid>,
    updated_since: Option<DateTime<Utc>>,
    page: crate::page::PageRequest,
) -> Result<crate::page::Page<PaymentView>, AppError> {
    actor.require(&permissions::READ_PAYMENTS)?;
    app.read(|conn| {
        let all = matches!(order_visibility(conn, actor)?, Visibility::All);
        if !all && order.is_none() {
            return Err(AppError::field(
                "order_id",
                "required",
                "name the order; only accounting lists every payment",
            ));
        }
        if let Some(o) = order {
            visible_order(conn, actor, o)?;
        }
        let rows = q::list_payments(
            conn,
            order.map(Into::into),
            updated_since.map(|t| t.naive_utc()),
            page.query(),
        )?;
        Ok(crate::page::Page::from_rows(rows, page, |r| r.id.0, payment_view))
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
        if row.status == "cancelled" {
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
        row.status = "cancelled".into();
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
            "shipment_cancelled",
            format!("Shipment {} cancelled", row.number),
            serde_json::json!({"shipment_id": id}),
        )?;
        outbox::record(
            conn,
            now,
            Some(actor),
            "shipment.cancelled",
            "shipment",
            id,
            serde_json::json!({"id": id}),
        )?;
        shipment_view(conn, row)
    })
}
