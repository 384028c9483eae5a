//! Payments (Оплата): registering one (deduplicated by the bank's
//! reference), cancelling, reading and the sync list.

use chrono::{DateTime, Utc};
use crm_domain::events::EventType;
use crm_domain::status::PaymentStatus;
use crm_domain::status::TimelineKind;
use crm_domain::Money;
use crm_scenario::DomainEvent;
use crm_store::queries::{orders as q, sales as sq};
use crm_store::rows::PaymentRow;
use uuid::Uuid;

use crate::documents::orders::*;
use crate::identity::permissions::{self};
use crate::identity::policy::Visibility;
use crate::identity::principal::actor_parts;
use crate::identity::principal::Principal;
use crate::platform::error::{check_version, AppError, Problems};
use crate::platform::outbox;
use crate::sales::interests::apply_event;
use crate::sales::{create_task, timeline};
use crate::App;

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
    pub status: PaymentStatus,
    pub overpaid: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn payment_view(r: PaymentRow) -> PaymentView {
    PaymentView {
        id: r.id.0,
        order_id: r.order_id.0,
        amount: Money::from_minor(r.amount_minor),
        paid_on: r.paid_on.and_utc(),
        external_ref: r.external_ref,
        payer: r.payer,
        comment: r.comment,
        status: r.status.0,
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
        if !order.status.takes_payments() {
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
            status: PaymentStatus::Posted.into(),
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
        timeline(conn, order.interest_id, Some(actor), now, TimelineKind::PaymentRegistered, format!("Payment {amount} for order {}{note}", order.number),
            serde_json::json!({"payment_id": row.id.0, "order_id": order.id.0, "amount": amount.to_string(), "overpaid": overpaid}))?;
        outbox::record(conn, now, Some(actor), EventType::PaymentRegistered, "payment", row.id.0, serde_json::json!({"id": row.id.0, "order_id": order.id.0, "amount": amount.to_string()}))?;
        crate::documents::orders::figures_changed(conn, now, actor, order.id.0)?;
        let paid = crate::sales::coverage(conn, order.interest_id)?.fully_paid;
        if paid {
            apply_event(conn, Some(actor), now, fallback, order.interest_id.0, DomainEvent::OrdersFullyPaid)?;
        }
        Ok((payment_view(row), true))
    })
}

/// The most payments one statement import takes.
pub const MAX_BATCH: usize = 500;

/// One line of a statement import: the payment (and whether it is new), or
/// why the line was refused. Each line ran in its own transaction.
pub type BatchLine = Result<(PaymentView, bool), AppError>;

/// Imports a day's bank statement: each line registered as
/// [`register_payment`] registers one — in its own transaction, deduplicated
/// on `external_ref`, with the interest's auto-moves — so one bad line does
/// not keep the others out. Lines that did not parse arrive as their error.
pub fn register_payments(
    app: &App,
    actor: &Principal,
    lines: Vec<Result<PaymentInput, AppError>>,
) -> Result<Vec<BatchLine>, AppError> {
    actor.require(&permissions::WRITE_PAYMENTS)?;
    if lines.is_empty() || lines.len() > MAX_BATCH {
        return Err(AppError::field(
            "payments",
            "out_of_range",
            format!("give 1 to {MAX_BATCH} payments; this statement has {}", lines.len()),
        ));
    }
    Ok(lines.into_iter().map(|line| line.and_then(|input| register_payment(app, actor, input))).collect())
}

/// A payment or a shipment is a fact: it may be dated at most a day ahead
/// (time zones, a clock a little fast), never next month.
pub(in crate::documents) fn not_ahead(
    p: &mut Problems,
    field: &str,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) {
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
pub(in crate::documents) fn same_bank_document(
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
        if row.status != PaymentStatus::Posted {
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
        row.status = PaymentStatus::Cancelled.into();
        row.version += 1;
        row.updated_at = now.naive_utc();
        q::update_payment(conn, &row, v)?;
        let interest = sq::find_interest(conn, order.interest_id)?.ok_or(AppError::NotFound("interest"))?;
        timeline(
            conn,
            interest.id,
            Some(actor),
            now,
            TimelineKind::PaymentCancelled,
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
            EventType::PaymentCancelled,
            "payment",
            id,
            serde_json::json!({"id": id}),
        )?;
        crate::documents::orders::figures_changed(conn, now, actor, order.id.0)?;
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

pub fn list_payments(
    app: &App,
    actor: &Principal,
    order: Uuid,
    page: crate::platform::page::PageRequest,
) -> Result<crate::platform::page::Page<PaymentView>, AppError> {
    actor.require(&permissions::READ_PAYMENTS)?;
    app.read(|conn| {
        let row = visible_order(conn, actor, order)?;
        let rows = q::payments_of_page(conn, row.id, page.query())?;
        Ok(crate::platform::page::Page::from_rows(rows, page, |p| p.id.0, payment_view))
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
            page.sync_query(updated_since),
        )?;
        Ok(crate::platform::page::Page::from_rows(rows, page, |r| r.id.0, payment_view)
            .keyed(page.syncs(updated_since), |v| (v.updated_at, v.id)))
    })
}
