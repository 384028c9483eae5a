//! The read model of a quote, its variants and lines.

use chrono::{DateTime, NaiveDate, Utc};
use crm_domain::pricing::Quantity;
use crm_domain::status::QuoteStatus;
use crm_domain::Money;
use crm_store::queries::{documents as dq, sales as sq};
use crm_store::rows::{QuoteLineRow, QuoteRow};
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::platform::error::AppError;

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
    pub status: QuoteStatus,
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
pub(crate) fn effective_status(row: &QuoteRow, today: NaiveDate) -> QuoteStatus {
    if matches!(row.status.0, QuoteStatus::Draft | QuoteStatus::Sent) && row.valid_until.date() < today {
        QuoteStatus::Expired
    } else {
        row.status.0
    }
}

pub(super) fn line_view(l: QuoteLineRow) -> QuoteLineView {
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
