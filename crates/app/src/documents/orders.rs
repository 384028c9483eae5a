//! Orders, payments and shipments, and the automatic stage moves they cause:
//! a payment that completes an interest's orders, or a shipment that ships
//! them in full, runs the scenario's event in the same transaction.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use crm_domain::documents::{allocate, InstalmentCoverage, OrderStatus};
use crm_domain::pricing::{Line, LineAmounts, Quantity, VatRate};
use crm_domain::{Money, Role};
use crm_scenario::DomainEvent;
use crm_store::queries::{catalog as cq, documents as dq, orders as q, sales as sq};
use crm_store::rows::{
    AgreementRow, InstalmentRow, OrderLineRow, OrderRow, PaymentRow, ShipmentLineRow, ShipmentRow,
};
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::identity::permissions::{self, Access};
use crate::identity::policy::{visibility, Visibility};
use crate::identity::principal::actor_parts;
use crate::identity::principal::Principal;
use crate::platform::error::{check_version, AppError, Problems, Unmet};
use crate::platform::outbox;
use crate::sales::interests::apply_event;
use crate::sales::{create_task, timeline};
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
    /// `paid | partially_paid | due | overdue`.
    pub status: String,
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

/// The schedule as integrators read it: payments cover instalments in order;
/// an instalment not paid in full after its due date is overdue.
fn schedule_view(rows: Vec<InstalmentRow>, paid: Money, today: NaiveDate) -> Vec<InstalmentView> {
    let amounts: Vec<Money> = rows.iter().map(|r| Money::from_minor(r.amount_minor)).collect();
    rows.into_iter()
        .zip(allocate(paid, &amounts))
        .map(|(r, cov)| {
            let due_on = r.due_on.map(|d| d.date());
            let late = due_on.is_some_and(|d| d < today);
            let (got, status) = match cov {
                InstalmentCoverage::Paid => (r.amount_minor, "paid"),
                InstalmentCoverage::PartiallyPaid(m) if !late => (m.minor(), "partially_paid"),
                InstalmentCoverage::PartiallyPaid(m) => (m.minor(), "overdue"),
                InstalmentCoverage::Unpaid if late => (0, "overdue"),
                InstalmentCoverage::Unpaid => (0, "due"),
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

fn build_order_view(
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
        status: row.status,
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

#[derive(Debug, Clone, Default)]
pub struct LineInput {
    /// On a PATCH of an order made from a quote: the quote line this line
    /// orders (then only `quantity` may be given beside it).
    pub quote_line_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub description: Option<String>,
    pub quantity: String,
    pub unit_price: Option<String>,
    pub discount_percent: Option<String>,
    pub vat_rate: Option<String>,
    pub price_includes_vat: Option<bool>,
}

/// A line's input after its own fields parsed, before the catalogue fills gaps.
#[derive(Debug, Clone)]
pub(crate) struct ParsedLine {
    input: LineInput,
    qty: Option<Quantity>,
    price: Option<Money>,
    rate: Option<VatRate>,
    discount: Option<u32>,
}

/// A priced line, ready to store on an order or a quote variant.
#[derive(Debug, Clone)]
pub(crate) struct PricedLine {
    pub quote_line_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub description: String,
    pub line: Line,
    pub amounts: crm_domain::pricing::LineAmounts,
}

impl PricedLine {
    /// The same goods and price for another quantity (a quote line split between orders).
    pub(crate) fn with_quantity(&self, quantity: Quantity) -> Result<Self, crm_domain::TooLarge> {
        let line = Line { quantity, ..self.line };
        Ok(Self {
            quote_line_id: self.quote_line_id,
            product_id: self.product_id,
            description: self.description.clone(),
            line,
            amounts: line.amounts()?,
        })
    }
}

/// Checks each line's own fields, naming problems `{prefix}[i].field`.
pub(crate) fn parse_lines(
    p: &mut Problems,
    settings: &crate::Settings,
    prefix: &str,
    lines: &[LineInput],
) -> Vec<ParsedLine> {
    if lines.is_empty() || lines.len() > 500 {
        p.push(prefix, "count", "give 1 to 500 lines");
    }
    let mut parsed = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let f = |name: &str| format!("{prefix}[{i}].{name}");
        if l.quote_line_id.is_some() {
            p.push(
                &f("quote_line_id"),
                "not_from_quote",
                "only lines of an order made from a quote name a quote line",
            );
        }
        let qty = p.check(&f("quantity"), Quantity::parse(&l.quantity));
        if qty.is_some_and(|q| q.0 <= 0) {
            p.push(&f("quantity"), "not_positive", "must be more than zero");
        }
        let price = l.unit_price.as_deref().and_then(|x| p.check(&f("unit_price"), Money::parse(x)));
        if price.is_some_and(|m| m.minor() < 0) {
            p.push(&f("unit_price"), "negative", "must not be negative");
        }
        let rate = l.vat_rate.as_deref().and_then(|x| settings.vat_rate(p, &f("vat_rate"), x));
        let discount = match l.discount_percent.as_deref() {
            None => Some(0u32),
            Some(d) => match crm_domain::pricing::parse_percent(d) {
                Ok(bp) => Some(bp),
                Err(_) => {
                    p.push(&f("discount_percent"), "invalid", "a percentage from 0 to 100");
                    None
                }
            },
        };
        if l.description.as_deref().is_some_and(|d| d.chars().count() > 500) {
            p.push(&f("description"), "too_long", "must be at most 500 characters");
        }
        if l.product_id.is_none()
            && (l.description.as_deref().is_none_or(|d| d.trim().is_empty()) || l.unit_price.is_none())
        {
            p.push(
                &format!("{prefix}[{i}]"),
                "incomplete",
                "a free-text line needs a description and a unit price",
            );
        }
        parsed.push(ParsedLine { input: l.clone(), qty, price, rate, discount });
    }
    parsed
}

/// Fills catalogue lines from their products (price, VAT, name) and prices
/// every line; an unknown or archived product is an unmet rule.
pub(crate) fn price_lines(
    conn: &mut DbConnection,
    prefix: &str,
    parsed: Vec<ParsedLine>,
) -> Result<Vec<PricedLine>, AppError> {
    let mut unmet = Vec::new();
    let mut out = Vec::new();
    for (i, l) in parsed.into_iter().enumerate() {
        let product = match l.input.product_id {
            Some(pid) => match cq::find_product(conn, pid.into())? {
                Some(prod) if prod.active => Some(prod),
                _ => {
                    unmet.push(Unmet::new(
                        "product_exists",
                        format!("{prefix}[{i}]: no active product {pid}"),
                    ));
                    continue;
                }
            },
            None => None,
        };
        let (Some(qty), Some(discount)) = (l.qty, l.discount) else { continue };
        let unit_price =
            l.price.or(product.as_ref().map(|pr| Money::from_minor(pr.price_minor))).unwrap_or_default();
        let vat = l
            .rate
            .or_else(|| product.as_ref().and_then(|pr| VatRate::parse(&pr.vat_rate).ok()))
            .unwrap_or(VatRate::Percent(2200));
        let includes =
            l.input.price_includes_vat.or(product.as_ref().map(|pr| pr.price_includes_vat)).unwrap_or(true);
        let line =
            Line { unit_price, quantity: qty, discount_bp: discount, vat, price_includes_vat: includes };
        let description = l
            .input
            .description
            .clone()
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty())
            .or(product.as_ref().map(|pr| pr.name.clone()))
            .unwrap_or_default();
        let amounts = match line.amounts() {
            Ok(a) => a,
            Err(e) => {
                unmet.push(Unmet::new("amount_too_large", format!("{prefix}[{i}]: {e}")));
                continue;
            }
        };
        out.push(PricedLine {
            quote_line_id: None,
            product_id: l.input.product_id,
            description: description.chars().take(500).collect(),
            line,
            amounts,
        });
    }
    if unmet.is_empty() {
        // Lines that fit one by one may not fit together.
        if let Err(e) = out.iter().try_fold(LineAmounts::default(), |acc, l| acc.checked_add(l.amounts)) {
            unmet.push(Unmet::new("amount_too_large", format!("{prefix}: the total of the lines: {e}")));
        }
    }
    if !unmet.is_empty() {
        return Err(AppError::Rules(unmet));
    }
    Ok(out)
}

/// Writes an order's lines and totals (the order must still be a draft).
fn write_lines(conn: &mut DbConnection, order: &mut OrderRow, lines: &[PricedLine]) -> Result<(), AppError> {
    let mut totals = LineAmounts::default();
    for (i, l) in lines.iter().enumerate() {
        totals = totals.checked_add(l.amounts)?;
        q::insert_line(
            conn,
            &OrderLineRow {
                id: crm_domain::new_id().into(),
                order_id: order.id,
                position: i32::try_from(i).unwrap_or(i32::MAX),
                product_id: l.product_id.map(Into::into),
                description: l.description.clone(),
                quantity: l.line.quantity.0,
                unit_price_minor: l.line.unit_price.minor(),
                discount_bp: i32::try_from(l.line.discount_bp).unwrap_or(0),
                vat_rate: l.line.vat.to_string(),
                price_includes_vat: l.line.price_includes_vat,
                net_minor: l.amounts.net.minor(),
                vat_minor: l.amounts.vat.minor(),
                total_minor: l.amounts.total.minor(),
                shipped_quantity: 0,
                quote_line_id: l.quote_line_id.map(Into::into),
            },
        )?;
    }
    order.net_minor = totals.net.minor();
    order.vat_minor = totals.vat.minor();
    order.total_minor = totals.total.minor();
    Ok(())
}

/// `{quote_line_id, quantity}` lines of a PATCH of an order made from a quote:
/// nothing else may be given (price, VAT and text are the quote's).
fn parse_quote_lines(p: &mut Problems, lines: &[LineInput]) -> Vec<(Uuid, Quantity)> {
    if lines.is_empty() || lines.len() > 500 {
        p.push("lines", "count", "give 1 to 500 lines");
    }
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let f = |name: &str| format!("lines[{i}].{name}");
        let Some(quote_line) = l.quote_line_id else {
            p.push(
                &f("quote_line_id"),
                "required",
                "every line of an order made from a quote names its quote line",
            );
            continue;
        };
        let others = [
            ("product_id", l.product_id.is_some()),
            ("description", l.description.is_some()),
            ("unit_price", l.unit_price.is_some()),
            ("discount_percent", l.discount_percent.is_some()),
            ("vat_rate", l.vat_rate.is_some()),
            ("price_includes_vat", l.price_includes_vat.is_some()),
        ];
        for (name, given) in others {
            if given {
                p.push(&f(name), "from_quote", "comes from the quote line; only the quantity may be given");
            }
        }
        if let Some(q) = p.check(&f("quantity"), Quantity::parse(&l.quantity)) {
            out.push((quote_line, q));
        }
    }
    out
}

/// A payment schedule entered by hand: amounts with due dates.
#[derive(Debug, Clone)]
pub struct ManualInstalment {
    pub amount: String,
    pub due_on: NaiveDate,
}

/// How an order's schedule is given: none, from its agreement, or by hand.
#[derive(Debug, Clone)]
enum Schedule {
    None,
    FromAgreement(Vec<crate::documents::agreements::Term>),
    Manual(Vec<(Money, NaiveDate)>),
}

pub(crate) fn parse_manual(p: &mut Problems, items: &[ManualInstalment]) -> Vec<(Money, NaiveDate)> {
    if items.len() > 50 {
        p.push("schedule", "count", "at most 50 instalments");
    }
    let mut out = Vec::new();
    for (i, m) in items.iter().enumerate() {
        if let Some(a) = p.check(&format!("schedule[{i}].amount"), Money::parse(&m.amount)) {
            if a.minor() <= 0 {
                p.push(&format!("schedule[{i}].amount"), "not_positive", "must be more than zero");
            }
            out.push((a, m.due_on));
        }
    }
    out
}

pub(crate) fn midnight(d: NaiveDate) -> chrono::NaiveDateTime {
    d.and_time(chrono::NaiveTime::MIN)
}

/// Rewrites the order's schedule for its current total: an agreement's terms
/// split it (summing exactly); a manual schedule must add up to it.
fn write_schedule(conn: &mut DbConnection, order: &OrderRow, schedule: &Schedule) -> Result<(), AppError> {
    let rows: Vec<InstalmentRow> = match schedule {
        Schedule::None => Vec::new(),
        Schedule::FromAgreement(terms) => {
            let shares: Vec<u32> = terms.iter().map(|t| t.percent_bp).collect();
            crm_domain::documents::split_by_percents(Money::from_minor(order.total_minor), &shares)
                .into_iter()
                .zip(terms)
                .filter(|(amount, _)| amount.minor() > 0)
                .enumerate()
                .map(|(i, (amount, t))| InstalmentRow {
                    id: crm_domain::new_id().into(),
                    order_id: order.id,
                    position: i32::try_from(i).unwrap_or(i32::MAX),
                    amount_minor: amount.minor(),
                    due_trigger: t.trigger.clone(),
                    days_offset: t.days_offset,
                    due_on: None,
                    due_checked_at: None,
                })
                .collect()
        }
        Schedule::Manual(items) => {
            let sum = Money::checked_sum(items.iter().map(|(m, _)| *m))?.minor();
            if sum != order.total_minor {
                return Err(AppError::rule(
                    "schedule_total",
                    format!(
                        "the instalments add up to {}, the order's total is {}",
                        Money::from_minor(sum),
                        Money::from_minor(order.total_minor)
                    ),
                ));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, (amount, due))| InstalmentRow {
                    id: crm_domain::new_id().into(),
                    order_id: order.id,
                    position: i32::try_from(i).unwrap_or(i32::MAX),
                    amount_minor: amount.minor(),
                    due_trigger: "fixed_date".into(),
                    days_offset: 0,
                    due_on: Some(midnight(*due)),
                    due_checked_at: None,
                })
                .collect()
        }
    };
    dq::replace_instalments(conn, order.id, &rows)?;
    Ok(())
}

/// The agreement an order may follow: the interest's client's, active, same currency.
fn usable_agreement(
    conn: &mut DbConnection,
    interest: &crm_store::rows::InterestRow,
    id: Uuid,
) -> Result<AgreementRow, AppError> {
    let a = dq::find_agreement(conn, id.into())?
        .ok_or_else(|| AppError::rule("agreement_exists", format!("no agreement {id}")))?;
    if interest.client_id != Some(a.client_id) {
        return Err(AppError::rule("agreement_of_client", "the agreement belongs to another client"));
    }
    if a.status != "active" {
        return Err(AppError::rule("agreement_active", format!("agreement {} is closed", a.number)));
    }
    if a.currency != interest.currency {
        return Err(AppError::rule(
            "agreement_currency",
            format!("agreement {} is in {}, the interest in {}", a.number, a.currency, interest.currency),
        ));
    }
    Ok(a)
}

/// What a new order is made of.
#[derive(Debug, Clone, Default)]
pub struct OrderInput {
    pub lines: Vec<LineInput>,
    pub agreement_id: Option<Uuid>,
    pub schedule: Option<Vec<ManualInstalment>>,
}

/// Where a new order comes from and how it is paid.
#[derive(Debug, Clone, Default)]
pub(crate) struct OrderTerms {
    pub quote_id: Option<DbUuid>,
    pub agreement_id: Option<Uuid>,
    /// A schedule by hand: amounts and due dates.
    pub manual: Option<Vec<(Money, NaiveDate)>>,
}

/// Inserts a draft order with its lines and schedule, inside the caller's
/// transaction (direct orders and orders made from a quote).
pub(crate) fn insert_order_in(
    conn: &mut DbConnection,
    actor: &Principal,
    now: DateTime<Utc>,
    day: NaiveDate,
    interest_row: &crm_store::rows::InterestRow,
    lines: &[PricedLine],
    terms: &OrderTerms,
) -> Result<OrderRow, AppError> {
    let OrderTerms { quote_id, agreement_id, manual } = terms.clone();
    if interest_row.state != "active" {
        return Err(AppError::rule("interest_active", "orders are made on open interests"));
    }
    let agreement = agreement_id.map(|a| usable_agreement(conn, interest_row, a)).transpose()?;
    let schedule = match (&manual, &agreement) {
        (Some(items), _) => Schedule::Manual(items.clone()),
        (None, Some(a)) => Schedule::FromAgreement(crate::documents::agreements::terms_of(a)?),
        (None, None) => Schedule::None,
    };
    let id = crm_domain::new_id();
    let mut order = OrderRow {
        id: id.into(),
        number: number(conn, "ORD", day)?,
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
        quote_id,
        agreement_id: agreement.as_ref().map(|a| a.id),
        issued_snapshot: None,
    };
    q::insert_order(conn, &order)?;
    write_lines(conn, &mut order, lines)?;
    q::update_order(conn, &order, 1)?;
    write_schedule(conn, &order, &schedule)?;
    timeline(
        conn,
        order.interest_id,
        Some(actor),
        now,
        "order_created",
        format!("Order {} drafted for {}", order.number, Money::from_minor(order.total_minor)),
        serde_json::json!({"order_id": id, "number": order.number, "total": Money::from_minor(order.total_minor).to_string(), "quote_id": quote_id.map(|q| q.0)}),
    )?;
    outbox::record(
        conn,
        now,
        Some(actor),
        "order.created",
        "order",
        id,
        serde_json::json!({"id": id, "number": order.number}),
    )?;
    Ok(order)
}

/// Creates a draft order on an interest: lines from the catalogue or free
/// text, totals computed line by line, the schedule from the agreement or by hand.
pub fn create_order(
    app: &App,
    actor: &Principal,
    interest: Uuid,
    input: OrderInput,
) -> Result<OrderView, AppError> {
    actor.require(&permissions::WRITE_ORDERS)?;
    let day = today(app);
    let mut p = Problems::new();
    let parsed = parse_lines(&mut p, app.settings(), "lines", &input.lines);
    let manual = input.schedule.as_deref().map(|s| parse_manual(&mut p, s));
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        let (interest_row, _) = crate::sales::visible_interest(conn, actor, interest)?;
        let lines = price_lines(conn, "lines", parsed)?;
        let terms = OrderTerms { quote_id: None, agreement_id: input.agreement_id, manual };
        let order = insert_order_in(conn, actor, now, today(app), &interest_row, &lines, &terms)?;
        order_view(conn, order, day)
    })
}

