//! Clients' important dates, and the birthdays, foundings and dates coming up.

use actix_web::{web, HttpResponse};
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use crm_app::parties::dates::{ClientDateView, DateKey, DateKind, UpcomingDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::error::ApiError;
use crate::extract::{created, validate, AppState, Auth, Json, Page, PageParams};
use crate::routes::words::ClientStatusDto;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/clients/{id}/dates").get(list_client_dates).post(add_client_date))
        .service(web::resource("/client-dates/{id}").get(get_client_date).delete(delete_client_date))
        .service(web::resource("/upcoming-dates").get(upcoming_dates));
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4ea0", "client_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e70",
    "title": "Supply agreement anniversary", "date": "2019-06-01", "created_at": "2026-12-01T09:00:00Z", "deleted_at": null}))]
pub struct ClientDateDto {
    pub id: Uuid,
    pub client_id: Uuid,
    pub title: String,
    /// `YYYY-MM-DD`, or `--MM-DD` when the year is not known.
    pub date: String,
    pub created_at: DateTime<Utc>,
    /// Set only in the change feed's `client_date.deleted`: when it was removed.
    pub deleted_at: Option<DateTime<Utc>>,
}

impl From<ClientDateView> for ClientDateDto {
    fn from(v: ClientDateView) -> Self {
        Self {
            id: v.id,
            client_id: v.client_id,
            title: v.title,
            date: v.date,
            created_at: v.created_at,
            deleted_at: v.deleted_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Supply agreement anniversary", "date": "2019-06-01"}))]
pub struct AddClientDateRequest {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// `YYYY-MM-DD`, or `--MM-DD` for a date without a year (a professional holiday).
    #[schema(example = "--06-01", pattern = r"^(\d{4}-|--)\d{2}-\d{2}$")]
    pub date: String,
}

/// Add an important date to a client; it comes round every year.
#[utoipa::path(post, path = "/api/v1/clients/{id}/dates", operation_id = "addClientDate", tag = "clients",
    params(("id" = Uuid, Path, description = "Client id")),
    request_body = AddClientDateRequest,
    responses((status = 201, description = "Added", body = ClientDateDto, headers(("Location" = String)))))]
pub async fn add_client_date(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<AddClientDateRequest>,
) -> Result<HttpResponse, ApiError> {
    validate(&*body)?;
    let b = body.into_inner();
    let id = id.into_inner();
    let d = auth
        .run(&state, move |app, principal| {
            crm_app::parties::dates::add_client_date(app, principal, id, &b.title, &b.date)
        })
        .await?;
    Ok(created(format!("/api/v1/client-dates/{}", d.id), &ClientDateDto::from(d), None))
}

/// One important date of a client.
#[utoipa::path(get, path = "/api/v1/client-dates/{id}", operation_id = "getClientDate", tag = "clients",
    params(("id" = Uuid, Path, description = "Date id")),
    responses((status = 200, description = "The date", body = ClientDateDto)))]
pub async fn get_client_date(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let d = auth
        .run(&state, move |app, principal| crm_app::parties::dates::get_client_date(app, principal, id))
        .await?;
    Ok(HttpResponse::Ok().json(ClientDateDto::from(d)))
}

/// A client's important dates.
#[utoipa::path(get, path = "/api/v1/clients/{id}/dates", operation_id = "listClientDates", tag = "clients",
    params(("id" = Uuid, Path, description = "Client id"), PageParams),
    responses((status = 200, description = "Its dates", body = Page<ClientDateDto>)))]
pub async fn list_client_dates(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let page = page.request()?;
    let found = auth
        .run(&state, move |app, principal| {
            crm_app::parties::dates::list_client_dates(app, principal, id, page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::<ClientDateDto>::of(found)))
}

/// Remove an important date.
#[utoipa::path(delete, path = "/api/v1/client-dates/{id}", operation_id = "deleteClientDate", tag = "clients",
    params(("id" = Uuid, Path, description = "Date id")),
    responses((status = 204, description = "Removed")))]
