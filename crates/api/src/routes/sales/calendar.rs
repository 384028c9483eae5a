//! The personal calendar feed: its URL (made, replaced, revoked by its
//! owner) and the iCalendar (RFC 5545) document it serves.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, Tz};
use crm_app::sales::calendar::{CalendarFeed, CalendarItem};
use icalendar::{Calendar, CalendarDateTime, Component, Event, EventLike, EventStatus};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::extract::{run, AppState, Auth};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/me/calendar-feed").post(issue_calendar_feed).delete(revoke_calendar_feed))
        .service(web::resource("/calendar/{token}.ics").get(calendar_feed));
}

/// The media type of the feed.
pub const ICS: &str = "text/calendar; charset=utf-8";

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"url": "https://crm.example.ru/api/v1/calendar/cal_Qm9vbXN0aWNrLXRva2VuLW9mLXRoaXJ0eS10d28.ics"}))]
pub struct CalendarFeedDto {
    /// The address to subscribe to in Google, Yandex or Outlook. It is
    /// shown this once (only a digest of its token is kept) and works
    /// without signing in: keep it to yourself.
    pub url: String,
}

/// Make your calendar feed.
///
/// A personal iCalendar address with an unguessable token. Asking again
/// makes a new address and the old one stops working at once.
#[utoipa::path(post, path = "/api/v1/me/calendar-feed", operation_id = "issueCalendarFeed", tag = "calendar",
    responses((status = 201, description = "The feed's address, shown this once", body = CalendarFeedDto,
        headers(("Location" = String)))))]
pub async fn issue_calendar_feed(
    state: web::Data<AppState>,
    req: HttpRequest,
    auth: Auth,
) -> Result<HttpResponse, ApiError> {
    let token = auth.run(&state, crm_app::sales::calendar::issue_feed).await?;
    let path = format!("/api/v1/calendar/{token}.ics");
    let info = req.connection_info();
    let url = format!("{}://{}{path}", info.scheme(), info.host());
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, path))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(CalendarFeedDto { url }))
}

/// Revoke your calendar feed.
///
/// Its address answers 404 from now on. Revoking when there is none changes nothing.
#[utoipa::path(delete, path = "/api/v1/me/calendar-feed", operation_id = "revokeCalendarFeed", tag = "calendar",
    responses((status = 204, description = "Revoked")))]
pub async fn revoke_calendar_feed(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    auth.run(&state, crm_app::sales::calendar::revoke_feed).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A calendar feed (iCalendar).
///
/// No other credentials: the token is the key. Holds its owner's planned
/// interactions on the interests they are responsible for (calls and
/// messages half an hour long, meetings an hour) and their open tasks (a
/// quarter of an hour at the due time), from 30 days back to 180 ahead, in
/// the owner's time zone with its VTIMEZONE; cancelled ones are marked
/// `STATUS:CANCELLED` so calendars drop them. Each entry keeps its `UID`;
/// `SEQUENCE` counts its versions and `LAST-MODIFIED` is its last change.
#[utoipa::path(get, path = "/api/v1/calendar/{token}.ics", operation_id = "getCalendarFeed", tag = "calendar",
    params(("token" = String, Path, description = "The feed's token, as its address holds it")),
    responses((status = 200, description = "The calendar", content_type = "text/calendar",
        body = String, example = json!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Sales CRM//Calendar feed//EN\r\nCALSCALE:GREGORIAN\r\nX-WR-CALNAME:Иван Петров — CRM\r\nX-WR-TIMEZONE:Europe/Moscow\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Moscow\r\nBEGIN:STANDARD\r\nDTSTART:20261107T000000\r\nTZOFFSETFROM:+0300\r\nTZOFFSETTO:+0300\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:interaction-0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e80\r\nDTSTAMP:20261207T090000Z\r\nSUMMARY:Call: Clarify the need\r\nDESCRIPTION:Client: ООО «Ромашка»\\nInterest: Office chairs\r\nDTSTART;TZID=Europe/Moscow:20261208T110000\r\nDTEND;TZID=Europe/Moscow:20261208T113000\r\nSEQUENCE:0\r\nLAST-MODIFIED:20261207T085500Z\r\nSTATUS:CONFIRMED\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))),
    security(()))]
pub async fn calendar_feed(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    let feed = run(&state, move |app| crm_app::sales::calendar::feed(app, &token)).await?;
    Ok(HttpResponse::Ok()
        .content_type(ICS)
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .body(document(&feed)?))
}

/// The feed as RFC 5545 text.
fn document(feed: &CalendarFeed) -> Result<String, ApiError> {
    let tz = feed.time_zone;
    let mut cal = Calendar::new();
    cal.properties.retain(|p| p.key() != "PRODID");
    cal.append_property(("PRODID", "-//Sales CRM//Calendar feed//EN"));
    cal.name(&format!("{} — CRM", feed.user_name)).timezone(tz.name());
    for item in &feed.items {
        cal.push(event(item, feed, tz));
    }
    let text = cal.done().to_string();
    // icalendar has no VTIMEZONE (its own TODO says so), and a component
    // given to it as parsed text comes out with a DTSTAMP and a UID that a
    // VTIMEZONE may not have: ours goes in as text, before the events.
    let at = text
        .find("BEGIN:VEVENT\r\n")
        .or_else(|| text.rfind("END:VCALENDAR"))
        .ok_or_else(|| ApiError::App(crm_app::AppError::internal("icalendar wrote no END:VCALENDAR")))?;
    let mut out = String::with_capacity(text.len() + 1024);
    out.push_str(&text[..at]);
    out.push_str(&vtimezone(tz, feed.from, feed.to));
    out.push_str(&text[at..]);
    Ok(out)
}

fn event(item: &CalendarItem, feed: &CalendarFeed, tz: Tz) -> Event {
    let local = |t: DateTime<Utc>| CalendarDateTime::WithTimezone {
        date_time: t.with_timezone(&tz).naive_local(),
        tzid: tz.name().to_owned(),
    };
    let mut e = Event::new();
    e.uid(&item.uid)
        .timestamp(feed.generated_at)
        .summary(&item.summary)
        .starts(local(item.starts_at))
        .ends(local(item.ends_at))
        .sequence(item.sequence)
        .last_modified(item.last_modified)
        .status(if item.cancelled { EventStatus::Cancelled } else { EventStatus::Confirmed });
    if !item.description.is_empty() {
        e.description(&item.description);
    }
    e.done()
}

/// `+0300`, `-0430`, `+053730` (seconds only when there are some).
fn offset_text(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if sec == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{sec:02}")
    }
}

