//! The read model of an order: lines, schedule, coverage; who may see one;
//! numbering and the organisation's calendar day.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use crm_domain::documents::{allocate, InstalmentCoverage};
use crm_domain::pricing::Quantity;
use crm_domain::status::{InstalmentStatus, OrderStatus};
use crm_domain::{Money, Role};
use crm_store::queries::{documents as dq, orders as q, sales as sq};
use crm_store::rows::{InstalmentRow, OrderLineRow, OrderRow};
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::identity::policy::{visibility, Visibility};
use crate::identity::principal::Principal;
use crate::platform::error::AppError;
use crate::App;

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
    /// The quote line this line orders (orders made from a quote).
    pub quote_line_id: Option<Uuid>,
}

/// One instalment of an order's payment schedule, with what it has received.
#[derive(Debug, Clone)]
pub struct InstalmentView {
    pub position: i32,
    pub amount: Money,
    pub paid: Money,
    /// `on_confirmation | before_shipment | after_shipment | fixed_date`.
    pub trigger: String,
    pub days_offset: i32,
    /// Known once its trigger happened (always for a fixed date).
    pub due_on: Option<NaiveDate>,
    pub status: InstalmentStatus,
}

#[derive(Debug, Clone)]
pub struct OrderView {
    pub id: Uuid,
    pub number: String,
    pub interest_id: Uuid,
    pub client_id: Option<Uuid>,
    pub quote_id: Option<Uuid>,
    pub agreement_id: Option<Uuid>,
    pub schedule: Vec<InstalmentView>,
    pub status: OrderStatus,
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

pub(in crate::documents) fn percent(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        return 0;
    }
    i64::try_from(crm_domain::pricing::div_round(i128::from(part) * 100, i128::from(whole))).unwrap_or(0)
}

/// The schedule as integrators read it: payments cover instalments in order;
/// an instalment not paid in full after its due date is overdue.
pub(in crate::documents) fn schedule_view(
    rows: Vec<InstalmentRow>,
    paid: Money,
    today: NaiveDate,
) -> Vec<InstalmentView> {
    let amounts: Vec<Money> = rows.iter().map(|r| Money::from_minor(r.amount_minor)).collect();
    rows.into_iter()
        .zip(allocate(paid, &amounts))
        .map(|(r, cov)| {
            let due_on = r.due_on.map(|d| d.date());
            let late = due_on.is_some_and(|d| d < today);
            let (got, status) = match cov {
                InstalmentCoverage::Paid => (r.amount_minor, InstalmentStatus::Paid),
                InstalmentCoverage::PartiallyPaid(m) if !late => (m.minor(), InstalmentStatus::PartiallyPaid),
                InstalmentCoverage::PartiallyPaid(m) => (m.minor(), InstalmentStatus::Overdue),
                InstalmentCoverage::Unpaid if late => (0, InstalmentStatus::Overdue),
                InstalmentCoverage::Unpaid => (0, InstalmentStatus::Due),
            };
            InstalmentView {
                position: r.position,
                amount: Money::from_minor(r.amount_minor),
                paid: Money::from_minor(got),
                trigger: r.due_trigger,
                days_offset: r.days_offset,
                due_on,
                status: status.to_owned(),
            }
        })
        .collect()
}

/// Today in the organisation's zone, for instalment due dates.
pub(crate) fn today(app: &App) -> NaiveDate {
    app.now().with_timezone(&fallback_tz(app)).date_naive()
}

pub(crate) fn order_view(
    conn: &mut DbConnection,
    row: OrderRow,
    today: NaiveDate,
) -> Result<OrderView, AppError> {
    order_views(conn, vec![row], today)?.pop().ok_or_else(|| AppError::internal("order view missing"))
}

/// Read models of many orders with one query each for their lines,
/// schedules and interests (a sync page is up to 200 orders).
pub(crate) fn order_views(
    conn: &mut DbConnection,
    rows: Vec<OrderRow>,
    today: NaiveDate,
) -> Result<Vec<OrderView>, AppError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<DbUuid> = rows.iter().map(|r| r.id).collect();
    let mut lines: std::collections::HashMap<DbUuid, Vec<OrderLineRow>> = std::collections::HashMap::new();
    for l in q::lines_of(conn, &ids)? {
        lines.entry(l.order_id).or_default().push(l);
    }
    let mut instalments: std::collections::HashMap<DbUuid, Vec<InstalmentRow>> =
        std::collections::HashMap::new();
    for i in dq::instalments_of_orders(conn, &ids)? {
        instalments.entry(i.order_id).or_default().push(i);
    }
    let interest_ids: Vec<DbUuid> = rows.iter().map(|r| r.interest_id).collect();
    let clients: std::collections::HashMap<DbUuid, Option<DbUuid>> =
        sq::find_interests(conn, &interest_ids)?.into_iter().map(|i| (i.id, i.client_id)).collect();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mine = lines.remove(&row.id).unwrap_or_default();
        let due = instalments.remove(&row.id).unwrap_or_default();
        let client = clients.get(&row.interest_id).copied().flatten().map(Into::into);
        out.push(build_order_view(row, mine, due, client, today));
    }
    Ok(out)
}