pub async fn delete_client_date(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    auth.run(&state, move |app, principal| crm_app::parties::dates::delete_client_date(app, principal, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// What comes round.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DateKindDto {
    /// A contact's birthday.
    Birthday,
    /// A client's founding.
    Founded,
    /// One of a client's important dates.
    Important,
}

impl From<DateKind> for DateKindDto {
    fn from(k: DateKind) -> Self {
        match k {
            DateKind::Birthday => DateKindDto::Birthday,
            DateKind::Founded => DateKindDto::Founded,
            DateKind::Important => DateKindDto::Important,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"kind": "birthday", "on": "2026-12-03", "date": "1985-12-03", "years": 41,
    "title": "Birthday of Anna Smirnova", "client_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e70", "client_name": "ООО «Ромашка»",
    "client_status": "active", "contact_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e73", "contact_name": "Anna Smirnova",
    "date_id": null, "responsible_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e5f"}))]
pub struct UpcomingDateDto {
    pub kind: DateKindDto,
    /// The day it comes round (29 February falls on the 28th in other years).
    pub on: NaiveDate,
    /// As recorded: `YYYY-MM-DD`, or `--MM-DD` without the year.
    pub date: String,
    /// The age or anniversary, when the year is known.
    pub years: Option<i32>,
    pub title: String,
    pub client_id: Option<Uuid>,
    pub client_name: Option<String>,
    pub client_status: Option<ClientStatusDto>,
    pub contact_id: Option<Uuid>,
    pub contact_name: Option<String>,
    /// The important date (kind `important`).
    pub date_id: Option<Uuid>,
    /// Who looks after it: the client's responsible, or the contact's.
    pub responsible_id: Option<Uuid>,
}

impl From<UpcomingDate> for UpcomingDateDto {
    fn from(d: UpcomingDate) -> Self {
        Self {
            kind: d.kind.into(),
            on: d.on,
            date: d.date,
            years: d.years,
            title: d.title,
            client_id: d.client_id,
            client_name: d.client_name,
            client_status: d.client_status.map(Into::into),
            contact_id: d.contact_id,
            contact_name: d.contact_name,
            date_id: d.date_id,
            responsible_id: d.responsible_id,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UpcomingQuery {
    /// How many days ahead, today included: 1 to 60 (default 14).
    #[param(minimum = 1, maximum = 60)]
    pub days: Option<u32>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
}

const CURSOR: &str = "d1:";

fn encode(key: DateKey) -> String {
    let subject = key.2.map(|u| u.to_string()).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        "{CURSOR}{}:{}:{subject}",
        key.0,
        key.1.as_str()
    ))
}

fn decode(cursor: &str) -> Option<DateKey> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.strip_prefix(CURSOR)?.splitn(3, ':');
    let on = NaiveDate::parse_from_str(parts.next()?, "%Y-%m-%d").ok()?;
    let kind = DateKind::parse(parts.next()?)?;
    let subject = match parts.next()? {
        "" => None,
        s => Some(Uuid::parse_str(s).ok()?),
    };
    Some((on, kind, subject))
}

/// The dates coming round: birthdays of contacts, foundings and important
/// dates of clients you see, from today (in the organisation's zone) for
/// `days` days, by day.
#[utoipa::path(get, path = "/api/v1/upcoming-dates", operation_id = "listUpcomingDates", tag = "clients",
    params(UpcomingQuery),
    responses((status = 200, description = "A page of dates, soonest first", body = Page<UpcomingDateDto>)))]
pub async fn upcoming_dates(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<UpcomingQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::field("limit", "out_of_range", "must be between 1 and 200"));
    }
    let days = q.days.unwrap_or(14);
    if !(1..=crm_app::parties::dates::MAX_DAYS).contains(&days) {
        return Err(ApiError::field("days", "out_of_range", "must be between 1 and 60"));
    }
    let after = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => match decode(c) {
            Some(key) => Some(key),
            // Well formed, but another list's (an id): the request is sound,
            // the cursor does not belong here (422, as for any rule).
            None if crate::extract::page_request(None, Some(c)).is_ok() => {
                return Err(crm_app::AppError::field(
                    "cursor",
                    "invalid",
                    "a cursor of another list; start again without it",
                )
                .into())
            }
            None => {
                return Err(ApiError::field(
                    "cursor",
                    "invalid",
                    "not a cursor this server issued; start again without it",
                ))
            }
        },
    };
    let (items, next) = auth
        .run(&state, move |app, principal| {
            crm_app::parties::dates::upcoming_dates(app, principal, days, after, limit as usize)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page {
        items: items.into_iter().map(UpcomingDateDto::from).collect::<Vec<_>>(),
        next_cursor: next.map(encode),
    }))
}
