//! Quotes (КП): one or more variants of priced lines offered to the client;
//! the client approves one variant, and orders are made from it.

use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::pricing::Quantity;
use crm_domain::Money;
use crm_store::queries::{documents as dq, sales as sq};
use crm_store::rows::{QuoteLineRow, QuoteRow, QuoteVariantRow};
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::documents::orders::{insert_order_in, order_views, today, OrderTerms, OrderView};

use crate::documents::lines::{parse_lines, price_lines, LineInput, PricedLine};

use crate::documents::schedule::{parse_manual, ManualInstalment};
use crate::identity::permissions;
use crate::identity::principal::actor_parts;
use crate::identity::principal::Principal;
use crate::platform::error::{check_version, AppError, Problems, Unmet};
use crate::platform::outbox;
use crate::sales::{timeline, visible_interest};
use crate::App;

#[derive(Debug, Clone)]
pub struct QuoteLineView {
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
}

#[derive(Debug, Clone)]
pub struct VariantView {
    pub id: Uuid,
    pub position: i32,
    pub name: String,
    pub net: Money,
    pub vat: Money,
    pub total: Money,
    pub lines: Vec<QuoteLineView>,
}

#[derive(Debug, Clone)]
pub struct QuoteView {
    pub id: Uuid,
    pub number: String,
    pub interest_id: Uuid,
    pub client_id: Option<Uuid>,
    /// `draft | sent | approved | rejected | expired` (a draft or sent quote past its date is expired).
    pub status: String,
    pub currency: String,
    pub valid_until: NaiveDate,
    pub comment: Option<String>,
    pub approved_variant_id: Option<Uuid>,
    pub variants: Vec<VariantView>,
    pub order_ids: Vec<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The status a reader sees: an open quote past its valid-until date has expired.
pub(crate) fn effective_status(row: &QuoteRow, today: NaiveDate) -> String {
    if matches!(row.status.as_str(), "draft" | "sent") && row.valid_until.date() < today {
        "expired".to_owned()
    } else {
        row.status.clone()
    }
}

fn line_view(l: QuoteLineRow) -> QuoteLineView {
    QuoteLineView {
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
    }
}

pub(crate) fn quote_view(
    conn: &mut DbConnection,
    row: QuoteRow,
    today: NaiveDate,
) -> Result<QuoteView, AppError> {
    let variants = dq::variants_of(conn, &[row.id])?;
    let ids: Vec<DbUuid> = variants.iter().map(|v| v.id).collect();
    let mut lines = dq::quote_lines_of(conn, &ids)?;
    let client = sq::find_interest(conn, row.interest_id)?.and_then(|i| i.client_id).map(Into::into);
    let order_ids = dq::orders_of_quote(conn, row.id)?.into_iter().map(|o| o.id.0).collect();
    Ok(QuoteView {
        status: effective_status(&row, today),
        id: row.id.0,
        number: row.number,
        interest_id: row.interest_id.0,
        client_id: client,
        currency: row.currency,
        valid_until: row.valid_until.date(),
        comment: row.comment,
        approved_variant_id: row.approved_variant_id.map(Into::into),
        variants: variants
            .into_iter()
            .map(|v| {
                let mine: Vec<QuoteLineRow>;
                (mine, lines) = lines.drain(..).partition(|l| l.variant_id == v.id);
                VariantView {
                    id: v.id.0,
                    position: v.position,
                    name: v.name,
                    net: Money::from_minor(v.net_minor),
                    vat: Money::from_minor(v.vat_minor),
                    total: Money::from_minor(v.total_minor),
                    lines: mine.into_iter().map(line_view).collect(),
                }
            })
            .collect(),
        order_ids,
        version: row.version,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    })
}

#[derive(Debug, Clone)]
pub struct VariantInput {
    pub name: String,
    pub lines: Vec<LineInput>,
}

#[derive(Debug, Clone)]
pub struct QuoteInput {
    /// Defaults to 14 days from today.
    pub valid_until: Option<NaiveDate>,
    pub comment: Option<String>,
    pub variants: Vec<VariantInput>,
}

type ParsedVariants = Vec<(String, Vec<crate::documents::lines::ParsedLine>)>;

fn parse_variants(p: &mut Problems, settings: &crate::Settings, variants: &[VariantInput]) -> ParsedVariants {
    if variants.is_empty() || variants.len() > 10 {
        p.push("variants", "count", "give 1 to 10 variants");
    }
    variants
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let name = v.name.trim().to_owned();
            if name.is_empty() || name.chars().count() > 200 {
                p.push(&format!("variants[{i}].name"), "invalid", "1 to 200 characters");
            }
            (name, parse_lines(p, settings, &format!("variants[{i}].lines"), &v.lines))
        })
        .collect()
}

fn check_comment(p: &mut Problems, c: Option<&str>) {
    if c.is_some_and(|c| c.chars().count() > 4000) {
        p.push("comment", "too_long", "must be at most 4000 characters");
    }
}

