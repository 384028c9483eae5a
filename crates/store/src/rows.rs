//! Row structs as the tables hold them; `*Form` structs are what inserts and updates write.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::*;
use crate::types::DbUuid;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = departments)]
pub struct DepartmentRow {
    pub id: DbUuid,
    pub name: String,
    pub name_key: String,
    pub head_id: Option<DbUuid>,
    pub parent_id: Option<DbUuid>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = departments)]
pub struct DepartmentInsertForm {
    pub id: DbUuid,
    pub name: String,
    pub name_key: String,
    pub head_id: Option<DbUuid>,
    pub parent_id: Option<DbUuid>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = departments, treat_none_as_null = true)]
pub struct DepartmentUpdateForm {
    pub name: String,
    pub name_key: String,
    pub head_id: Option<DbUuid>,
    pub parent_id: Option<DbUuid>,
    pub version: i64,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: DbUuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub department_id: Option<DbUuid>,
    pub time_zone: String,
    pub active: bool,
    pub password_hash: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub default_service_type: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct UserInsertForm {
    pub id: DbUuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub department_id: Option<DbUuid>,
    pub time_zone: String,
    pub active: bool,
    pub password_hash: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub default_service_type: Option<String>,
}

#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
pub struct UserUpdateForm {
    pub email: String,
    pub name: String,
    pub role: String,
    pub department_id: Option<DbUuid>,
    pub time_zone: String,
    pub active: bool,
    pub password_hash: String,
    pub version: i64,
    pub updated_at: NaiveDateTime,
    pub default_service_type: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: DbUuid,
    pub user_id: DbUuid,
    pub created_at: NaiveDateTime,
    pub last_used_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub id: DbUuid,
    pub session_id: DbUuid,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: DbUuid,
    pub name: String,
    pub prefix: String,
    pub secret_hash: String,
    pub scopes: String,
    pub created_by: Option<DbUuid>,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = login_attempts)]
pub struct LoginAttemptInsertForm {
    pub id: DbUuid,
    pub email: String,
    pub address: String,
    pub succeeded: bool,
    pub attempted_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = outbox_events)]
pub struct OutboxEventRow {
    pub id: DbUuid,
    pub kind: String,
    pub entity_type: String,
    pub entity_id: DbUuid,
    pub payload: String,
    pub occurred_at: NaiveDateTime,
    pub actor_kind: String,
    pub actor_id: Option<DbUuid>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyKeyRow {
    pub id: DbUuid,
    pub principal: String,
    pub idem_key: String,
    pub request_hash: String,
    pub state: String,
    pub response_status: Option<i32>,
    pub response_headers: Option<String>,
    pub response_body: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = scenarios)]
pub struct ScenarioRow {
    pub id: DbUuid,
    pub name: String,
    pub name_key: String,
    pub definition: String,
    pub is_default: bool,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = loss_reasons)]
pub struct LossReasonRow {
    pub id: DbUuid,
    pub name: String,
    pub name_key: String,
    pub active: bool,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = interests, treat_none_as_null = true)]
pub struct InterestRow {
    pub id: DbUuid,
    pub scenario_id: DbUuid,
    pub stage: String,
    pub state: String,
    pub pending_stage: Option<String>,
    pub title: String,
    pub potential_minor: Option<i64>,
    pub currency: String,
    pub service_type: Option<String>,
    pub client_id: Option<DbUuid>,
    pub contact_id: Option<DbUuid>,
    pub responsible_id: DbUuid,
    pub loss_reason_id: Option<DbUuid>,
    pub loss_comment: Option<String>,
    pub loss_approver_id: Option<DbUuid>,
    pub stage_entered_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = interactions, treat_none_as_null = true)]
pub struct InteractionRow {
    pub id: DbUuid,
    pub interest_id: DbUuid,
    pub kind: String,
    pub status: String,
    pub subject: String,
    pub planned_at: Option<NaiveDateTime>,
    pub completed_at: Option<NaiveDateTime>,
    pub result: Option<String>,
    pub created_by: Option<DbUuid>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = tasks, treat_none_as_null = true)]
pub struct TaskRow {
    pub id: DbUuid,
    pub interest_id: Option<DbUuid>,
    pub title: String,
    pub task_kind: String,
    pub assignee_id: DbUuid,
    pub due_at: NaiveDateTime,
    pub status: String,
    pub rule_stage: Option<String>,
    pub rule: Option<String>,
    pub created_by: Option<DbUuid>,
    pub completed_at: Option<NaiveDateTime>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    pub id: DbUuid,
    pub user_id: DbUuid,
    pub interest_id: Option<DbUuid>,
    pub text: String,
    pub created_at: NaiveDateTime,
    pub read_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = timeline_entries)]