/// (offset from UTC in seconds, whether it is daylight saving time) at `t`.
fn offset_at(tz: Tz, t: DateTime<Utc>) -> (i32, bool) {
    let o = tz.offset_from_utc_datetime(&t.naive_utc());
    (o.fix().local_minus_utc(), !o.dst_offset().is_zero())
}

/// The zone's VTIMEZONE over the feed's window: the observance in force at
/// its start, then one per change of offset inside it, each found to the
/// minute (chrono-tz knows the rules; it does not list their changes).
pub fn vtimezone(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let start = from - Duration::days(1);
    let end = to + Duration::days(1);
    let wall = |t: DateTime<Utc>, offset: i32| (t + Duration::seconds(i64::from(offset))).naive_utc();
    let observance = |t: DateTime<Utc>, from: i32, to: (i32, bool)| {
        let kind = if to.1 { "DAYLIGHT" } else { "STANDARD" };
        format!(
            "BEGIN:{kind}\r\nDTSTART:{}\r\nTZOFFSETFROM:{}\r\nTZOFFSETTO:{}\r\nEND:{kind}\r\n",
            wall(t, from).format("%Y%m%dT%H%M%S"),
            offset_text(from),
            offset_text(to.0)
        )
    };
    let mut now = offset_at(tz, start);
    let first = start - Duration::seconds(start.timestamp().rem_euclid(3600));
    let mut out = format!("BEGIN:VTIMEZONE\r\nTZID:{}\r\n", tz.name());
    out.push_str(&observance(first, now.0, now));
    let mut t = first;
    while t < end {
        let next = t + Duration::hours(1);
        let then = offset_at(tz, next);
        if then != now {
            // The first minute of the hour with the new offset.
            let (mut lo, mut hi) = (0i64, 60i64);
            while lo < hi {
                let mid = (lo + hi) / 2;
                if offset_at(tz, t + Duration::minutes(mid)) == now {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            let at = t + Duration::minutes(lo);
            out.push_str(&observance(at, now.0, then));
            now = then;
        }
        t = next;
    }
    out.push_str("END:VTIMEZONE\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_with_daylight_saving_lists_each_change_in_the_window() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let from = Utc.with_ymd_and_hms(2026, 11, 7, 9, 0, 0).unwrap();
        let text = vtimezone(berlin, from, from + Duration::days(210));
        // Winter time at the start; summer time from 29 March 2027 02:00.
        assert!(
            text.contains(
                "BEGIN:STANDARD\r\nDTSTART:20261106T100000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "BEGIN:DAYLIGHT\r\nDTSTART:20270328T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
            ),
            "{text}"
        );
        assert_eq!(text.matches("BEGIN:DAYLIGHT").count(), 1);
        let moscow: Tz = "Europe/Moscow".parse().unwrap();
        let text = vtimezone(moscow, from, from + Duration::days(210));
        assert_eq!(text.matches("BEGIN:STANDARD").count(), 1);
        assert!(!text.contains("DAYLIGHT"));
        assert_eq!(offset_text(-(4 * 3600 + 30 * 60)), "-0430");
        assert_eq!(offset_text(5 * 3600 + 37 * 60 + 30), "+053730");
    }
}