/// What a PATCH of a draft order may change. `agreement_id: Some(None)` drops it.
#[derive(Debug, Clone, Default)]
pub struct OrderChanges {
    pub lines: Option<Vec<LineInput>>,
    pub agreement_id: Option<Option<Uuid>>,
    pub schedule: Option<Vec<ManualInstalment>>,
}

/// Edits a draft order: lines, agreement, schedule. A posted order's lines
/// and totals are frozen (the database refuses it too).
pub fn update_order(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected: Option<i64>,
    c: OrderChanges,
) -> Result<OrderView, AppError> {
    actor.require(&permissions::WRITE_ORDERS)?;
    let day = today(app);
    let mut p = Problems::new();
    // Lines naming quote lines re-order a quote's goods (only quantities
    // change); other lines are priced afresh.
    let from_quote = c.lines.as_deref().is_some_and(|l| l.iter().any(|x| x.quote_line_id.is_some()));
    let quoted_lines =
        if from_quote { c.lines.as_deref().map(|l| parse_quote_lines(&mut p, l)) } else { None };
    let parsed = if from_quote {
        None
    } else {
        c.lines.as_deref().map(|l| parse_lines(&mut p, app.settings(), "lines", l))
    };
    let manual = c.schedule.as_deref().map(|s| parse_manual(&mut p, s));
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        let mut row = visible_order(conn, actor, id)?;
        check_version(expected, row.version)?;
        let status = OrderStatus::parse(&row.status).unwrap_or(OrderStatus::Cancelled);
        if !status.lines_editable() {
            return Err(AppError::rule(
                "order_draft",
                format!(
                    "order {} is {}; its lines, agreement and schedule are frozen",
                    row.number, row.status
                ),
            ));
        }
        let interest = sq::find_interest(conn, row.interest_id)?.ok_or(AppError::NotFound("order"))?;
        if parsed.is_some() && row.quote_id.is_some() {
            return Err(AppError::rule(
                "quote_lines",
                "this order was made from a quote: give each line as {quote_line_id, quantity} of the quote's approved variant",
            ));
        }
        if let Some(parsed) = parsed {
            let lines = price_lines(conn, "lines", parsed)?;
            dq::delete_lines_of(conn, row.id)?;
            write_lines(conn, &mut row, &lines)?;
        }
        if let Some(wanted) = quoted_lines {
            let Some(quote) = row.quote_id else {
                return Err(AppError::rule("quote_lines", "this order was not made from a quote; its lines name no quote line"));
            };
            // The old lines go first, so what this order held is free again.
            dq::delete_lines_of(conn, row.id)?;
            let lines = crate::documents::quotes::reorder_quote_lines(conn, quote, &wanted)?;
            write_lines(conn, &mut row, &lines)?;
        }
        if let Some(a) = c.agreement_id {
            row.agreement_id = a.map(|a| usable_agreement(conn, &interest, a)).transpose()?.map(|a| a.id);
        }
        // The schedule follows the order: by hand when given now or kept by
        // hand before, else from the agreement's terms for the new total.
        let existing = dq::instalments_of(conn, row.id)?;
        let kept_manual = existing.iter().any(|i| i.due_trigger == "fixed_date") && c.agreement_id.is_none();
        let schedule = match manual {
            Some(items) => Schedule::Manual(items),
            None if kept_manual => Schedule::Manual(
                existing
                    .iter()
                    .map(|i| {
                        (
                            Money::from_minor(i.amount_minor),
                            i.due_on.map(|d| d.date()).unwrap_or(day),
                        )
                    })
                    .collect(),
            ),
            None => match row.agreement_id {
                Some(a) => {
                    let a = dq::find_agreement(conn, a)?.ok_or(AppError::NotFound("agreement"))?;
                    Schedule::FromAgreement(crate::documents::agreements::terms_of(&a)?)
                }
                None => Schedule::None,
            },
        };
        write_schedule(conn, &row, &schedule)?;
        let version = row.version;
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
            "order_updated",
            format!("Order {} changed: {}", row.number, Money::from_minor(row.total_minor)),
            serde_json::json!({"order_id": id, "total": Money::from_minor(row.total_minor).to_string()}),
        )?;
        outbox::record(conn, now, Some(actor), "order.updated", "order", id, serde_json::json!({"id": id}))?;
        order_view(conn, row, day)
    })
}

