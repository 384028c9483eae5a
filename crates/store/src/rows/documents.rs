//! Rows of products, the organisation, orders, payments, shipments, quotes,
//! agreements, instalments, invoice sendings and related documents.

use chrono::NaiveDateTime;
use crm_domain::status::{
    AgreementStatus, OrderStatus, PaymentStatus, QuoteStatus, SendingStatus, ShipmentStatus,
};
use diesel::prelude::*;

use crate::schema::*;
use crate::types::{DbUuid, DbWord};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = products, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct ProductRow {
    pub id: DbUuid,
    pub sku: String,
    pub name: String,
    pub unit: String,
    pub price_minor: i64,
    pub currency: String,
    pub vat_rate: String,
    pub price_includes_vat: bool,
    pub active: bool,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = organization_settings, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct OrganizationRow {
    pub id: i32,
    pub name: String,
    pub tax_id: Option<String>,
    pub kpp: Option<String>,
    pub bank: Option<String>,
    pub bik: Option<String>,
    pub account: Option<String>,
    pub correspondent_account: Option<String>,
    pub address: Option<String>,
    pub version: i64,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = orders, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct OrderRow {
    pub id: DbUuid,
    pub number: String,
    pub interest_id: DbUuid,
    pub status: DbWord<OrderStatus>,
    pub currency: String,
    pub net_minor: i64,
    pub vat_minor: i64,
    pub total_minor: i64,
    pub paid_minor: i64,
    pub confirmed_at: Option<NaiveDateTime>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub quote_id: Option<DbUuid>,
    pub agreement_id: Option<DbUuid>,
    /// What the invoice prints, frozen at confirmation (JSON; see `crm_app::invoices`).
    pub issued_snapshot: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = order_lines, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct OrderLineRow {
    pub id: DbUuid,
    pub order_id: DbUuid,
    pub position: i32,
    pub product_id: Option<DbUuid>,
    pub description: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub discount_bp: i32,
    pub vat_rate: String,
    pub price_includes_vat: bool,
    pub net_minor: i64,
    pub vat_minor: i64,
    pub total_minor: i64,
    pub shipped_quantity: i64,
    pub quote_line_id: Option<DbUuid>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = payments, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct PaymentRow {
    pub id: DbUuid,
    pub order_id: DbUuid,
    pub amount_minor: i64,
    pub paid_on: NaiveDateTime,
    pub external_ref: Option<String>,
    pub payer: Option<String>,
    pub comment: Option<String>,
    pub status: DbWord<PaymentStatus>,
    pub overpaid: bool,
    pub created_by: Option<DbUuid>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = shipments, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct ShipmentRow {
    pub id: DbUuid,
    pub number: String,
    pub order_id: DbUuid,
    pub kind: String,
    pub shipped_on: NaiveDateTime,
    pub status: DbWord<ShipmentStatus>,
    pub route_sheet: Option<String>,
    pub notes: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = shipment_lines, treat_none_as_default_value = false)]
pub struct ShipmentLineRow {
    pub id: DbUuid,
    pub shipment_id: DbUuid,
    pub order_line_id: DbUuid,
    pub quantity: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = quotes, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct QuoteRow {
    pub id: DbUuid,
    pub number: String,
    pub interest_id: DbUuid,
    pub status: DbWord<QuoteStatus>,
    pub currency: String,
    pub valid_until: NaiveDateTime,
    pub comment: Option<String>,
    pub approved_variant_id: Option<DbUuid>,
    pub decided_at: Option<NaiveDateTime>,
    pub created_by: Option<DbUuid>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = quote_variants, treat_none_as_default_value = false)]
pub struct QuoteVariantRow {
    pub id: DbUuid,
    pub quote_id: DbUuid,
    pub position: i32,
    pub name: String,
    pub net_minor: i64,
    pub vat_minor: i64,
    pub total_minor: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = quote_lines, treat_none_as_default_value = false)]
pub struct QuoteLineRow {
    pub id: DbUuid,
    pub variant_id: DbUuid,
    pub position: i32,
    pub product_id: Option<DbUuid>,
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

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = agreements, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct AgreementRow {
    pub id: DbUuid,
    pub number: String,
    pub client_id: DbUuid,
    pub title: String,
    pub signed_on: NaiveDateTime,
    pub valid_until: Option<NaiveDateTime>,
    pub currency: String,
    /// JSON list of instalment terms (percent, trigger, days offset).
    pub payment_terms: String,
    pub status: DbWord<AgreementStatus>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = order_instalments, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct InstalmentRow {
    pub id: DbUuid,
    pub order_id: DbUuid,
    pub position: i32,
    pub amount_minor: i64,
    pub due_trigger: String,
    pub days_offset: i32,
    pub due_on: Option<NaiveDateTime>,
    /// When the passed due date was looked at (and, if unpaid, announced).
    pub due_checked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = invoice_sendings, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct InvoiceSendingRow {
    pub id: DbUuid,
    pub order_id: DbUuid,
    pub recipient: String,
    pub status: DbWord<SendingStatus>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub message_id: Option<String>,
    pub requested_by: Option<DbUuid>,
    pub sent_at: Option<NaiveDateTime>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = related_documents, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct RelatedDocumentRow {
    pub id: DbUuid,
    pub order_id: DbUuid,
    pub kind: String,
    pub number: String,
    pub document_date: NaiveDateTime,
    pub status: String,
    pub amount_minor: Option<i64>,
    pub external_id: Option<String>,
    pub created_by: Option<DbUuid>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}
