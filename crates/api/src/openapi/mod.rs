//! The OpenAPI document: generated from the handlers' annotations, then
//! completed from the shared declarations — who may call each operation
//! (`crm_app::identity::permissions`), the error responses every operation can give,
//! and links from create operations to their read operation.

use crm_app::identity::permissions::{self as perm, Access, KeyRule};
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::error::{Problem, ProblemField, ProblemUnmet};
use crate::routes::analytics;
use crate::routes::documents;
use crate::routes::feed;
use crate::routes::health;
use crate::routes::identity::{api_keys, auth, departments, users};
use crate::routes::intake::{leads, providers as intake};
use crate::routes::parties::{clients, contacts, dates};
use crate::routes::sales::{absences, board, calendar, emails, handover, interests, plans, scenarios, work};
use crate::routes::webhooks;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sales CRM API",
        description = "The backend of a sales CRM that runs the typical sale: leads, interests on a \
configurable scenario, quotes, orders, invoices, payments, shipments.\n\n\
Conventions: JSON with snake_case fields; errors are RFC 9457 `application/problem+json`; \
lists are cursor-paginated (`limit` 1–200, `cursor`); mutable resources carry `version` and \
an `ETag` (send `If-Match` to update, `If-None-Match` to revalidate); every POST accepts \
`Idempotency-Key`; every response carries `x-request-id`. Text people type may hold tab and \
line breaks but no other control character (400 `control_character` naming the field, in \
bodies, query parameters and paths alike); amounts and quantities are exact decimal strings, \
at most 1000000000000.00 and 1000000000 (422 `amount_too_large` past them); dates and times \
lie in the years 1900–2200 (400 `date_out_of_range`).",
        version = "1.0.0",
        contact(name = "Sales CRM maintainers"),
        license(name = "MIT", identifier = "MIT")
    ),
    servers(
        (url = "http://127.0.0.1:8080", description = "A server run locally with the README's command"),
    ),
    paths(
        auth::login, auth::refresh, auth::logout, auth::me,
        users::list_users, users::create_user, users::get_user, users::update_user,
        departments::list_departments, departments::create_department,
        departments::get_department, departments::update_department,
        api_keys::list_api_keys, api_keys::create_api_key, api_keys::revoke_api_key,
        scenarios::list_scenarios, scenarios::create_scenario, scenarios::get_scenario,
        scenarios::replace_scenario, scenarios::copy_scenario,
        scenarios::list_loss_reasons, scenarios::create_loss_reason, scenarios::update_loss_reason,
        interests::list_interests, interests::create_interest, interests::get_interest, interests::update_interest,
        interests::move_interest, interests::decide_loss, interests::timeline, board::board,
        work::list_interactions, work::create_interaction, work::update_interaction,
        work::complete_interaction, work::cancel_interaction,
        work::list_tasks, work::create_task, work::update_task, work::complete_task, work::cancel_task,
        work::list_notifications, work::read_notification,
        clients::list_clients, clients::create_client, clients::get_client, clients::update_client,
        contacts::list_client_contacts, contacts::create_client_contact, contacts::create_contact,
        contacts::get_contact, contacts::update_contact, clients::client_history, contacts::contact_history,
        clients::search_duplicates,
        dates::add_client_date, dates::list_client_dates, dates::get_client_date, dates::delete_client_date,
        dates::upcoming_dates,
        intake::intake_call, intake::intake_telegram, intake::intake_vk, intake::intake_email, intake::intake_form,
        intake::list_channels, intake::create_channel, intake::deactivate_channel, intake::list_forms, intake::create_form,
        documents::catalog::list_products, documents::catalog::create_product, documents::catalog::get_product, documents::catalog::update_product,
        documents::catalog::get_organization, documents::catalog::put_organization,
        documents::orders::create_order, documents::orders::list_interest_orders, documents::orders::get_order, documents::orders::confirm_order, documents::orders::cancel_order,
        documents::payments::register_payment, documents::payments::register_payments, documents::payments::cancel_payment, documents::payments::list_payments,
        documents::shipments::create_shipment, documents::shipments::get_shipment, documents::shipments::update_shipment,
        documents::orders::list_orders, documents::payments::list_all_payments, documents::shipments::cancel_shipment, documents::orders::update_order,
        documents::quotes::create_quote, documents::quotes::list_interest_quotes, documents::quotes::get_quote, documents::quotes::update_quote,
        documents::quotes::approve_quote, documents::quotes::orders_from_quote, documents::quotes::quote_pdf,
        documents::agreements::create_agreement, documents::agreements::list_agreements, documents::agreements::get_agreement, documents::agreements::update_agreement,
        documents::invoices::invoice_pdf, documents::invoices::send_invoice, documents::invoices::list_sendings, documents::invoices::get_sending,
        documents::invoices::retry_sending, documents::purchasing::record_related, documents::purchasing::list_related, documents::tree::document_tree,
        documents::purchasing::get_related, documents::payments::get_payment, documents::shipments::list_shipments,
        leads::list_leads, leads::create_lead, leads::get_lead, leads::acceptance, leads::accept_lead, leads::reject_lead,
        feed::list_events,
        webhooks::create_webhook, webhooks::list_webhooks, webhooks::get_webhook, webhooks::update_webhook,
        webhooks::delete_webhook, webhooks::rotate_secret, webhooks::list_deliveries, webhooks::redeliver,
        webhooks::replay, webhooks::test_webhook,
        analytics::funnel, analytics::stage_durations, analytics::win_rate, analytics::loss_reasons,
        analytics::forecast, analytics::managers, analytics::lead_sources, analytics::stale_interests,
        analytics::plan_fact,
        plans::list_sales_plans, plans::create_sales_plan, plans::get_sales_plan, plans::update_sales_plan,
        plans::delete_sales_plan,
        handover::hand_over,
        absences::create_absence, absences::list_absences, absences::get_absence, absences::cancel_absence,
        emails::send_email, emails::list_emails, emails::get_email, emails::retry_email,
        calendar::issue_calendar_feed, calendar::revoke_calendar_feed, calendar::calendar_feed,
        health::healthz, health::readyz, health::metrics,
    ),
    components(schemas(
        Problem, ProblemField, ProblemUnmet,
        crate::routes::words::InterestStateFilterDto, crate::routes::words::TaskStatusFilterDto,
        crate::routes::sales::work::TaskDueDto, crate::routes::analytics::export::ExportFormat,
    )),
    modifiers(&Complete),
    tags(
        (name = "auth", description = "Sign-in, tokens, sign-out"),
        (name = "users", description = "People who use the CRM"),
        (name = "departments", description = "The organisation's departments and their heads"),
        (name = "api-keys", description = "Keys for integrations"),
        (name = "scenarios", description = "Sales scenarios and loss reasons, configured by heads"),
        (name = "interests", description = "Interests (deals), their stage moves, timeline and the board"),
        (name = "interactions", description = "Calls, e-mails, meetings and messages with clients"),
        (name = "tasks", description = "Tasks and notifications"),
        (name = "clients", description = "Clients, contacts, their history and duplicate search"),
        (name = "leads", description = "Inbound requests and the acceptance wizard"),
        (name = "catalog", description = "Products and services, and the organisation's details"),
        (name = "orders", description = "Orders, payments and shipments, and the stage moves they cause"),
        (name = "quotes", description = "Quotes (КП) with variants, approval, orders from the chosen variant, PDF"),
        (name = "agreements", description = "Agreements with clients and their payment terms"),
        (name = "invoices", description = "Invoices as PDF, and e-mailing them"),
        (name = "purchasing", description = "Purchase documents procurement makes for orders"),
        (name = "intake", description = "Leads from e-mail, Telegram, VK, telephony and website forms; channel settings"),
        (name = "events", description = "The change feed: every change you may see, gap-free, in commit order"),
        (name = "webhooks", description = "Signed pushes of the change feed to integrators, with deliveries, retries and replay"),
        (name = "analytics", description = "Sales reports for heads, computed from the stage-move log: funnel, time in stage, win rate, loss reasons, forecast, managers, lead sources, stale interests, plan against fact"),
        (name = "calendar", description = "A personal iCalendar feed of your planned interactions and tasks"),
        (name = "sales-plans", description = "Monthly sales plans per manager and department, set by heads"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

/// Who may call each operation, by operation id. Operations not listed are public.
pub const ACCESS: &[(&str, &Access)] = &[
    ("logout", &perm::LOGOUT),
    ("listEvents", &perm::READ_EVENTS),
    ("createWebhook", &perm::MANAGE_WEBHOOKS),
    ("listWebhooks", &perm::MANAGE_WEBHOOKS),
    ("getWebhook", &perm::MANAGE_WEBHOOKS),
    ("updateWebhook", &perm::MANAGE_WEBHOOKS),
    ("deleteWebhook", &perm::MANAGE_WEBHOOKS),
    ("rotateWebhookSecret", &perm::MANAGE_WEBHOOKS),
    ("listWebhookDeliveries", &perm::MANAGE_WEBHOOKS),
    ("redeliverWebhookDelivery", &perm::MANAGE_WEBHOOKS),
    ("replayWebhook", &perm::MANAGE_WEBHOOKS),
    ("testWebhook", &perm::MANAGE_WEBHOOKS),
    ("getMe", &perm::READ_ME),
    ("listUsers", &perm::LIST_USERS),
    ("createUser", &perm::CREATE_USER),
    ("getUser", &perm::READ_USER),
    ("updateUser", &perm::UPDATE_USER),
    ("listDepartments", &perm::LIST_DEPARTMENTS),
    ("createDepartment", &perm::CREATE_DEPARTMENT),
    ("getDepartment", &perm::READ_DEPARTMENT),
    ("updateDepartment", &perm::UPDATE_DEPARTMENT),
    ("listApiKeys", &perm::MANAGE_API_KEYS),
    ("createApiKey", &perm::MANAGE_API_KEYS),
    ("revokeApiKey", &perm::MANAGE_API_KEYS),
    ("listScenarios", &perm::READ_SCENARIOS),
    ("getScenario", &perm::READ_SCENARIOS),
    ("createScenario", &perm::WRITE_SCENARIOS),
    ("replaceScenario", &perm::WRITE_SCENARIOS),
    ("copyScenario", &perm::WRITE_SCENARIOS),
    ("listLossReasons", &perm::READ_LOSS_REASONS),
    ("createLossReason", &perm::WRITE_LOSS_REASONS),
    ("updateLossReason", &perm::WRITE_LOSS_REASONS),
    ("listInterests", &perm::READ_INTERESTS),
    ("getInterest", &perm::READ_INTERESTS),
    ("getInterestTimeline", &perm::READ_INTERESTS),
    ("listInteractions", &perm::READ_INTERESTS),
    ("createInterest", &perm::WRITE_INTERESTS),
    ("updateInterest", &perm::WRITE_INTERESTS),
    ("moveInterest", &perm::WRITE_INTERESTS),
    ("createInteraction", &perm::WRITE_INTERESTS),
    ("updateInteraction", &perm::WRITE_INTERESTS),
    ("completeInteraction", &perm::WRITE_INTERESTS),
    ("cancelInteraction", &perm::WRITE_INTERESTS),
    ("decideLoss", &perm::DECIDE_LOSS),
    ("getBoard", &perm::READ_BOARD),
    ("listTasks", &perm::READ_TASKS),
    ("createTask", &perm::WRITE_TASKS),
    ("updateTask", &perm::WRITE_TASKS),
    ("completeTask", &perm::WRITE_TASKS),
    ("cancelTask", &perm::WRITE_TASKS),
    ("listNotifications", &perm::READ_NOTIFICATIONS),
    ("readNotification", &perm::READ_NOTIFICATIONS),
    ("listClients", &perm::READ_CLIENTS),
    ("getClient", &perm::READ_CLIENTS),
    ("listClientContacts", &perm::READ_CLIENTS),
    ("getContact", &perm::READ_CLIENTS),
    ("getClientHistory", &perm::READ_CLIENTS),
    ("getContactHistory", &perm::READ_CLIENTS),
    ("searchDuplicates", &perm::READ_CLIENTS),
    ("createClient", &perm::WRITE_CLIENTS),
    ("updateClient", &perm::WRITE_CLIENTS),
    ("createClientContact", &perm::WRITE_CLIENTS),
    ("createContact", &perm::WRITE_CLIENTS),
    ("updateContact", &perm::WRITE_CLIENTS),
    ("listLeads", &perm::READ_LEADS),
    ("getLead", &perm::READ_LEADS),
    ("createLead", &perm::WRITE_LEADS),
    ("getLeadAcceptance", &perm::PROCESS_LEADS),
    ("acceptLead", &perm::PROCESS_LEADS),
    ("rejectLead", &perm::PROCESS_LEADS),
    ("intakeCall", &perm::PUSH_LEADS),
    ("intakeEmail", &perm::PUSH_LEADS),
    ("listChannels", &perm::MANAGE_CHANNELS),
    ("createChannel", &perm::MANAGE_CHANNELS),
    ("deactivateChannel", &perm::MANAGE_CHANNELS),
    ("listForms", &perm::MANAGE_CHANNELS),
    ("createForm", &perm::MANAGE_CHANNELS),
    ("listProducts", &perm::READ_CATALOG),
    ("getProduct", &perm::READ_CATALOG),
    ("createProduct", &perm::WRITE_CATALOG),
    ("updateProduct", &perm::WRITE_CATALOG),
    ("getOrganization", &perm::READ_ORGANIZATION),
    ("putOrganization", &perm::WRITE_ORGANIZATION),
    ("createOrder", &perm::WRITE_ORDERS),
    ("listInterestOrders", &perm::READ_ORDERS),
    ("getOrder", &perm::READ_ORDERS),
    ("confirmOrder", &perm::WRITE_ORDERS),
    ("cancelOrder", &perm::WRITE_ORDERS),
    ("registerPayment", &perm::WRITE_PAYMENTS),
    ("registerPayments", &perm::WRITE_PAYMENTS),
    ("cancelPayment", &perm::WRITE_PAYMENTS),
    ("listOrderPayments", &perm::READ_PAYMENTS),
    ("createShipment", &perm::WRITE_SHIPMENTS),
    ("getShipment", &perm::READ_SHIPMENTS),
    ("updateShipment", &perm::WRITE_SHIPMENTS),
    ("listOrders", &perm::READ_ORDERS),
    ("listPayments", &perm::READ_PAYMENTS),
    ("cancelShipment", &perm::WRITE_SHIPMENTS),
    ("updateOrder", &perm::WRITE_ORDERS),
    ("createQuote", &perm::WRITE_QUOTES),
    ("listInterestQuotes", &perm::READ_QUOTES),
    ("getQuote", &perm::READ_QUOTES),
    ("updateQuote", &perm::WRITE_QUOTES),
    ("approveQuote", &perm::WRITE_QUOTES),
    ("createOrdersFromQuote", &perm::ORDERS_FROM_QUOTES),
    ("getQuotePdf", &perm::READ_QUOTES),
    ("createAgreement", &perm::WRITE_AGREEMENTS),
    ("listAgreements", &perm::READ_AGREEMENTS),
    ("getAgreement", &perm::READ_AGREEMENTS),
    ("updateAgreement", &perm::WRITE_AGREEMENTS),
    ("getInvoicePdf", &perm::READ_INVOICES),
    ("sendInvoice", &perm::SEND_INVOICES),
    ("listInvoiceSendings", &perm::READ_INVOICES),
    ("getInvoiceSending", &perm::READ_INVOICES),
    ("retryInvoiceSending", &perm::SEND_INVOICES),
    ("recordRelatedDocument", &perm::WRITE_PURCHASING),
    ("listRelatedDocuments", &perm::READ_PURCHASING),
    ("getDocumentTree", &perm::READ_DOCUMENT_TREE),
    ("getRelatedDocument", &perm::READ_PURCHASING),
    ("getPayment", &perm::READ_PAYMENTS),
    ("listShipments", &perm::READ_SHIPMENTS),
    ("getFunnel", &perm::READ_ANALYTICS),
    ("getStageDurations", &perm::READ_ANALYTICS),
    ("getWinRate", &perm::READ_ANALYTICS),
    ("getLossReasonReport", &perm::READ_ANALYTICS),
    ("getForecast", &perm::READ_ANALYTICS),
    ("getManagerReport", &perm::READ_ANALYTICS),
    ("getLeadSourceReport", &perm::READ_ANALYTICS),
    ("getStaleInterests", &perm::READ_ANALYTICS),
    ("getPlanFact", &perm::READ_ANALYTICS),
    ("listSalesPlans", &perm::READ_SALES_PLANS),
    ("getSalesPlan", &perm::READ_SALES_PLANS),
    ("createSalesPlan", &perm::WRITE_SALES_PLANS),
    ("updateSalesPlan", &perm::WRITE_SALES_PLANS),
    ("deleteSalesPlan", &perm::WRITE_SALES_PLANS),
    ("handOverWork", &perm::HAND_OVER),
    ("createAbsence", &perm::ABSENCES),
    ("listAbsences", &perm::ABSENCES),
    ("getAbsence", &perm::ABSENCES),
    ("cancelAbsence", &perm::ABSENCES),
    ("addClientDate", &perm::WRITE_CLIENTS),
    ("listClientDates", &perm::READ_CLIENTS),
    ("getClientDate", &perm::READ_CLIENTS),
    ("deleteClientDate", &perm::WRITE_CLIENTS),
    ("listUpcomingDates", &perm::READ_CLIENTS),
    ("sendInterestEmail", &perm::WRITE_INTERESTS),
    ("listInterestEmails", &perm::READ_INTERESTS),
    ("getInterestEmail", &perm::READ_INTERESTS),
    ("retryInterestEmail", &perm::WRITE_INTERESTS),
    ("issueCalendarFeed", &perm::CALENDAR_FEED),
    ("revokeCalendarFeed", &perm::CALENDAR_FEED),
];

/// Create operations and the read operation their `Location` points at.
const LINKS: &[(&str, &str)] = &[
    ("createUser", "getUser"),
    ("createDepartment", "getDepartment"),
    ("createQuote", "getQuote"),
    ("createAgreement", "getAgreement"),
    ("sendInvoice", "getInvoiceSending"),
    ("recordRelatedDocument", "getRelatedDocument"),
    ("createSalesPlan", "getSalesPlan"),
];

struct Complete;

impl Modify for Complete {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT or API key")
                    .description(Some("An access token from /auth/login, or an API key (crm_…)."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Api-Key",
                "An API key made by an admin (crm_…).",
            ))),
        );

        for (path, item) in openapi.paths.paths.iter_mut() {
            let methods: [(&str, Option<&mut Operation>); 5] = [
                ("GET", item.get.as_mut()),
                ("POST", item.post.as_mut()),
                ("PUT", item.put.as_mut()),
                ("PATCH", item.patch.as_mut()),
                ("DELETE", item.delete.as_mut()),
            ];
            for (method, op) in methods {
                if let Some(op) = op {
                    complete_operation(path, method, op);
                }
            }
        }
    }
}

