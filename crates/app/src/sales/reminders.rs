//! The timed job that reminds the responsible of a client's date coming
//! round: a notification some days before, once per date per year, and a
//! "Congratulate …" task when the client's status asks for one.

use chrono::{Datelike, NaiveTime};
use crm_store::queries::parties::dates as dq;
use crm_store::DbUuid;

use crate::parties::dates::{dates_between, today, UpcomingDate};
use crate::platform::error::AppError;
use crate::sales::{create_task, notify, user_tz};
use crate::App;

/// The task's words and the notification's for one date.
fn words(d: &UpcomingDate, today: chrono::NaiveDate) -> String {
    let mut text = d.title.clone();
    match (&d.client_name, &d.contact_name) {
        (Some(c), Some(_)) => text.push_str(&format!(" ({c})")),
        (Some(c), None) if d.kind != crate::parties::dates::DateKind::Founded => {
            text.push_str(&format!(" ({c})"))
        }
        _ => {}
    }
    let when = if d.on == today { "today".to_owned() } else { format!("on {}", d.on.format("%d.%m.%Y")) };
    text.push_str(&format!(" {when}"));
    if let Some(y) = d.years.filter(|y| *y > 0) {
        text.push_str(&format!(": {y} years"));
    }
    text
}

/// Reminds each responsible of the dates coming round from today to
/// `days_before` days ahead (in the organisation's zone) that they were not
/// yet reminded of this year. A date the job missed (the server was down)
/// is still reminded while it lies ahead. Returns how many were reminded.
pub fn remind_client_dates(app: &App) -> Result<usize, AppError> {
    let settings = app.settings().date_reminders.clone();
    let from = today(app);
    let to = from + chrono::Days::new(u64::from(settings.days_before));
    let now = app.now();
    let fallback = app.settings().default_time_zone.tz();
    let dates = app.read(|conn| dates_between(conn, None, from, to))?;
    let mut reminded = 0;
    for d in dates {
        let (Some(subject), Some(responsible)) = (d.subject(), d.responsible_id) else { continue };
        let responsible = DbUuid::from(responsible);
        reminded += app.write(|conn| {
            if !dq::remember_reminder(conn, d.kind.as_str(), subject.into(), d.on.year(), now.naive_utc())? {
                return Ok(0);
            }
            let text = words(&d, from);
            notify(conn, responsible, None, &text, now)?;
            // Contacts of no client have no status: they follow `active`.
            let status = d.client_status.unwrap_or(crm_domain::status::ClientStatus::Active);
            if settings.task_for.contains(&status) {
                let tz = user_tz(conn, responsible, fallback)?;
                let nine = d.on.and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN));
                let due =
                    nine.and_local_timezone(tz).earliest().map_or(now, |t| t.with_timezone(&chrono::Utc));
                create_task(
                    conn,
                    None,
                    now,
                    None,
                    &format!("Congratulate: {text}"),
                    "congratulate",
                    responsible,
                    due,
                    None,
                )?;
            }
            Ok(1)
        })?;
    }
    Ok(reminded)
}