pub struct TimelineEntryRow {
    pub id: DbUuid,
    pub interest_id: DbUuid,
    pub kind: String,
    pub actor_kind: String,
    pub actor_id: Option<DbUuid>,
    pub occurred_at: NaiveDateTime,
    pub summary: String,
    pub payload: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = clients, treat_none_as_null = true)]
pub struct ClientRow {
    pub id: DbUuid,
    pub name: String,
    pub name_key: String,
    pub kind: String,
    pub tax_id: Option<String>,
    pub address: Option<String>,
    pub responsible_id: Option<DbUuid>,
    pub status: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = contacts, treat_none_as_null = true)]
pub struct ContactRow {
    pub id: DbUuid,
    pub client_id: Option<DbUuid>,
    pub name: String,
    pub name_key: String,
    pub position: Option<String>,
    pub telegram: Option<String>,
    pub vk: Option<String>,
    pub whatsapp: Option<String>,
    pub responsible_id: Option<DbUuid>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = contact_points)]
pub struct ContactPointRow {
    pub id: DbUuid,
    pub owner_kind: String,
    pub owner_id: DbUuid,
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = name_tokens)]
pub struct NameTokenRow {
    pub id: DbUuid,
    pub owner_kind: String,
    pub owner_id: DbUuid,
    pub token: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = entity_history)]
pub struct HistoryRow {
    pub id: DbUuid,
    pub entity_type: String,
    pub entity_id: DbUuid,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub actor_kind: String,
    pub actor_id: Option<DbUuid>,
    pub changed_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = leads, treat_none_as_null = true)]
pub struct LeadRow {
    pub id: DbUuid,
    pub channel: String,
    pub source: Option<String>,
    pub external_id: Option<String>,
    pub thread_key: Option<String>,
    pub status: String,
    pub received_at: NaiveDateTime,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub contact_as_given: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub client_id: Option<DbUuid>,
    pub contact_id: Option<DbUuid>,
    pub assignee_id: Option<DbUuid>,
    pub interest_id: Option<DbUuid>,
    pub reject_reason: Option<String>,
    pub reject_comment: Option<String>,
    pub raw_payload: Option<String>,
    pub parse_note: Option<String>,
    pub processed_by: Option<DbUuid>,
    pub processed_at: Option<NaiveDateTime>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = channels, treat_none_as_null = true)]
pub struct ChannelRow {
    pub id: DbUuid,
    pub kind: String,
    pub name: String,
    pub address: String,
    pub secret_hash: Option<String>,
    pub confirmation: Option<String>,
    pub assignee_id: Option<DbUuid>,
    /// Space-separated origins (forms).
    pub allowed_origins: String,
    pub active: bool,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = products, treat_none_as_null = true)]
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
#[diesel(table_name = organization_settings, treat_none_as_null = true)]
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
#[diesel(table_name = orders, treat_none_as_null = true)]
pub struct OrderRow {
    pub id: DbUuid,
    pub number: String,
    pub interest_id: DbUuid,
    pub status: String,
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
#[diesel(table_name = order_lines, treat_none_as_null = true)]
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
#[diesel(table_name = payments, treat_none_as_null = true)]
pub struct PaymentRow {
    pub id: DbUuid,
    pub order_id: DbUuid,
    pub amount_minor: i64,
    pub paid_on: NaiveDateTime,
    pub external_ref: Option<String>,
    pub payer: Option<String>,
    pub comment: Option<String>,
    pub status: String,
    pub overpaid: bool,
    pub created_by: Option<DbUuid>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = shipments, treat_none_as_null = true)]
pub struct ShipmentRow {
    pub id: DbUuid,
    pub number: String,
    pub order_id: DbUuid,
    pub kind: String,
    pub shipped_on: NaiveDateTime,
    pub status: String,
    pub route_sheet: Option<String>,
    pub notes: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = shipment_lines)]
pub struct ShipmentLineRow {
    pub id: DbUuid,
    pub shipment_id: DbUuid,
    pub order_line_id: DbUuid,
    pub quantity: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = quotes, treat_none_as_null = true)]
pub struct QuoteRow {
    pub id: DbUuid,
    pub number: String,
    pub interest_id: DbUuid,
    pub status: String,
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
#[diesel(table_name = quote_variants)]
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
#[diesel(table_name = quote_lines)]
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
#[diesel(table_name = agreements, treat_none_as_null = true)]
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
    pub status: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = order_instalments, treat_none_as_null = true)]
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
#[diesel(table_name = invoice_sendings, treat_none_as_null = true)]
pub struct InvoiceSendingRow {
    pub id: DbUuid,
    pub order_id: DbUuid,
    pub recipient: String,
    pub status: String,
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
#[diesel(table_name = related_documents, treat_none_as_null = true)]
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