pub fn get_order(app: &App, actor: &Principal, id: Uuid) -> Result<OrderView, AppError> {
    actor.require(&permissions::READ_ORDERS)?;
    let day = today(app);
    app.read(|conn| {
        let row = visible_order(conn, actor, id)?;
        order_view(conn, row, day)
    })
}

pub fn list_interest_orders(
    app: &App,
    actor: &Principal,
    interest: Uuid,
) -> Result<Vec<OrderView>, AppError> {
    actor.require(&permissions::READ_ORDERS)?;
    let day = today(app);
    app.read(|conn| {
        let row = sq::find_interest(conn, interest.into())?.ok_or(AppError::NotFound("interest"))?;
        if !order_visibility(conn, actor)?.allows(row.responsible_id.0) {
            return Err(AppError::NotFound("interest"));
        }
        let orders = q::orders_of_interest(conn, row.id)?;
        order_views(conn, orders, day)
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
    let day = today(app);
    let now = app.now();
    app.write(|conn| {
        let mut row = visible_order(conn, actor, id)?;
        check_version(expected, row.version)?;
        let allowed = match (row.status.as_str(), to) {
            ("draft", "confirmed") => q::lines_of(conn, &[row.id])?
                .is_empty()
                .then_some("an order without lines cannot be confirmed"),
            ("draft" | "confirmed", "cancelled") if row.paid_minor > 0 => {
                Some("an order with payments cannot be cancelled; cancel the payments first")
            }
            ("draft" | "confirmed", "cancelled") => dq::shipments_of_orders(conn, &[row.id])?
                .iter()
                .any(|s| s.status != "cancelled")
                .then_some("an order with shipments cannot be cancelled; cancel the shipments first"),
            (from, _) => return Err(AppError::conflict(None, format!("a {from} order cannot become {to}"))),
        };
        if let Some(why) = allowed {
            return Err(AppError::rule("order_status", why));
        }
        if to == "confirmed" {
            fix_due_dates(conn, &row, &["on_confirmation", "before_shipment"], day)?;
        }
        let version = row.version;
        row.status = to.to_owned();
        if to == "confirmed" {
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
        order_view(conn, row, day)
    })
}

/// Sets the due dates of instalments whose trigger just happened on `day`
/// (confirmation, or the first shipment); a schedule must add up to the total.
fn fix_due_dates(
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
        amount: Money::from_minor(r.amount_minor),
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

pub(crate) fn fallback_tz(app: &App) -> Tz {
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
    if amount.is_some_and(|a| a.minor() <= 0) {
        p.push("amount", "not_positive", "must be more than zero");
    }
    not_ahead(&mut p, "paid_on", input.paid_on, app.now());
    p.into_result()?;
    let Some(amount) = amount else { return Err(AppError::internal("validated amount missing")) };
    let now = app.now();
    let fallback = fallback_tz(app);
    app.write(|conn| {
        if let Some(r) = &input.external_ref {
            if let Some(existing) = q::payment_by_ref(conn, r)? {
                return same_bank_document(existing, &input, amount);
            }
        }
        let found = q::find_order(conn, input.order_id.into())?.ok_or(AppError::NotFound("order"))?;
        // Payments of one interest run one after another across instances, so
        // the one that completes it sees the others and fires the move once.
        sq::lock_interest(conn, found.interest_id)?;
        let mut order = q::find_order(conn, found.id)?.ok_or(AppError::NotFound("order"))?;
        if !OrderStatus::parse(&order.status).is_some_and(OrderStatus::takes_payments) {
            return Err(AppError::rule("order_confirmed", format!("order {} is {}; only confirmed orders take payments", order.number, order.status)));
        }
        let version = order.version;
        // Over-payment is allowed (and flagged), but never past the largest amount.
        order.paid_minor = Money::from_minor(order.paid_minor).checked_add(amount)?.minor();
        order.version += 1;
        order.updated_at = now.naive_utc();
        let overpaid = order.paid_minor > order.total_minor;
        q::update_order(conn, &order, version)?;
        let row = PaymentRow {
            id: crm_domain::new_id().into(),
            order_id: order.id,
            amount_minor: amount.minor(),
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
        // In a savepoint: on PostgreSQL a failed insert aborts the whole
        // transaction, and the winner must still be read.
        match crm_store::db::savepoint(conn, |c| q::insert_payment(c, &row)) {
            Ok(()) => {}
            Err(e) if crm_store::db::is_unique_violation(&e) => {
                // The same bank document raced in on another connection: its
                // registration stands, and this one is its repeat (or a conflict).
                let r = input.external_ref.as_deref().unwrap_or_default();
                let winner = q::payment_by_ref(conn, r)?.ok_or_else(|| AppError::conflict(Some("external_ref"), "this bank document is being registered right now; retry"))?;
                return same_bank_document(winner, &input, amount);
            }
            Err(e) => return Err(e.into()),
        }
        let note = if overpaid { " (overpaid)" } else { "" };
        timeline(conn, order.interest_id, Some(actor), now, "payment_registered", format!("Payment {amount} for order {}{note}", order.number),
            serde_json::json!({"payment_id": row.id.0, "order_id": order.id.0, "amount": amount.to_string(), "overpaid": overpaid}))?;
        outbox::record(conn, now, Some(actor), "payment.registered", "payment", row.id.0, serde_json::json!({"id": row.id.0, "order_id": order.id.0, "amount": amount.to_string()}))?;
        let paid = crate::sales::coverage(conn, order.interest_id)?.fully_paid;
        if paid {
            apply_event(conn, Some(actor), now, fallback, order.interest_id.0, DomainEvent::OrdersFullyPaid)?;
        }
        Ok((payment_view(row), true))
    })
}

/// A payment or a shipment is a fact: it may be dated at most a day ahead
/// (time zones, a clock a little fast), never next month.
fn not_ahead(p: &mut Problems, field: &str, at: Option<DateTime<Utc>>, now: DateTime<Utc>) {
    if at.is_some_and(|t| t > now + chrono::Duration::days(1)) {
        p.push(
            field,
            "in_the_future",
            "must not be more than a day from now: record it when it has happened",
        );
    }
}

/// A bank document seen before: the same order and amount is a repeat of
/// its registration (the first payment, `false`); anything else is a
/// different payment under a used document id — 409, nothing registered.
fn same_bank_document(
    existing: PaymentRow,
    input: &PaymentInput,
    amount: Money,
) -> Result<(PaymentView, bool), AppError> {
    if existing.order_id.0 == input.order_id && existing.amount_minor == amount.minor() {
        return Ok((payment_view(existing), false));
    }
    Err(AppError::conflict(
        Some("external_ref"),
        format!(
            "bank document {:?} is already registered as payment {} of {}; a different order or amount needs its own document id",
            existing.external_ref.as_deref().unwrap_or_default(),
            existing.id.0,
            Money::from_minor(existing.amount_minor)
        ),
    ))
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
            format!("Payment {} for order {} cancelled", Money::from_minor(row.amount_minor), order.number),
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

/// One payment, to those who may see its order.
pub fn get_payment(app: &App, actor: &Principal, id: Uuid) -> Result<PaymentView, AppError> {
    actor.require(&permissions::READ_PAYMENTS)?;
    app.read(|conn| {
        let row = q::find_payment(conn, id.into())?.ok_or(AppError::NotFound("payment"))?;
        visible_order(conn, actor, row.order_id.0).map_err(|_| AppError::NotFound("payment"))?;
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
    not_ahead(&mut p, "shipped_on", input.shipped_on, app.now());
    p.into_result()?;
    let day = today(app);
    let now = app.now();
    let fallback = fallback_tz(app);
    app.write(|conn| {
        let order = visible_order(conn, actor, order)?;
        sq::lock_interest(conn, order.interest_id)?;
        let order = q::find_order(conn, order.id)?.ok_or(AppError::NotFound("order"))?;
        if order.status != "confirmed" {
            return Err(AppError::rule("order_confirmed", "only a confirmed order ships"));
        }
        let mut unmet = Vec::new();
        // The agreement's prepayments come first: nothing ships while a
        // before-shipment instalment is short.
        let schedule =
            schedule_view(dq::instalments_of(conn, order.id)?, Money::from_minor(order.paid_minor), day);
        for i in schedule.iter().filter(|i| i.trigger == "before_shipment" && i.status != "paid") {
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
        let shipped_day = input.shipped_on.map_or(day, |t| t.with_timezone(&fallback).date_naive());
        fix_due_dates(conn, &order, &["after_shipment"], shipped_day)?;
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
pub fn list_shipments(app: &App, actor: &Principal, order: Uuid) -> Result<Vec<ShipmentView>, AppError> {
    actor.require(&permissions::READ_SHIPMENTS)?;
    app.read(|conn| {
        let row = visible_order(conn, actor, order)?;
        dq::shipments_of_orders(conn, &[row.id])?.into_iter().map(|s| shipment_view(conn, s)).collect()
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
    page: crate::platform::page::PageRequest,
) -> Result<crate::platform::page::Page<OrderView>, AppError> {
    actor.require(&permissions::READ_ORDERS)?;
    let day = today(app);
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
        let page = crate::platform::page::Page::from_rows(rows, page, |r| r.id.0, |r| r);
        let items =
            page.items.into_iter().map(|r| order_view(conn, r, day)).collect::<Result<Vec<_>, _>>()?;
        Ok(crate::platform::page::Page { items, next_after: page.next_after })
    })
}

/// Payments for accounting systems: by order and `updated_since`.
pub fn list_all_payments(
    app: &App,
    actor: &Principal,
    order: Option<Uuid>,
    updated_since: Option<DateTime<Utc>>,
    page: crate::platform::page::PageRequest,
) -> Result<crate::platform::page::Page<PaymentView>, AppError> {
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
        Ok(crate::platform::page::Page::from_rows(rows, page, |r| r.id.0, payment_view))
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

/// Announces instalments that passed their due date unpaid: per order, in
/// one transaction with the interest locked, each such instalment is marked
/// (so it is announced once, whichever instance runs this), the timeline
/// and the responsible hear of it, and the scenario's "payment overdue"
/// rules run. Paid instalments past their date are only marked. Returns how
/// many instalments were announced. The server runs it on a timer.
pub fn announce_overdue_payments(app: &App) -> Result<usize, AppError> {
    let day = today(app);
    let now = app.now();
    let fallback = fallback_tz(app);
    let mut announced = 0;
    loop {
        let orders = app.read(|conn| Ok(dq::orders_with_passed_dues(conn, midnight(day), 200)?))?;
        if orders.is_empty() {
            return Ok(announced);
        }
        for order in orders {
            announced += app.write(|conn| {
                let Some(found) = q::find_order(conn, order)? else { return Ok(0) };
                sq::lock_interest(conn, found.interest_id)?;
                let row = q::find_order(conn, order)?.ok_or(AppError::NotFound("order"))?;
                let rows = dq::instalments_of(conn, row.id)?;
                let views = schedule_view(rows.clone(), Money::from_minor(row.paid_minor), day);
                let mut late = Vec::new();
                for (mut r, v) in rows.into_iter().zip(views) {
                    if r.due_checked_at.is_some() || r.due_on.is_none_or(|d| d.date() >= day) {
                        continue;
                    }
                    r.due_checked_at = Some(now.naive_utc());
                    dq::update_instalment(conn, &r)?;
                    if row.status == "confirmed" && v.status == "overdue" {
                        late.push(v);
                    }
                }
                if late.is_empty() {
                    return Ok(0);
                }
                let interest = sq::find_interest(conn, row.interest_id)?.ok_or(AppError::NotFound("interest"))?;
                let owed = late
                    .iter()
                    .try_fold(Money::ZERO, |acc, v| acc.checked_add(v.amount.checked_sub(v.paid)?))?;
                let text = format!("Order {}: {} overdue since {}", row.number, owed, late[0].due_on.map(|d| d.to_string()).unwrap_or_default());
                timeline(conn, interest.id, None, now, "payment_overdue", text.clone(),
                    serde_json::json!({"order_id": row.id.0, "overdue": owed.to_string(), "instalments": late.iter().map(|v| v.position).collect::<Vec<_>>()}))?;
                crate::sales::notify(conn, interest.responsible_id, Some(interest.id), &text, now)?;
                outbox::record(conn, now, None, "order.payment_overdue", "order", row.id.0, serde_json::json!({"id": row.id.0, "overdue": owed.to_string()}))?;
                if interest.state == "active" {
                    apply_event(conn, None, now, fallback, interest.id.0, DomainEvent::PaymentOverdue)?;
                }
                Ok(late.len())
            })?;
        }
    }
}