/// Replaces a draft quote's variants with freshly priced ones.
fn write_variants(conn: &mut DbConnection, quote: DbUuid, parsed: ParsedVariants) -> Result<(), AppError> {
    dq::delete_variants_of(conn, quote)?;
    for (i, (name, lines)) in parsed.into_iter().enumerate() {
        let priced = price_lines(conn, &format!("variants[{i}].lines"), lines)?;
        let mut v = QuoteVariantRow {
            id: crm_domain::new_id().into(),
            quote_id: quote,
            position: i32::try_from(i).unwrap_or(i32::MAX),
            name,
            net_minor: 0,
            vat_minor: 0,
            total_minor: 0,
        };
        dq::insert_variant(conn, &v)?;
        let mut totals = crm_domain::pricing::LineAmounts::default();
        for (n, l) in priced.iter().enumerate() {
            totals = totals.checked_add(l.amounts)?;
            dq::insert_quote_line(
                conn,
                &QuoteLineRow {
                    id: crm_domain::new_id().into(),
                    variant_id: v.id,
                    position: i32::try_from(n).unwrap_or(i32::MAX),
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
                },
            )?;
        }
        v.net_minor = totals.net.minor();
        v.vat_minor = totals.vat.minor();
        v.total_minor = totals.total.minor();
        dq::update_variant(conn, &v)?;
    }
    Ok(())
}

pub fn create_quote(
    app: &App,
    actor: &Principal,
    interest: Uuid,
    input: QuoteInput,
) -> Result<QuoteView, AppError> {
    actor.require(&permissions::WRITE_QUOTES)?;
    let day = today(app);
    let mut p = Problems::new();
    let valid_until = input.valid_until.unwrap_or(day + chrono::Duration::days(14));
    if valid_until < day {
        p.push("valid_until", "in_past", "must be today or later");
    }
    check_comment(&mut p, input.comment.as_deref());
    let parsed = parse_variants(&mut p, app.settings(), &input.variants);
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        let (interest, _) = visible_interest(conn, actor, interest)?;
        if interest.state != "active" {
            return Err(AppError::rule("interest_active", "quotes are made on open interests"));
        }
        let id = crm_domain::new_id();
        let row = QuoteRow {
            id: id.into(),
            number: crate::documents::orders::number(
                conn,
                "QUO",
                now.with_timezone(&crate::documents::orders::fallback_tz(app)).date_naive(),
            )?,
            interest_id: interest.id,
            status: "draft".into(),
            currency: interest.currency.clone(),
            valid_until: crate::documents::orders::midnight(valid_until),
            comment: input.comment.clone().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()),
            approved_variant_id: None,
            decided_at: None,
            created_by: actor_parts(Some(actor)).1,
            version: 1,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
        };
        dq::insert_quote(conn, &row)?;
        write_variants(conn, row.id, parsed)?;
        timeline(
            conn,
            interest.id,
            Some(actor),
            now,
            "quote_created",
            format!("Quote {} drafted", row.number),
            serde_json::json!({"quote_id": id, "number": row.number}),
        )?;
        outbox::record(
            conn,
            now,
            Some(actor),
            "quote.created",
            "quote",
            id,
            serde_json::json!({"id": id, "number": row.number}),
        )?;
        quote_view(conn, row, day)
    })
}

fn visible_quote(conn: &mut DbConnection, actor: &Principal, id: Uuid) -> Result<QuoteRow, AppError> {
    let row = dq::find_quote(conn, id.into())?.ok_or(AppError::NotFound("quote"))?;
    visible_interest(conn, actor, row.interest_id.0).map_err(|_| AppError::NotFound("quote"))?;
    Ok(row)
}

pub fn get_quote(app: &App, actor: &Principal, id: Uuid) -> Result<QuoteView, AppError> {
    actor.require(&permissions::READ_QUOTES)?;
    let day = today(app);
    app.read(|conn| {
        let row = visible_quote(conn, actor, id)?;
        quote_view(conn, row, day)
    })
}

pub fn list_interest_quotes(
    app: &App,
    actor: &Principal,
    interest: Uuid,
) -> Result<Vec<QuoteView>, AppError> {
    actor.require(&permissions::READ_QUOTES)?;
    let day = today(app);
    app.read(|conn| {
        let (interest, _) = visible_interest(conn, actor, interest)?;
        dq::quotes_of_interest(conn, interest.id)?.into_iter().map(|q| quote_view(conn, q, day)).collect()
    })
}

/// What a PATCH may change: the date and comment while the quote is open,
/// the variants while it is a draft, and the status `draft → sent → rejected`.
#[derive(Debug, Clone, Default)]
pub struct QuoteChanges {
    pub valid_until: Option<NaiveDate>,
    pub comment: Option<Option<String>>,
    pub variants: Option<Vec<VariantInput>>,
    pub status: Option<String>,
}

