//! Rows of clients, contacts, contact points, name tokens, field history and clients' yearly dates.

use chrono::{NaiveDate, NaiveDateTime};
use crm_domain::status::ClientStatus;
use diesel::prelude::*;

use crate::schema::*;
use crate::types::{DbUuid, DbWord};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = clients, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct ClientRow {
    pub id: DbUuid,
    pub name: String,
    pub name_key: String,
    pub kind: String,
    pub tax_id: Option<String>,
    pub address: Option<String>,
    pub responsible_id: Option<DbUuid>,
    pub status: DbWord<ClientStatus>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub founded_on: Option<NaiveDate>,
    /// `MM-DD` of `founded_on`.
    pub founded_md: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = contacts, treat_none_as_null = true, treat_none_as_default_value = false)]
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
    /// `YYYY-MM-DD`, or `--MM-DD` when the year is not known.
    pub birthday: Option<String>,
    /// `MM-DD` of `birthday`.
    pub birthday_md: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = contact_points, treat_none_as_default_value = false)]
pub struct ContactPointRow {
    pub id: DbUuid,
    pub owner_kind: String,
    pub owner_id: DbUuid,
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = name_tokens, treat_none_as_default_value = false)]
pub struct NameTokenRow {
    pub id: DbUuid,
    pub owner_kind: String,
    pub owner_id: DbUuid,
    pub token: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = entity_history, treat_none_as_default_value = false)]
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

/// A client's important date, with its title; it comes round every year.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = client_dates, treat_none_as_default_value = false)]
pub struct ClientDateRow {
    pub id: DbUuid,
    pub client_id: DbUuid,
    pub title: String,
    /// `YYYY-MM-DD`, or `--MM-DD` when the year is not known.
    pub date: String,
    pub md: String,
    pub created_by: Option<DbUuid>,
    pub created_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
}
