//! The personal calendar feed, read by an independent iCalendar parser
//! (`ical`) as a calendar application would read it.

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

async fn ok(r: Reply, status: u16) -> Value {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    r.body
}

/// An entry of a parsed feed: its properties by name, each with its
/// parameters and value.
type Entry = Vec<(String, Vec<(String, Vec<String>)>, String)>;

fn prop<'a>(e: &'a Entry, name: &str) -> Option<&'a str> {
    e.iter().find(|(n, _, _)| n == name).map(|(_, _, v)| v.as_str())
}

fn param(e: &Entry, name: &str, key: &str) -> Option<String> {
    e.iter()
        .find(|(n, _, _)| n == name)
        .and_then(|(_, ps, _)| ps.iter().find(|(k, _)| k == key).map(|(_, v)| v.join(",")))
}

/// (time zone ids, events) of an iCalendar document.
fn parse(text: &str) -> (Vec<String>, Vec<Entry>) {
    let mut parser = ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()));
    let cal = parser.next().expect("one calendar").expect("it parses");
    assert!(parser.next().is_none());
    let zones = cal
        .timezones
        .iter()
        .flat_map(|z| z.properties.iter().filter(|p| p.name == "TZID").filter_map(|p| p.value.clone()))
        .collect();
    let events = cal
        .events
        .into_iter()
        .map(|e| {
            e.properties
                .into_iter()
                .map(|p| (p.name, p.params.unwrap_or_default(), p.value.unwrap_or_default()))
                .collect()
        })
        .collect();
    (zones, events)
}

async fn fetch(app: &TestApp, path: &str) -> (u16, String, String) {
    let res = app.client.get(app.url(path)).send().await.unwrap();
    let status = res.status().as_u16();
    let kind = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, kind, res.text().await.unwrap())
}

/// Berlin wall time of an instant, as iCalendar writes a local time.
fn berlin(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono_tz::Europe::Berlin).format("%Y%m%dT%H%M%S").to_string()
}

