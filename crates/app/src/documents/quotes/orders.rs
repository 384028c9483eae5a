//! Orders made from an approved quote, split as the manager asks, and the
//! quote-line order those orders keep.

use crm_domain::pricing::Quantity;
use crm_domain::status::QuoteStatus;
use crm_domain::Money;
use crm_store::queries::documents as dq;
use crm_store::rows::QuoteLineRow;
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::documents::orders::{insert_order_in, order_views, today, OrderTerms, OrderView};

use crate::documents::lines::PricedLine;

use super::*;
use crate::documents::schedule::{parse_manual, ManualInstalment};
use crate::identity::permissions;
use crate::identity::principal::Principal;
use crate::platform::error::{AppError, Problems, Unmet};
use crate::sales::visible_interest;
use crate::App;

/// One order to make from the approved variant: which of its lines, and
/// optionally how much of each (the rest may go to another order).
#[derive(Debug, Clone)]
pub struct OrderSplit {
    pub lines: Vec<(Uuid, Option<String>)>,
}

#[derive(Debug, Clone, Default)]
pub struct OrdersFromQuote {
    /// None: one order with every line of the approved variant.
    pub orders: Option<Vec<OrderSplit>>,
    pub agreement_id: Option<Uuid>,
    pub schedule: Option<Vec<ManualInstalment>>,
}

/// Makes one or several draft orders from the approved variant, in one
/// transaction; no line may be ordered beyond its quoted quantity in all.
pub fn create_orders_from_quote(
    app: &App,
    actor: &Principal,
    id: Uuid,
    input: OrdersFromQuote,
) -> Result<Vec<OrderView>, AppError> {
    actor.require(&permissions::ORDERS_FROM_QUOTES)?;
    let day = today(app);
    let mut p = Problems::new();
    let mut splits: Vec<Vec<(Uuid, Option<Quantity>)>> = Vec::new();
    if let Some(orders) = &input.orders {
        if orders.is_empty() || orders.len() > 20 {
            p.push("orders", "count", "give 1 to 20 orders");
        }
        for (i, o) in orders.iter().enumerate() {
            if o.lines.is_empty() {
                p.push(&format!("orders[{i}].lines"), "empty", "name at least one quote line");
            }
            let mut lines = Vec::new();
            for (n, (line, qty)) in o.lines.iter().enumerate() {
                let q = qty
                    .as_deref()
                    .and_then(|q| p.check(&format!("orders[{i}].lines[{n}].quantity"), Quantity::parse(q)));
                if q.is_some_and(|q| q.0 <= 0) {
                    p.push(
                        &format!("orders[{i}].lines[{n}].quantity"),
                        "not_positive",
                        "must be more than zero",
                    );
                }
                lines.push((*line, q));
            }
            splits.push(lines);
        }
    }
    if input.schedule.is_some() && splits.len() > 1 {
        p.push(
            "schedule",
            "ambiguous",
            "a schedule by hand fits one order; give it on each order afterwards",
        );
    }
    let manual = input.schedule.as_deref().map(|s| parse_manual(&mut p, s));
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        let quote = visible_quote(conn, actor, id)?;
        let Some(variant) = quote.approved_variant_id.filter(|_| quote.status == QuoteStatus::Approved)
        else {
            return Err(AppError::rule(
                "quote_approved",
                format!(
                    "quote {} is {}; orders are made from an approved variant",
                    quote.number, quote.status
                ),
            ));
        };
        let (interest, _) = visible_interest(conn, actor, quote.interest_id.0)?;
        let quoted = dq::quote_lines_of(conn, &[variant])?;
        let priced: Vec<(Uuid, PricedLine)> = quoted.iter().map(|l| (l.id.0, priced_from(l))).collect();
        let plan: Vec<Vec<(Uuid, Option<Quantity>)>> = if splits.is_empty() {
            vec![quoted.iter().map(|l| (l.id.0, None)).collect()]
        } else {
            splits.clone()
        };
        let mut unmet = Vec::new();
        let mut ordered: std::collections::HashMap<Uuid, i64> = std::collections::HashMap::new();
        let mut orders_lines = Vec::new();
        for (i, lines) in plan.iter().enumerate() {
            let mut out = Vec::new();
            for (n, (line, qty)) in lines.iter().enumerate() {
                match priced.iter().find(|(lid, _)| lid == line) {
                    None => unmet.push(Unmet::new(
                        "line_of_variant",
                        format!("orders[{i}].lines[{n}]: not a line of the approved variant"),
                    )),
                    Some((lid, pl)) => {
                        let q = qty.unwrap_or(pl.line.quantity);
                        *ordered.entry(*lid).or_default() += q.0;
                        out.push(if q == pl.line.quantity { pl.clone() } else { pl.with_quantity(q)? });
                    }
                }
            }
            orders_lines.push(out);
        }
        for (lid, pl) in &priced {
            let already = dq::ordered_of_quote_line(conn, (*lid).into())?;
            let now_ordered = ordered.get(lid).copied().unwrap_or(0);
            if already + now_ordered > pl.line.quantity.0 {
                unmet.push(Unmet::new(
                    "within_quoted",
                    format!(
                        "\"{}\": {} quoted, {} ordered before, {} asked now",
                        pl.description,
                        pl.line.quantity,
                        Quantity(already),
                        Quantity(now_ordered)
                    ),
                ));
            }
        }
        if !unmet.is_empty() {
            return Err(AppError::Rules(unmet));
        }
        let terms = OrderTerms { quote_id: Some(quote.id), agreement_id: input.agreement_id, manual };
        let mut views = Vec::new();
        for lines in &orders_lines {
            views.push(insert_order_in(
                conn,
                actor,
                now,
                crate::documents::orders::today(app),
                &interest,
                lines,
                &terms,
            )?);
        }
        order_views(conn, views, day)
    })
}