pub(super) fn problem_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                crate::error::PROBLEM_JSON,
                ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
            )
            .build(),
    )
}

fn complete_operation(path: &str, method: &str, op: &mut Operation) {
    let id = op.operation_id.clone().unwrap_or_default();
    let access = ACCESS.iter().find(|(op_id, _)| *op_id == id).map(|(_, a)| *a);
    let mut errors: Vec<(&str, &str)> = Vec::new();
    let has_body = op.request_body.is_some();

    if let Some(access) = access {
        let mut requirements = vec![SecurityRequirement::new("bearer", Vec::<String>::new())];
        if let KeyRule::Scope(_) | KeyRule::Any = access.key {
            requirements.push(SecurityRequirement::new("api_key", Vec::<String>::new()));
        }
        op.security = Some(requirements);
        let roles: Vec<&str> = access.roles.iter().map(|r| r.as_str()).collect();
        let key = match access.key {
            KeyRule::Never => serde_json::Value::Null,
            KeyRule::Any => serde_json::Value::String("any".to_owned()),
            KeyRule::Scope(s) => serde_json::Value::String(s.as_str().to_owned()),
        };
        let ext = ExtensionsBuilder::new()
            .add("x-roles", roles.clone())
            .add("x-api-key-scope", key.clone())
            .build();
        match op.extensions.as_mut() {
            Some(existing) => existing.merge(ext),
            None => op.extensions = Some(ext),
        }
        let who = match access.key {
            KeyRule::Never => format!("Roles: {}. API keys: not accepted.", roles.join(", ")),
            KeyRule::Any => format!("Roles: {}. API keys: any.", roles.join(", ")),
            KeyRule::Scope(s) => format!("Roles: {}. API keys: scope `{}`.", roles.join(", "), s.as_str()),
        };
        op.description = Some(match op.description.take() {
            Some(d) if !d.is_empty() => format!("{d}\n\n{who}"),
            _ => who,
        });
        errors.push(("401", "No credentials, or invalid, expired or revoked ones"));
        errors.push(("403", "The caller's role or key scope does not allow this"));
    }
    if has_body {
        errors.push((
            "400",
            "Malformed JSON, wrong types, unknown or invalid fields, a control character in typed text",
        ));
        errors.push(("413", "The body is larger than the limit"));
        errors.push(("415", "The body is not application/json"));
    } else if op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
        errors.push((
            "400",
            "Invalid path or query parameters (bad id, limit, cursor, date, or a control character)",
        ));
    } else {
        errors.push(("400", "A control character in the path or the query string"));
    }
    if path.contains('{') {
        errors.push(("404", "No such resource, or not visible to the caller"));
    }
    let takes_if_match =
        op.parameters.as_ref().is_some_and(|ps| ps.iter().any(|p| p.name.eq_ignore_ascii_case("If-Match")));
    if takes_if_match && (method == "POST" || method == "DELETE") {
        errors.push(("412", "If-Match names a version that is no longer current"));
    }
    if method == "POST" {
        errors.push(("409", "Conflicts with the current state, or the first request with this Idempotency-Key is still running"));
        errors.push(("422", "Breaks a business rule (every unmet rule is listed), or the Idempotency-Key was used with another body"));
    }
    if method == "PATCH" || method == "PUT" {
        errors.push(("409", "Conflicts with the current state (e.g. a unique value is taken)"));
        errors.push(("412", "If-Match names a version that is no longer current"));
        errors.push(("422", "Breaks a business rule; every unmet rule is listed"));
    }
    // Reads whose filters meet rules of the data or of the caller.
    if matches!(id.as_str(), "getBoard" | "listInterests" | "listTasks" | "listPayments") {
        errors.push((
            "422",
            "A filter breaks a rule: a stage the scenario does not have, a cursor without its column, `me` asked by an API key, or no order named by someone who may not see every payment",
        ));
    }
    if id == "listSalesPlans" {
        errors.push(("422", "`month_to` is before `month_from`"));
    }
    if id == "listUpcomingDates" {
        errors.push(("422", "`cursor` is another list's: start again without it"));
    }
    if matches!(
        id.as_str(),
        "getFunnel"
            | "getStageDurations"
            | "getWinRate"
            | "getLossReasonReport"
            | "getForecast"
            | "getManagerReport"
            | "getLeadSourceReport"
            | "getPlanFact"
    ) {
        errors.push((
            "422",
            "The period breaks a rule (`to` before `from`, or longer than 731 days), or the scenario asked for does not exist",
        ));
    }
    if path.starts_with("/api/") {
        errors.push((
            "429",
            "Over the caller's request budget (`CRM_RATE_LIMIT`); retry after `Retry-After` seconds",
        ));
    }
    errors.push(("414", "The path and query are longer than 8 KiB"));
    errors.push(("431", "The request's header fields are larger than 32 KiB together"));
    errors.push(("500", "A fault on our side; logged with the request id"));
    if access.is_some() || matches!(id.as_str(), "login" | "refreshToken" | "getCalendarFeed") {
        errors.push((
            "503",
            "The database could not be reached or did not answer in time; retry after `Retry-After`",
        ));
    }
    for (status, description) in errors {
        op.responses.responses.entry(status.to_owned()).or_insert_with(|| problem_response(description));
    }

    if method == "POST" {
        let params = op.parameters.get_or_insert_with(Vec::new);
        params.push(
            utoipa::openapi::path::ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(utoipa::openapi::path::ParameterIn::Header)
                .required(utoipa::openapi::Required::False)
                .description(Some(
                    "Makes a retry safe: the first response is stored for 24 h and replayed for the same key and body \
                     (keys belong to the authenticated caller). A retry after the first request's change \
                     committed but its reply was lost is 409 `idempotency_key_applied`, never run twice. \
                     Sign-in and token refresh ignore it; secrets are never stored or replayed.",
                ))
                .schema(Some(
                    utoipa::openapi::ObjectBuilder::new()
                        .schema_type(utoipa::openapi::schema::Type::String)
                        .min_length(Some(1))
                        .max_length(Some(255))
                        .pattern(Some("^[!-~]+$")),
                ))
                .build(),
        );
    }

    if let Some((_, read)) = LINKS.iter().find(|(create, _)| *create == id) {
        if let Some(RefOr::T(created)) = op.responses.responses.get_mut("201") {
            created.links.insert(
                (*read).to_owned(),
                RefOr::T(
                    LinkBuilder::new()
                        .operation_id(*read)
                        .parameter("id", "$response.body#/id")
                        .description("Read what was created")
                        .build(),
                ),
            );
        }
    }
}