#[tokio::test]
async fn the_feed_holds_the_users_plans_in_their_zone_and_stops_when_revoked() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let dept = ok(app.post("/api/v1/departments", Some(&admin), &json!({"name": "Sales"})).await, 201).await;
    let d = dept["id"].as_str().unwrap();
    let ivan_user = app.create_user(&admin, "ivan@test.crm", "manager", Some(d)).await;
    app.create_user(&admin, "maria@test.crm", "manager", Some(d)).await;
    let ivan = app.token("ivan@test.crm", PASSWORD).await;
    let maria = app.token("maria@test.crm", PASSWORD).await;
    let ivan_id = ivan_user["id"].as_str().unwrap();
    ok(
        app.patch(&format!("/api/v1/users/{ivan_id}"), &ivan, &json!({"time_zone": "Europe/Berlin"})).await,
        200,
    )
    .await;
    let client = ok(
        app.post("/api/v1/clients", Some(&ivan), &json!({"name": "ООО «Ромашка»", "kind": "company"})).await,
        201,
    )
    .await;
    let interest = ok(
        app.post("/api/v1/interests", Some(&ivan), &json!({"title": "Chairs", "client_id": client["id"]}))
            .await,
        201,
    )
    .await;
    let iid = interest["id"].as_str().unwrap();
    let now = app.clock_now();
    let plan = |kind: &'static str, subject: &'static str, at: DateTime<Utc>, token: String, on: String| {
        let app = &app;
        async move {
            ok(
                app.post(
                    &format!("/api/v1/interests/{on}/interactions"),
                    Some(&token),
                    &json!({"type": kind, "subject": subject, "planned_at": at}),
                )
                .await,
                201,
            )
            .await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let call_at = now + Duration::days(1);
    let call = plan("call", "Clarify the need", call_at, ivan.clone(), iid.to_owned()).await;
    let meeting =
        plan("meeting", "Show the samples", now + Duration::days(2), ivan.clone(), iid.to_owned()).await;
    let far = plan("call", "Next season", now + Duration::days(200), ivan.clone(), iid.to_owned()).await;
    ok(app.post(&format!("/api/v1/interactions/{meeting}/cancel"), Some(&ivan), &json!({})).await, 200).await;
    let task_due = now + Duration::days(3);
    let task = ok(
        app.post("/api/v1/tasks", Some(&ivan), &json!({"title": "Prepare the contract", "due_at": task_due}))
            .await,
        201,
    )
    .await;
    // Maria's plans are not Ivan's.
    let hers = ok(app.post("/api/v1/interests", Some(&maria), &json!({"title": "Desks"})).await, 201).await;
    let her_call =
        plan("call", "Hers", call_at, maria.clone(), hers["id"].as_str().unwrap().to_owned()).await;

    let made = app.request(Method::POST, "/api/v1/me/calendar-feed", Some(&ivan)).send().await.unwrap();
    let made = Reply::read(made).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let url = made.body["url"].as_str().unwrap().to_owned();
    let path = made.header("location").unwrap().to_owned();
    assert!(
        url.ends_with(&path) && path.starts_with("/api/v1/calendar/cal_") && path.ends_with(".ics"),
        "{url} {path}"
    );

    let (status, kind, text) = fetch(&app, &path).await;
    assert_eq!((status, kind.as_str()), (200, "text/calendar; charset=utf-8"));
    let (zones, events) = parse(&text);
    assert_eq!(zones, ["Europe/Berlin"]);
    // The zone's definition carries only what RFC 5545 lets it carry.
    let zone = &text[text.find("BEGIN:VTIMEZONE").unwrap()..text.find("END:VTIMEZONE").unwrap()];
    assert!(!zone.contains("DTSTAMP") && !zone.contains("UID"), "{zone}");
    let uids: Vec<&str> = events.iter().filter_map(|e| prop(e, "UID")).collect();
    let expected = [
        format!("interaction-{call}"),
        format!("interaction-{meeting}"),
        format!("task-{}", task["id"].as_str().unwrap()),
    ];
    for uid in &expected {
        assert!(uids.contains(&uid.as_str()), "{uid} missing from {uids:?}");
    }
    // Beyond 180 days, and Maria's, are not in it.
    assert!(!uids.contains(&format!("interaction-{far}").as_str()));
    assert!(!uids.contains(&format!("interaction-{her_call}").as_str()));
    let by_uid = |uid: &str| events.iter().find(|e| prop(e, "UID") == Some(uid)).unwrap().clone();
    let c = by_uid(&expected[0]);
    assert_eq!(prop(&c, "SUMMARY"), Some("Call: Clarify the need"));
    assert_eq!(prop(&c, "DTSTART"), Some(berlin(call_at).as_str()));
    assert_eq!(param(&c, "DTSTART", "TZID").as_deref(), Some("Europe/Berlin"));
    assert_eq!(prop(&c, "DTEND"), Some(berlin(call_at + Duration::minutes(30)).as_str()));
    assert_eq!((prop(&c, "SEQUENCE"), prop(&c, "STATUS")), (Some("0"), Some("CONFIRMED")));
    let description = prop(&c, "DESCRIPTION").unwrap();
    assert!(
        description.contains("Client: ООО «Ромашка»") && description.contains("Interest: Chairs"),
        "{description}"
    );
    let m = by_uid(&expected[1]);
    assert_eq!(prop(&m, "STATUS"), Some("CANCELLED"));
    let t = by_uid(&expected[2]);
    assert_eq!(prop(&t, "SUMMARY"), Some("Task: Prepare the contract"));
    assert_eq!(prop(&t, "DTSTART"), Some(berlin(task_due).as_str()));

    // A changed call keeps its UID and counts a new sequence.
    app.advance(Duration::hours(1));
    let ivan = app.token("ivan@test.crm", PASSWORD).await;
    ok(
        app.patch(
            &format!("/api/v1/interactions/{call}"),
            &ivan,
            &json!({"subject": "Clarify the need and the budget"}),
        )
        .await,
        200,
    )
    .await;
    let (_, _, text) = fetch(&app, &path).await;
    let (_, events) = parse(&text);
    let c = events.iter().find(|e| prop(e, "UID") == Some(expected[0].as_str())).unwrap();
    assert_eq!(
        (prop(c, "SEQUENCE"), prop(c, "SUMMARY")),
        (Some("1"), Some("Call: Clarify the need and the budget"))
    );
    assert_eq!(prop(c, "LAST-MODIFIED"), Some(app.clock_now().format("%Y%m%dT%H%M%SZ").to_string().as_str()));

    // A new address replaces the old one; revoking ends the new one.
    let again =
        Reply::read(app.request(Method::POST, "/api/v1/me/calendar-feed", Some(&ivan)).send().await.unwrap())
            .await;
    let new_path = again.header("location").unwrap().to_owned();
    assert_ne!(new_path, path);
    assert_eq!(fetch(&app, &path).await.0, 404);
    assert_eq!(fetch(&app, &new_path).await.0, 200);
    let gone = app.request(Method::DELETE, "/api/v1/me/calendar-feed", Some(&ivan)).send().await.unwrap();
    assert_eq!(gone.status().as_u16(), 204);
    assert_eq!(fetch(&app, &new_path).await.0, 404);
    let (status, kind, _) = fetch(&app, "/api/v1/calendar/cal_nonsense.ics").await;
    assert_eq!((status, kind.as_str()), (404, "application/problem+json"));
}