pub fn update_quote(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected: Option<i64>,
    c: QuoteChanges,
) -> Result<QuoteView, AppError> {
    actor.require(&permissions::WRITE_QUOTES)?;
    let day = today(app);
    let mut p = Problems::new();
    if c.valid_until.is_some_and(|d| d < day) {
        p.push("valid_until", "in_past", "must be today or later");
    }
    check_comment(&mut p, c.comment.as_ref().and_then(|c| c.as_deref()));
    if c.status.as_deref().is_some_and(|s| !matches!(s, "draft" | "sent" | "rejected")) {
        p.push("status", "invalid", "draft, sent or rejected (approve with POST /quotes/{id}/approve)");
    }
    let parsed = c.variants.as_deref().map(|v| parse_variants(&mut p, app.settings(), v));
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        let mut row = visible_quote(conn, actor, id)?;
        check_version(expected, row.version)?;
        if !matches!(row.status.as_str(), "draft" | "sent") {
            return Err(AppError::rule(
                "quote_open",
                format!("quote {} is {}; it no longer changes", row.number, row.status),
            ));
        }
        if let Some(d) = c.valid_until {
            row.valid_until = crate::documents::orders::midnight(d);
        }
        if let Some(cm) = c.comment {
            row.comment = cm.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        }
        if let Some(parsed) = parsed {
            if row.status != "draft" {
                return Err(AppError::rule(
                    "quote_draft",
                    "the variants of a sent quote are frozen; return it to draft first",
                ));
            }
            write_variants(conn, row.id, parsed)?;
        }
        if let Some(to) = c.status.as_deref() {
            if to == "sent" && effective_status(&row, day) == "expired" {
                return Err(AppError::rule(
                    "quote_valid",
                    "the quote has expired; give it a new valid_until first",
                ));
            }
            if to != row.status {
                timeline(
                    conn,
                    row.interest_id,
                    Some(actor),
                    now,
                    &format!("quote_{to}"),
                    format!("Quote {} {to}", row.number),
                    serde_json::json!({"quote_id": id, "status": to}),
                )?;
                if to == "rejected" {
                    row.decided_at = Some(now.naive_utc());
                }
                row.status = to.to_owned();
            }
        }
        let v = row.version;
        row.version += 1;
        row.updated_at = now.naive_utc();
        if dq::update_quote(conn, &row, v)? != 1 {
            return Err(AppError::PreconditionFailed { expected: v, current: v + 1 });
        }
        outbox::record(
            conn,
            now,
            Some(actor),
            "quote.updated",
            "quote",
            id,
            serde_json::json!({"id": id, "status": row.status}),
        )?;
        quote_view(conn, row, day)
    })
}

/// Records the client's choice: the quote is approved with one variant.
pub fn approve_quote(
    app: &App,
    actor: &Principal,
    id: Uuid,
    expected: Option<i64>,
    variant: Uuid,
) -> Result<QuoteView, AppError> {
    actor.require(&permissions::WRITE_QUOTES)?;
    let day = today(app);
    let now = app.now();
    app.write(|conn| {
        let mut row = visible_quote(conn, actor, id)?;
        check_version(expected, row.version)?;
        match effective_status(&row, day).as_str() {
            "draft" | "sent" => {}
            "expired" => return Err(AppError::rule("quote_valid", format!("quote {} expired on {}", row.number, row.valid_until.date()))),
            s => return Err(AppError::conflict(None, format!("quote {} is already {s}", row.number))),
        }
        let variants = dq::variants_of(conn, &[row.id])?;
        let Some(chosen) = variants.iter().find(|v| v.id.0 == variant) else {
            return Err(AppError::field("variant_id", "not_of_quote", "not a variant of this quote"));
        };
        row.status = "approved".into();
        row.approved_variant_id = Some(chosen.id);
        row.decided_at = Some(now.naive_utc());
        let v = row.version;
        row.version += 1;
        row.updated_at = now.naive_utc();
        if dq::update_quote(conn, &row, v)? != 1 {
            return Err(AppError::PreconditionFailed { expected: v, current: v + 1 });
        }
        timeline(
            conn,
            row.interest_id,
            Some(actor),
            now,
            "quote_approved",
            format!("Quote {} approved: variant \"{}\" for {}", row.number, chosen.name, Money::from_minor(chosen.total_minor)),
            serde_json::json!({"quote_id": id, "variant_id": variant, "total": Money::from_minor(chosen.total_minor).to_string()}),
        )?;
        outbox::record(conn, now, Some(actor), "quote.approved", "quote", id, serde_json::json!({"id": id, "variant_id": variant}))?;
        quote_view(conn, row, day)
    })
}

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
    actor.require(&permissions::WRITE_QUOTES)?;
    actor.require(&permissions::WRITE_ORDERS)?;
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
        let Some(variant) = quote.approved_variant_id.filter(|_| quote.status == "approved") else {
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

fn priced_from(l: &QuoteLineRow) -> PricedLine {
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
