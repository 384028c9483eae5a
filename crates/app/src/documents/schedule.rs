//! Payment schedules: the agreement's terms or manual instalments, written
//! with the order; and the daily check for overdue instalments.

use chrono::NaiveDate;
use crm_domain::events::EventType;
use crm_domain::status::TimelineKind;
use crm_domain::status::{AgreementStatus, InstalmentStatus, OrderStatus};
use crm_domain::Money;
use crm_scenario::DomainEvent;
use crm_scenario::InterestState;
use crm_store::queries::{documents as dq, orders as q, sales as sq};
use crm_store::rows::{AgreementRow, InstalmentRow, OrderRow};
use crm_store::DbConnection;
use uuid::Uuid;

use crate::documents::orders::*;
use crate::platform::error::{AppError, Problems};
use crate::platform::outbox;
use crate::sales::interests::apply_event;
use crate::sales::timeline;
use crate::App;

/// A payment schedule entered by hand: amounts with due dates.
#[derive(Debug, Clone)]
pub struct ManualInstalment {
    pub amount: String,
    pub due_on: NaiveDate,
}

/// How an order's schedule is given: none, from its agreement, or by hand.
#[derive(Debug, Clone)]
pub(in crate::documents) enum Schedule {
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

/// Rewrites the order's schedule for its current total: an agreement's terms
/// split it (summing exactly); a manual schedule must add up to it.
pub(in crate::documents) fn write_schedule(
    conn: &mut DbConnection,
    order: &OrderRow,
    schedule: &Schedule,
) -> Result<(), AppError> {
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
pub(in crate::documents) fn usable_agreement(
    conn: &mut DbConnection,
    interest: &crm_store::rows::InterestRow,
    id: Uuid,
) -> Result<AgreementRow, AppError> {
    let a = dq::find_agreement(conn, id.into())?
        .ok_or_else(|| AppError::rule("agreement_exists", format!("no agreement {id}")))?;
    if interest.client_id != Some(a.client_id) {
        return Err(AppError::rule("agreement_of_client", "the agreement belongs to another client"));
    }
    if a.status != AgreementStatus::Active {
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
                    if row.status == OrderStatus::Confirmed && v.status == InstalmentStatus::Overdue {
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
                timeline(conn, interest.id, None, now, TimelineKind::PaymentOverdue, text.clone(),
                    serde_json::json!({"order_id": row.id.0, "overdue": owed.to_string(), "instalments": late.iter().map(|v| v.position).collect::<Vec<_>>()}))?;
                crate::sales::notify(conn, interest.responsible_id, Some(interest.id), &text, now)?;
                outbox::record(conn, now, None, EventType::OrderPaymentOverdue, "order", row.id.0, serde_json::json!({"id": row.id.0, "overdue": owed.to_string()}))?;
                if interest.state == InterestState::Active {
                    apply_event(conn, None, now, fallback, interest.id.0, DomainEvent::PaymentOverdue)?;
                }
                Ok(late.len())
            })?;
        }
    }
}
