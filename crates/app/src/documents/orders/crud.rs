//! Creating, reading, listing and changing orders.

use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::events::EventType;
use crm_domain::status::OrderStatus;
use crm_domain::status::TimelineKind;
use crm_domain::Money;
use crm_scenario::InterestState;
use crm_store::queries::{documents as dq, orders as q, sales as sq};
use crm_store::rows::OrderRow;
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use super::*;
use crate::documents::lines::*;
use crate::documents::schedule::*;
use crate::identity::permissions::{self};
use crate::identity::principal::Principal;
use crate::platform::error::{check_version, AppError, Problems};
use crate::platform::outbox;
use crate::sales::timeline;
use crate::App;

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
    if interest_row.state != InterestState::Active {
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
        status: OrderStatus::Draft.into(),
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
        TimelineKind::OrderCreated,
        format!("Order {} drafted for {}", order.number, Money::from_minor(order.total_minor)),
        serde_json::json!({"order_id": id, "number": order.number, "total": Money::from_minor(order.total_minor).to_string(), "quote_id": quote_id.map(|q| q.0)}),
    )?;
    outbox::record(
        conn,
        now,
        Some(actor),
        EventType::OrderCreated,
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
        let status = row.status.0;
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
            TimelineKind::OrderUpdated,
            format!("Order {} changed: {}", row.number, Money::from_minor(row.total_minor)),
            serde_json::json!({"order_id": id, "total": Money::from_minor(row.total_minor).to_string()}),
        )?;
        outbox::record(conn, now, Some(actor), EventType::OrderUpdated, "order", id, serde_json::json!({"id": id}))?;
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
    page: crate::platform::page::PageRequest,
) -> Result<crate::platform::page::Page<OrderView>, AppError> {
    actor.require(&permissions::READ_ORDERS)?;
    let day = today(app);
    app.read(|conn| {
        let row = sq::find_interest(conn, interest.into())?.ok_or(AppError::NotFound("interest"))?;
        if !order_visibility(conn, actor)?.allows(row.responsible_id.0) {
            return Err(AppError::NotFound("interest"));
        }
        let rows = q::orders_of_interest_page(conn, row.id, page.query())?;
        crate::platform::page::Page::try_from_rows(
            rows,
            page,
            |o| o.id.0,
            |rows| order_views(conn, rows, day),
        )
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
    if status.as_deref().is_some_and(|s| OrderStatus::parse(s).is_none()) {
        return Err(AppError::malformed("status", "invalid", "draft, confirmed or cancelled"));
    }
    app.read(|conn| {
        let responsible = order_visibility(conn, actor)?.filter();
        let rows = q::list_orders(
            conn,
            status.as_deref(),
            updated_since.map(|t| t.naive_utc()),
            responsible,
            page.sync_query(updated_since),
        )?;
        let syncs = page.syncs(updated_since);
        let page = crate::platform::page::Page::from_rows(rows, page, |r| r.id.0, |r| r);
        let items =
            page.items.into_iter().map(|r| order_view(conn, r, day)).collect::<Result<Vec<_>, _>>()?;
        Ok(crate::platform::page::Page { items, next_after: page.next_after, next_key: page.next_key }
            .keyed(syncs, |v| (v.updated_at, v.id)))
    })
}
