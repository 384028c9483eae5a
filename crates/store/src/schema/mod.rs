//! Table definitions shared by both backends (kept in step with `migrations/`),
//! a file per area; joins and the tables one query may combine are declared here.

pub use crate::types::SqlUuid as Uuid;

mod documents;
mod identity;
mod intake;
mod parties;
mod platform;
mod sales;

pub use documents::*;
pub use identity::*;
pub use intake::*;
pub use parties::*;
pub use platform::*;
pub use sales::*;

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(interests -> scenarios (scenario_id));
diesel::joinable!(orders -> interests (interest_id));
diesel::joinable!(contacts -> clients (client_id));
diesel::joinable!(client_dates -> clients (client_id));
diesel::joinable!(invoice_sendings -> orders (order_id));
diesel::joinable!(interest_emails -> interests (interest_id));
diesel::joinable!(order_lines -> orders (order_id));
diesel::joinable!(order_instalments -> orders (order_id));
diesel::joinable!(interests -> users (responsible_id));
diesel::joinable!(interactions -> interests (interest_id));
diesel::joinable!(timeline_entries -> interests (interest_id));
diesel::joinable!(stage_moves -> interests (interest_id));

diesel::allow_tables_to_appear_in_same_query!(
    departments,
    users,
    sessions,
    refresh_tokens,
    api_keys,
    login_attempts,
    outbox_events,
    idempotency_keys,
    scenarios,
    loss_reasons,
    interests,
    interactions,
    tasks,
    notifications,
    timeline_entries,
    stage_moves,
    sales_plans,
    calendar_feeds,
    absences,
    interest_emails,
    clients,
    contacts,
    client_dates,
    date_reminders,
    contact_points,
    name_tokens,
    entity_history,
    leads,
    channels,
    rate_limit_hits,
    intake_deliveries,
    products,
    organization_settings,
    document_numbers,
    orders,
    order_lines,
    payments,
    shipments,
    shipment_lines,
    quotes,
    quote_variants,
    quote_lines,
    agreements,
    order_instalments,
    invoice_sendings,
    related_documents,
    webhooks,
    webhook_deliveries,
    webhook_attempts,
);
