//! Who may call what: one declaration per operation, enforced by the use case
//! and published in the OpenAPI document from the same constant.

use crm_domain::{Role, Scope};

/// Whether and how an API key may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRule {
    /// Keys may not call it; only signed-in users.
    Never,
    /// Any valid key may call it.
    Any,
    /// Keys holding this scope may call it.
    Scope(Scope),
}

/// The roles and key scope an operation admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// What the operation does, for refusal messages ("create users").
    pub action: &'static str,
    pub roles: &'static [Role],
    pub key: KeyRule,
}

const EVERYONE: &[Role] = &Role::ALL;
const ADMIN: &[Role] = &[Role::Admin];

pub const READ_ME: Access =
    Access { action: "read a user profile of their own", roles: EVERYONE, key: KeyRule::Never };
pub const LOGOUT: Access = Access { action: "sign out", roles: EVERYONE, key: KeyRule::Never };

pub const LIST_USERS: Access =
    Access { action: "list users", roles: EVERYONE, key: KeyRule::Scope(Scope::UsersRead) };
pub const READ_USER: Access =
    Access { action: "read users", roles: EVERYONE, key: KeyRule::Scope(Scope::UsersRead) };
pub const CREATE_USER: Access = Access { action: "create users", roles: ADMIN, key: KeyRule::Never };
/// Everyone may patch their own profile; only admins may patch others (checked per object).
pub const UPDATE_USER: Access = Access { action: "update users", roles: EVERYONE, key: KeyRule::Never };

pub const LIST_DEPARTMENTS: Access =
    Access { action: "list departments", roles: EVERYONE, key: KeyRule::Scope(Scope::DepartmentsRead) };
pub const READ_DEPARTMENT: Access =
    Access { action: "read departments", roles: EVERYONE, key: KeyRule::Scope(Scope::DepartmentsRead) };
pub const CREATE_DEPARTMENT: Access =
    Access { action: "create departments", roles: ADMIN, key: KeyRule::Never };
pub const UPDATE_DEPARTMENT: Access =
    Access { action: "update departments", roles: ADMIN, key: KeyRule::Never };

pub const MANAGE_API_KEYS: Access = Access { action: "manage API keys", roles: ADMIN, key: KeyRule::Never };

const SALES: &[Role] = &[Role::Manager, Role::Head, Role::Admin, Role::Integration];
const CONFIGURERS: &[Role] = &[Role::Head, Role::Admin];

pub const READ_SCENARIOS: Access =
    Access { action: "read scenarios", roles: EVERYONE, key: KeyRule::Scope(Scope::InterestsRead) };
pub const WRITE_SCENARIOS: Access =
    Access { action: "configure scenarios", roles: CONFIGURERS, key: KeyRule::Never };

pub const READ_LOSS_REASONS: Access =
    Access { action: "read loss reasons", roles: EVERYONE, key: KeyRule::Scope(Scope::InterestsRead) };
pub const WRITE_LOSS_REASONS: Access =
    Access { action: "configure loss reasons", roles: CONFIGURERS, key: KeyRule::Never };

pub const READ_INTERESTS: Access =
    Access { action: "read interests", roles: SALES, key: KeyRule::Scope(Scope::InterestsRead) };
pub const WRITE_INTERESTS: Access =
    Access { action: "change interests", roles: SALES, key: KeyRule::Scope(Scope::InterestsWrite) };
/// Anyone may try; only the loss's approver (or an admin) succeeds, checked per object.
pub const DECIDE_LOSS: Access = Access { action: "decide losses", roles: EVERYONE, key: KeyRule::Never };

pub const READ_TASKS: Access =
    Access { action: "read tasks", roles: EVERYONE, key: KeyRule::Scope(Scope::TasksRead) };
pub const WRITE_TASKS: Access =
    Access { action: "change tasks", roles: EVERYONE, key: KeyRule::Scope(Scope::TasksWrite) };

