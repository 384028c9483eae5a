//! Rows of scenarios, loss reasons, interests, interactions, tasks, notifications, the timeline, sales plans and interest e-mails.

use chrono::{NaiveDate, NaiveDateTime};
use crm_domain::status::{EmailDirection, EmailStatus, InteractionStatus, InterestState, TaskStatus};
use diesel::prelude::*;

use crate::schema::*;
use crate::types::{DbUuid, DbWord};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = scenarios, treat_none_as_default_value = false)]
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
#[diesel(table_name = loss_reasons, treat_none_as_default_value = false)]
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
#[diesel(table_name = interests, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct InterestRow {
    pub id: DbUuid,
    pub scenario_id: DbUuid,
    pub stage: String,
    pub state: DbWord<InterestState>,
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
    pub expected_close_on: NaiveDate,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = interactions, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct InteractionRow {
    pub id: DbUuid,
    pub interest_id: DbUuid,
    pub kind: String,
    pub status: DbWord<InteractionStatus>,
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
#[diesel(table_name = tasks, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct TaskRow {
    pub id: DbUuid,
    pub interest_id: Option<DbUuid>,
    pub title: String,
    pub task_kind: String,
    pub assignee_id: DbUuid,
    pub due_at: NaiveDateTime,
    pub status: DbWord<TaskStatus>,
    pub rule_stage: Option<String>,
    pub rule: Option<String>,
    pub created_by: Option<DbUuid>,
    pub completed_at: Option<NaiveDateTime>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = notifications, treat_none_as_default_value = false)]
pub struct NotificationRow {
    pub id: DbUuid,
    pub user_id: DbUuid,
    pub interest_id: Option<DbUuid>,
    pub text: String,
    pub created_at: NaiveDateTime,
    pub read_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = timeline_entries, treat_none_as_default_value = false)]
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

/// One move of an interest between stages (append-only).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = stage_moves, treat_none_as_default_value = false)]
pub struct StageMoveRow {
    pub id: DbUuid,
    pub interest_id: DbUuid,
    pub scenario_id: DbUuid,
    pub from_stage: Option<String>,
    pub to_stage: String,
    pub moved_at: NaiveDateTime,
    pub actor_kind: String,
    pub actor_id: Option<DbUuid>,
    pub trigger_event: Option<String>,
    pub interaction_result: Option<String>,
    pub loss_reason_id: Option<DbUuid>,
}

/// A monthly amount for one manager (`user_id`) or one department.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sales_plans, treat_none_as_default_value = false)]
pub struct SalesPlanRow {
    pub id: DbUuid,
    /// The first day of the month.
    pub month: NaiveDate,
    pub user_id: Option<DbUuid>,
    pub department_id: Option<DbUuid>,
    pub currency: String,
    pub amount_minor: i64,
    pub note: Option<String>,
    pub created_by: Option<DbUuid>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
}

/// An e-mail of an interest: sent from it, or a reply that came back.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = interest_emails, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct InterestEmailRow {
    pub id: DbUuid,
    pub interest_id: DbUuid,
    pub direction: DbWord<EmailDirection>,
    pub status: DbWord<EmailStatus>,
    pub from_address: Option<String>,
    /// Addresses joined by ", ".
    pub to_addresses: String,
    pub cc_addresses: String,
    pub subject: String,
    pub body: String,
    /// JSON: `[{"kind": "invoice" | "quote", "id": …}]`.
    pub attachments: String,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub interaction_id: Option<DbUuid>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub requested_by: Option<DbUuid>,
    pub sent_at: Option<NaiveDateTime>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}
