//! Document lines: parsing, exact pricing and writing them, for orders and
//! for the orders made from a quote.

use crm_domain::pricing::{Line, LineAmounts, Quantity, VatRate};
use crm_domain::Money;
use crm_store::queries::{catalog as cq, orders as q};
use crm_store::rows::{OrderLineRow, OrderRow};
use crm_store::DbConnection;
use uuid::Uuid;

use crate::platform::error::{AppError, Problems, Unmet};

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

/// The stored values a priced line has on both an order and a quote variant.
pub(crate) struct LineColumns {
    pub position: i32,
    pub product_id: Option<crm_store::DbUuid>,
    pub description: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub discount_bp: i32,
    pub vat_rate: String,
    pub price_includes_vat: bool,
    pub net_minor: i64,
    pub vat_minor: i64,
    pub total_minor: i64,
}

/// Stores `lines` in order through `insert` (one table's row per line) and
/// returns their totals, added with overflow checks: the one way quotes and
/// orders write lines.
pub(crate) fn write_all(
    lines: &[PricedLine],
    mut insert: impl FnMut(&PricedLine, LineColumns) -> Result<(), AppError>,
) -> Result<LineAmounts, AppError> {
    let mut totals = LineAmounts::default();
    for (i, l) in lines.iter().enumerate() {
        totals = totals.checked_add(l.amounts)?;
        let columns = LineColumns {
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
        };
        insert(l, columns)?;
    }
    Ok(totals)
}

/// Writes an order's lines and totals (the order must still be a draft).
pub(in crate::documents) fn write_lines(
    conn: &mut DbConnection,
    order: &mut OrderRow,
    lines: &[PricedLine],
) -> Result<(), AppError> {
    let totals = write_all(lines, |l, c| {
        q::insert_line(
            conn,
            &OrderLineRow {
                id: crm_domain::new_id().into(),
                order_id: order.id,
                position: c.position,
                product_id: c.product_id,
                description: c.description,
                quantity: c.quantity,
                unit_price_minor: c.unit_price_minor,
                discount_bp: c.discount_bp,
                vat_rate: c.vat_rate,
                price_includes_vat: c.price_includes_vat,
                net_minor: c.net_minor,
                vat_minor: c.vat_minor,
                total_minor: c.total_minor,
                shipped_quantity: 0,
                quote_line_id: l.quote_line_id.map(Into::into),
            },
        )?;
        Ok(())
    })?;
    order.net_minor = totals.net.minor();
    order.vat_minor = totals.vat.minor();
    order.total_minor = totals.total.minor();
    Ok(())
}

/// `{quote_line_id, quantity}` lines of a PATCH of an order made from a quote:
/// nothing else may be given (price, VAT and text are the quote's).
pub(in crate::documents) fn parse_quote_lines(
    p: &mut Problems,
    lines: &[LineInput],
) -> Vec<(Uuid, Quantity)> {
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