pub const READ_NOTIFICATIONS: Access =
    Access { action: "read their notifications", roles: EVERYONE, key: KeyRule::Never };
/// Sales reports: each reader gets the figures of whom they see.
pub const READ_ANALYTICS: Access = Access {
    action: "read sales analytics",
    roles: &[Role::Manager, Role::Head, Role::Admin],
    key: KeyRule::Never,
};
/// Managers read their own plans, heads those of their departments and
/// their people, admins all.
pub const READ_SALES_PLANS: Access = Access {
    action: "read sales plans",
    roles: &[Role::Manager, Role::Head, Role::Admin],
    key: KeyRule::Never,
};
pub const WRITE_SALES_PLANS: Access =
    Access { action: "set sales plans", roles: CONFIGURERS, key: KeyRule::Never };
/// Heads for the people of their departments, admins for anyone.
pub const HAND_OVER: Access = Access { action: "hand work over", roles: CONFIGURERS, key: KeyRule::Never };
/// Everyone who works in the system has a calendar; integrations and keys do not.
pub const CALENDAR_FEED: Access = Access {
    action: "manage your calendar feed",
    roles: &[Role::Manager, Role::Head, Role::Accountant, Role::Procurement, Role::Admin],
    key: KeyRule::Never,
};
/// Absences: anyone who works may plan their own; heads those of their
/// departments' people; admins anyone's (checked per absence).
pub const ABSENCES: Access = Access {
    action: "plan absences",
    roles: &[Role::Manager, Role::Head, Role::Accountant, Role::Procurement, Role::Admin],
    key: KeyRule::Never,
};
pub const READ_BOARD: Access =
    Access { action: "see the board", roles: &[Role::Manager, Role::Head, Role::Admin], key: KeyRule::Never };

pub const READ_CLIENTS: Access =
    Access { action: "read clients and contacts", roles: EVERYONE, key: KeyRule::Scope(Scope::ClientsRead) };
pub const WRITE_CLIENTS: Access =
    Access { action: "change clients and contacts", roles: SALES, key: KeyRule::Scope(Scope::ClientsWrite) };

pub const READ_LEADS: Access =
    Access { action: "read leads", roles: SALES, key: KeyRule::Scope(Scope::LeadsRead) };
pub const WRITE_LEADS: Access =
    Access { action: "enter leads", roles: SALES, key: KeyRule::Scope(Scope::LeadsWrite) };
pub const PROCESS_LEADS: Access = Access {
    action: "accept, link or reject leads",
    roles: &[Role::Manager, Role::Head, Role::Admin],
    key: KeyRule::Never,
};

pub const MANAGE_CHANNELS: Access =
    Access { action: "manage lead channels", roles: ADMIN, key: KeyRule::Never };
/// Telephony and mail fetchers push with a key holding `leads:write`.
pub const PUSH_LEADS: Access = Access {
    action: "push leads from a channel",
    roles: &[Role::Admin, Role::Integration],
    key: KeyRule::Scope(Scope::LeadsWrite),
};

pub const READ_CATALOG: Access =
    Access { action: "read the catalogue", roles: EVERYONE, key: KeyRule::Scope(Scope::OrdersRead) };
pub const WRITE_CATALOG: Access = Access {
    action: "change the catalogue",
    roles: &[Role::Head, Role::Admin, Role::Integration],
    key: KeyRule::Scope(Scope::OrdersWrite),
};
pub const READ_ORGANIZATION: Access =
    Access { action: "read the organisation's details", roles: EVERYONE, key: KeyRule::Any };
pub const WRITE_ORGANIZATION: Access =
    Access { action: "change the organisation's details", roles: ADMIN, key: KeyRule::Never };

const SALES_AND_ACCOUNTING: &[Role] =
    &[Role::Manager, Role::Head, Role::Admin, Role::Integration, Role::Accountant];

