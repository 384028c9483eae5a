//! Creating, reading, listing and changing quotes.

use chrono::NaiveDate;
use crm_domain::events::EventType;
use crm_domain::status::QuoteStatus;
use crm_domain::status::TimelineKind;
use crm_scenario::InterestState;
use crm_store::queries::documents as dq;
use crm_store::rows::{QuoteLineRow, QuoteRow, QuoteVariantRow};
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::documents::orders::today;

use crate::documents::lines::{parse_lines, price_lines, LineInput};

use super::*;
use crate::identity::permissions;
use crate::identity::principal::actor_parts;
use crate::identity::principal::Principal;
use crate::platform::error::{check_version, AppError, Problems};
use crate::platform::outbox;
use crate::sales::{timeline, visible_interest};
use crate::App;

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

pub(super) type ParsedVariants = Vec<(String, Vec<crate::documents::lines::ParsedLine>)>;

pub(super) fn parse_variants(
    p: &mut Problems,
    settings: &crate::Settings,
    variants: &[VariantInput],
) -> ParsedVariants {
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

pub(super) fn check_comment(p: &mut Problems, c: Option<&str>) {
    if c.is_some_and(|c| c.chars().count() > 4000) {
        p.push("comment", "too_long", "must be at most 4000 characters");
    }
}

/// Replaces a draft quote's variants with freshly priced ones.
pub(super) fn write_variants(
    conn: &mut DbConnection,
    quote: DbUuid,
    parsed: ParsedVariants,
) -> Result<(), AppError> {
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
        let totals = crate::documents::lines::write_all(&priced, |_, c| {
            dq::insert_quote_line(
                conn,
                &QuoteLineRow {
                    id: crm_domain::new_id().into(),
                    variant_id: v.id,
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
                },
            )?;
            Ok(())
        })?;
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
        if interest.state != InterestState::Active {
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
            status: QuoteStatus::Draft.into(),
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
            TimelineKind::QuoteCreated,
            format!("Quote {} drafted", row.number),
            serde_json::json!({"quote_id": id, "number": row.number}),
        )?;
        outbox::record(
            conn,
            now,
            Some(actor),
            EventType::QuoteCreated,
            "quote",
            id,
            serde_json::json!({"id": id, "number": row.number}),
        )?;
        quote_view(conn, row, day)
    })
}

pub(super) fn visible_quote(
    conn: &mut DbConnection,
    actor: &Principal,
    id: Uuid,
) -> Result<QuoteRow, AppError> {
    let row = dq::find_quote(conn, id.into())?.ok_or(AppError::NotFound("quote"))?;
    visible_interest(conn, actor, row.interest_id.0).map_err(|_| AppError::NotFound("quote"))?;
    Ok(row)
}

pub fn get_quote(app: &App, actor: &Principal, id: Uuid) -> Result<QuoteView, AppError> {
    actor.require(&permissions::READ_QUOTES)?;
    quote_seen(app, actor, id)
}

/// A quote the actor sees, for a use case that has checked its own permission.
pub(crate) fn quote_seen(app: &App, actor: &Principal, id: Uuid) -> Result<QuoteView, AppError> {
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
    page: crate::platform::page::PageRequest,
) -> Result<crate::platform::page::Page<QuoteView>, AppError> {
    actor.require(&permissions::READ_QUOTES)?;
    let day = today(app);
    app.read(|conn| {
        let (interest, _) = visible_interest(conn, actor, interest)?;
        let rows = dq::quotes_of_interest_page(conn, interest.id, page.query())?;
        crate::platform::page::Page::try_from_rows(
            rows,
            page,
            |q| q.id.0,
            |rows| rows.into_iter().map(|q| quote_view(conn, q, day)).collect(),
        )
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
    let status = c.status.as_deref().and_then(|s| {
        use QuoteStatus::*;
        p.word(
            "status",
            s,
            &[Draft, Sent, Rejected],
            "draft, sent or rejected (approve with POST /quotes/{id}/approve)",
        )
    });
    let parsed = c.variants.as_deref().map(|v| parse_variants(&mut p, app.settings(), v));
    p.into_result()?;
    let now = app.now();
    app.write(|conn| {
        let mut row = visible_quote(conn, actor, id)?;
        check_version(expected, row.version)?;
        if !matches!(row.status.0, QuoteStatus::Draft | QuoteStatus::Sent) {
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
            if row.status != QuoteStatus::Draft {
                return Err(AppError::rule(
                    "quote_draft",
                    "the variants of a sent quote are frozen; return it to draft first",
                ));
            }
            write_variants(conn, row.id, parsed)?;
        }
        if let Some(to) = status {
            if to == QuoteStatus::Sent && effective_status(&row, day) == QuoteStatus::Expired {
                return Err(AppError::rule(
                    "quote_valid",
                    "the quote has expired; give it a new valid_until first",
                ));
            }
            if row.status != to {
                timeline(
                    conn,
                    row.interest_id,
                    Some(actor),
                    now,
                    match to {
                        QuoteStatus::Draft => TimelineKind::QuoteDraft,
                        QuoteStatus::Sent => TimelineKind::QuoteSent,
                        QuoteStatus::Rejected => TimelineKind::QuoteRejected,
                        QuoteStatus::Approved => TimelineKind::QuoteApproved,
                        QuoteStatus::Expired => TimelineKind::Updated,
                    },
                    format!("Quote {} {to}", row.number),
                    serde_json::json!({"quote_id": id, "status": to.as_str()}),
                )?;
                if to == QuoteStatus::Rejected {
                    row.decided_at = Some(now.naive_utc());
                }
                row.status = to.into();
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
            EventType::QuoteUpdated,
            "quote",
            id,
            serde_json::json!({"id": id, "status": row.status.as_str()}),
        )?;
        quote_view(conn, row, day)
    })
}