pub(in crate::documents) fn build_order_view(
    row: OrderRow,
    lines: Vec<OrderLineRow>,
    instalments: Vec<InstalmentRow>,
    client: Option<Uuid>,
    today: NaiveDate,
) -> OrderView {
    let schedule = schedule_view(instalments, Money::from_minor(row.paid_minor), today);
    let (qty, shipped): (i64, i64) =
        // Only the shipped share is read from these; saturating keeps it sane at any size.
        lines.iter().fold((0i64, 0i64), |a, l| (a.0.saturating_add(l.quantity), a.1.saturating_add(l.shipped_quantity)));
    OrderView {
        id: row.id.0,
        number: row.number,
        interest_id: row.interest_id.0,
        client_id: client,
        quote_id: row.quote_id.map(Into::into),
        agreement_id: row.agreement_id.map(Into::into),
        schedule,
        status: row.status.0,
        currency: row.currency,
        net: Money::from_minor(row.net_minor),
        vat: Money::from_minor(row.vat_minor),
        total: Money::from_minor(row.total_minor),
        paid: Money::from_minor(row.paid_minor),
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
                unit_price: Money::from_minor(l.unit_price_minor),
                discount_bp: l.discount_bp,
                vat_rate: l.vat_rate,
                price_includes_vat: l.price_includes_vat,
                net: Money::from_minor(l.net_minor),
                vat: Money::from_minor(l.vat_minor),
                total: Money::from_minor(l.total_minor),
                shipped_quantity: Quantity(l.shipped_quantity),
                quote_line_id: l.quote_line_id.map(Into::into),
            })
            .collect(),
        confirmed_at: row.confirmed_at.map(|t| t.and_utc()),
        version: row.version,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    }
}

/// Accountants (and admins, integrations, keys) see every order; others those of interests they see.
pub(crate) fn order_visibility(conn: &mut DbConnection, actor: &Principal) -> Result<Visibility, AppError> {
    match actor {
        Principal::User(u) if matches!(u.role, Role::Accountant | Role::Procurement) => Ok(Visibility::All),
        _ => visibility(conn, actor),
    }
}

pub(crate) fn visible_order(
    conn: &mut DbConnection,
    actor: &Principal,
    id: Uuid,
) -> Result<OrderRow, AppError> {
    let row = q::find_order(conn, id.into())?.ok_or(AppError::NotFound("order"))?;
    let interest = sq::find_interest(conn, row.interest_id)?.ok_or(AppError::NotFound("order"))?;
    if !order_visibility(conn, actor)?.allows(interest.responsible_id.0) {
        return Err(AppError::NotFound("order"));
    }
    Ok(row)
}

/// The next document number of a kind: `ORD-2026-000045`, counted per year
/// of the organisation's calendar (`day` is its date): an order confirmed
/// at 01:00 Moscow on 1 January is a new year's document.
pub(crate) fn number(conn: &mut DbConnection, prefix: &str, day: NaiveDate) -> Result<String, AppError> {
    let n = q::next_number(conn, prefix, day.year())?;
    Ok(format!("{prefix}-{}-{n:06}", day.year()))
}

/// The organisation's calendar date of a stored UTC time (document dates
/// print in the zone the business works in, not UTC).
pub(crate) fn org_date(tz: Tz, at: chrono::NaiveDateTime) -> NaiveDate {
    at.and_utc().with_timezone(&tz).date_naive()
}

pub(crate) fn midnight(d: NaiveDate) -> chrono::NaiveDateTime {
    d.and_time(chrono::NaiveTime::MIN)
}

pub(crate) fn fallback_tz(app: &App) -> Tz {
    app.settings().default_time_zone.tz()
}

/// Records that an order's paid or shipped figures moved with a payment or
/// shipment: its GET changed, so the change feed gets the order as it now reads.
pub(crate) fn figures_changed(
    conn: &mut DbConnection,
    now: chrono::DateTime<chrono::Utc>,
    actor: &Principal,
    order: Uuid,
) -> Result<(), AppError> {
    crate::platform::outbox::record(
        conn,
        now,
        Some(actor),
        crm_domain::events::EventType::OrderUpdated,
        "order",
        order,
        serde_json::json!({"id": order, "figures": true}),
    )
}