/// Everyone who works with orders: sales, accounting and purchasing.
const ORDER_READERS: &[Role] =
    &[Role::Manager, Role::Head, Role::Admin, Role::Integration, Role::Accountant, Role::Procurement];

pub const READ_ORDERS: Access =
    Access { action: "read orders", roles: ORDER_READERS, key: KeyRule::Scope(Scope::OrdersRead) };
pub const WRITE_ORDERS: Access =
    Access { action: "change orders", roles: SALES, key: KeyRule::Scope(Scope::OrdersWrite) };
pub const READ_PAYMENTS: Access =
    Access { action: "read payments", roles: SALES_AND_ACCOUNTING, key: KeyRule::Scope(Scope::PaymentsRead) };
pub const WRITE_PAYMENTS: Access = Access {
    action: "register payments",
    roles: &[Role::Accountant, Role::Admin, Role::Integration],
    key: KeyRule::Scope(Scope::PaymentsWrite),
};
pub const WRITE_SHIPMENTS: Access =
    Access { action: "ship orders", roles: SALES, key: KeyRule::Scope(Scope::ShipmentsWrite) };
pub const READ_SHIPMENTS: Access = Access {
    action: "read shipments",
    roles: SALES_AND_ACCOUNTING,
    key: KeyRule::Scope(Scope::ShipmentsRead),
};

pub const READ_QUOTES: Access =
    Access { action: "read quotes", roles: SALES, key: KeyRule::Scope(Scope::OrdersRead) };
pub const WRITE_QUOTES: Access =
    Access { action: "change quotes", roles: SALES, key: KeyRule::Scope(Scope::OrdersWrite) };
/// Making orders from an approved quote changes both; whoever may change
/// orders and quotes may do it.
pub const ORDERS_FROM_QUOTES: Access =
    Access { action: "make orders from quotes", roles: SALES, key: KeyRule::Scope(Scope::OrdersWrite) };

pub const READ_AGREEMENTS: Access = Access {
    action: "read agreements",
    roles: SALES_AND_ACCOUNTING,
    key: KeyRule::Scope(Scope::ClientsRead),
};
pub const WRITE_AGREEMENTS: Access =
    Access { action: "change agreements", roles: SALES, key: KeyRule::Scope(Scope::ClientsWrite) };

pub const READ_INVOICES: Access =
    Access { action: "read invoices", roles: SALES_AND_ACCOUNTING, key: KeyRule::Scope(Scope::OrdersRead) };
pub const SEND_INVOICES: Access =
    Access { action: "send invoices", roles: SALES_AND_ACCOUNTING, key: KeyRule::Scope(Scope::OrdersWrite) };

/// Purchasing documents: sales see those of their orders, purchasing keeps them.
pub const READ_PURCHASING: Access = Access {
    action: "read purchasing documents",
    roles: &[Role::Manager, Role::Head, Role::Admin, Role::Integration, Role::Procurement],
    key: KeyRule::Scope(Scope::PurchasingRead),
};
pub const WRITE_PURCHASING: Access = Access {
    action: "record purchasing documents",
    roles: &[Role::Procurement, Role::Admin, Role::Integration],
    key: KeyRule::Scope(Scope::PurchasingWrite),
};

/// The document tree: each reader sees the branches their role may see.
pub const READ_DOCUMENT_TREE: Access = Access {
    action: "read an interest's documents",
    roles: ORDER_READERS,
    key: KeyRule::Scope(Scope::OrdersRead),
};

/// Everyone may follow the change feed; each reader gets only the events of
/// what they may read (checked per event against the read access of its kind).
pub const READ_EVENTS: Access = Access { action: "read the change feed", roles: EVERYONE, key: KeyRule::Any };

/// Webhooks push every change of the organisation: only admins set them up.
pub const MANAGE_WEBHOOKS: Access = Access { action: "manage webhooks", roles: ADMIN, key: KeyRule::Never };
