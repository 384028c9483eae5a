//! Notifications for a user, and marking one read.

use chrono::{DateTime, Utc};
use crm_store::queries::sales as q;
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::principal::Principal;
use crate::platform::error::AppError;
use crate::platform::page::{Page, PageRequest};
use crate::App;

#[derive(Debug, Clone)]
pub struct NotificationView {
    pub id: Uuid,
    pub interest_id: Option<Uuid>,
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

pub(super) fn notification_view(r: crm_store::rows::NotificationRow) -> NotificationView {
    NotificationView {
        id: r.id.0,
        interest_id: r.interest_id.map(Into::into),
        text: r.text,
        created_at: r.created_at.and_utc(),
        read_at: r.read_at.map(|t| t.and_utc()),
    }
}

pub fn list_notifications(
    app: &App,
    actor: &Principal,
    unread_only: bool,
    page: PageRequest,
) -> Result<Page<NotificationView>, AppError> {
    actor.require(&permissions::READ_NOTIFICATIONS)?;
    let Principal::User(me) = actor else {
        return Err(AppError::Forbidden("API keys have no notifications".to_owned()));
    };
    let rows = app.read(|conn| Ok(q::list_notifications(conn, me.id.into(), unread_only, page.query())?))?;
    Ok(Page::from_rows(rows, page, |r| r.id.0, notification_view))
}

pub fn read_notification(app: &App, actor: &Principal, id: Uuid) -> Result<NotificationView, AppError> {
    actor.require(&permissions::READ_NOTIFICATIONS)?;
    let Principal::User(me) = actor else {
        return Err(AppError::Forbidden("API keys have no notifications".to_owned()));
    };
    let now = app.now();
    app.write(|conn| {
        let row = q::find_notification(conn, id.into())?
            .filter(|n| n.user_id.0 == me.id)
            .ok_or(AppError::NotFound("notification"))?;
        q::mark_notification_read(conn, row.id, now.naive_utc())?;
        Ok(notification_view(q::find_notification(conn, row.id)?.ok_or(AppError::NotFound("notification"))?))
    })
}
