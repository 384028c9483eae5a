//! Rows of leads and channels.

use chrono::NaiveDateTime;
use crm_domain::status::LeadStatus;
use diesel::prelude::*;

use crate::schema::*;
use crate::types::{DbUuid, DbWord};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = leads, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct LeadRow {
    pub id: DbUuid,
    pub channel: String,
    pub source: Option<String>,
    pub external_id: Option<String>,
    pub thread_key: Option<String>,
    pub status: DbWord<LeadStatus>,
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
#[diesel(table_name = channels, treat_none_as_null = true, treat_none_as_default_value = false)]
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