/// The document as served and committed: keys in a stable order, and link
/// objects spelled as OpenAPI spells them (utoipa 5 writes `operation_id`).
pub fn spec_value() -> Result<serde_json::Value, serde_json::Error> {
    use shapes::*;
    let mut value = serde_json::to_value(ApiDoc::openapi())?;
    fix_links(&mut value);
    ref_page_items(&mut value);
    value_patterns(&mut value);
    inputs::cursors(&mut value);
    inputs::request_values(&mut value);
    inputs::intake_bodies(&mut value);
    inputs::merged_union_branches(&mut value);
    inputs::closed_union_branches(&mut value);
    event_type_filters(&mut value);
    text_patterns(&mut value, false);
    // After the text patterns: any `If-None-Match` is read, a stray one is no match.
    inputs::conditional_reads(&mut value);
    if_match_shapes(&mut value);
    binary_bodies(&mut value);
    error_answers(&mut value);
    problem_catalogue(&mut value);
    webhooks_section(&mut value);
    optional_body_examples(&mut value);
    outputs::always_sent(&mut value);
    outputs::tagged_unions(&mut value);
    outputs::response_examples(&mut value);
    outputs::rate_limit_headers(&mut value);
    outputs::report_files(&mut value);
    outputs::problem_examples(&mut value);
    outputs::shared_answers(&mut value);
    Ok(value)
}

/// Pretty JSON with a trailing newline, exactly as committed in `openapi/openapi.json`.
pub fn spec_json() -> Result<String, serde_json::Error> {
    spec_value().and_then(|v| serde_json::to_string_pretty(&v)).map(|mut s| {
        s.push('\n');
        s
    })
}

mod inputs;
mod outputs;
pub use outputs::PROBLEM_EXAMPLES;
mod shapes;
#[cfg(test)]
mod tests;