/// Lines of an order made from `quote`, as `(quote line, quantity)`: each
/// must be a line of the approved variant, and no quote line may be ordered
/// beyond its quantity across the quote's orders that are not cancelled
/// (the caller has removed the order's own old lines first).
pub(crate) fn reorder_quote_lines(
    conn: &mut DbConnection,
    quote: DbUuid,
    wanted: &[(Uuid, Quantity)],
) -> Result<Vec<PricedLine>, AppError> {
    let row = dq::find_quote(conn, quote)?.ok_or(AppError::NotFound("quote"))?;
    let variant = row.approved_variant_id.ok_or_else(|| {
        AppError::rule("quote_approved", format!("quote {} has no approved variant", row.number))
    })?;
    let quoted = dq::quote_lines_of(conn, &[variant])?;
    let mut unmet = Vec::new();
    let mut asked: std::collections::HashMap<Uuid, i64> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for (n, (line, qty)) in wanted.iter().enumerate() {
        match quoted.iter().find(|l| l.id.0 == *line) {
            None => unmet.push(Unmet::new(
                "line_of_variant",
                format!("lines[{n}]: not a line of quote {}'s approved variant", row.number),
            )),
            Some(l) => {
                let pl = priced_from(l);
                *asked.entry(*line).or_default() += qty.0;
                out.push(if *qty == pl.line.quantity { pl } else { pl.with_quantity(*qty)? });
            }
        }
    }
    for l in &quoted {
        let now_asked = asked.get(&l.id.0).copied().unwrap_or(0);
        if now_asked == 0 {
            continue;
        }
        let already = dq::ordered_of_quote_line(conn, l.id)?;
        if already + now_asked > l.quantity {
            unmet.push(Unmet::new(
                "within_quoted",
                format!(
                    "\"{}\": {} quoted, {} on other orders, {} asked now",
                    l.description,
                    Quantity(l.quantity),
                    Quantity(already),
                    Quantity(now_asked)
                ),
            ));
        }
    }
    if unmet.is_empty() {
        Ok(out)
    } else {
        Err(AppError::Rules(unmet))
    }
}

pub(super) fn priced_from(l: &QuoteLineRow) -> PricedLine {
    let line = crm_domain::pricing::Line {
        unit_price: Money::from_minor(l.unit_price_minor),
        quantity: Quantity(l.quantity),
        discount_bp: u32::try_from(l.discount_bp).unwrap_or(0),
        vat: crm_domain::VatRate::parse(&l.vat_rate).unwrap_or(crm_domain::VatRate::Without),
        price_includes_vat: l.price_includes_vat,
    };
    PricedLine {
        quote_line_id: Some(l.id.0),
        product_id: l.product_id.map(Into::into),
        description: l.description.clone(),
        line,
        amounts: crm_domain::pricing::LineAmounts {
            net: Money::from_minor(l.net_minor),
            vat: Money::from_minor(l.vat_minor),
            total: Money::from_minor(l.total_minor),
        },
    }
}
