//! Clients' dates that come round every year: birthdays, foundings and
//! important dates, the list of those coming up, and the yearly reminder.

use serde_json::{json, Value};

use crate::documents::{id, ok};
use crate::helpers::*;

struct World {
    admin: String,
    head: String,
    ivan: String,
    maria: String,
    ivan_id: String,
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin_token().await;
    let dept = ok(app.post("/api/v1/departments", Some(&admin), &json!({"name": "Sales"})).await, 201).await;
    let d = id(&dept);
    let head = app.create_user(&admin, "head@test.crm", "head", Some(&d)).await;
    ok(app.patch(&format!("/api/v1/departments/{d}"), &admin, &json!({"head_id": head["id"]})).await, 200)
        .await;
    let ivan = app.create_user(&admin, "ivan@test.crm", "manager", Some(&d)).await;
    app.create_user(&admin, "maria@test.crm", "manager", Some(&d)).await;
    World {
        head: app.token("head@test.crm", PASSWORD).await,
        ivan: app.token("ivan@test.crm", PASSWORD).await,
        maria: app.token("maria@test.crm", PASSWORD).await,
        ivan_id: id(&ivan),
        admin,
    }
}

async fn client(app: &TestApp, token: &str, name: &str, extra: Value) -> Value {
    let mut body = json!({"name": name, "kind": "company", "confirm_new": true});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    ok(app.post("/api/v1/clients", Some(token), &body).await, 201).await
}

async fn contact(app: &TestApp, token: &str, client: &Value, name: &str, birthday: &str) -> Value {
    ok(
        app.post(
            &format!("/api/v1/clients/{}/contacts", id(client)),
            Some(token),
            &json!({"name": name, "birthday": birthday, "confirm_new": true}),
        )
        .await,
        201,
    )
    .await
}

/// `--MM-DD` of the day `n` days from the server's today.
fn md(app: &TestApp, n: i64) -> String {
    format!("--{}", &app.day(n)[5..])
}

/// The day `n` days from today, in year `year`.
fn born(app: &TestApp, year: i32, n: i64) -> String {
    format!("{year}{}", &app.day(n)[4..])
}

/// `DD.MM.YYYY` of the day `n` days from today.
fn dotted(app: &TestApp, n: i64) -> String {
    let d = app.day(n);
    format!("{}.{}.{}", &d[8..10], &d[5..7], &d[0..4])
}

fn year_of(app: &TestApp, n: i64) -> i64 {
    app.day(n)[0..4].parse().unwrap()
}

fn titles(page: &Value) -> Vec<(String, String)> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["on"].as_str().unwrap().to_owned(), d["title"].as_str().unwrap().to_owned()))
        .collect()
}

// Every date is taken from the test clock's "today" (in Moscow), so the
// suite's runs at other starting instants hold too.
#[tokio::test]
async fn upcoming_dates_list_what_the_caller_sees_day_by_day() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let founded = born(&app, 2010, 4);
    let romashka = client(&app, &w.ivan, "ООО «Ромашка»", json!({"founded_on": founded})).await;
    assert_eq!(romashka["founded_on"], founded.as_str());
    let anna = contact(&app, &w.ivan, &romashka, "Anna Smirnova", &born(&app, 1985, 2)).await;
    assert_eq!(anna["birthday"], born(&app, 1985, 2).as_str());
    let holiday = ok(
        app.post(
            &format!("/api/v1/clients/{}/dates", id(&romashka)),
            Some(&w.ivan),
            &json!({"title": "Day of the furniture maker", "date": md(&app, 9)}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(holiday["date"], md(&app, 9).as_str());
    // Beyond the window, and another manager's.
    contact(&app, &w.ivan, &romashka, "Boris", &md(&app, 19)).await;
    let vasilek = client(&app, &w.maria, "ООО «Василёк»", json!({})).await;
    contact(&app, &w.maria, &vasilek, "Olga", &md(&app, 1)).await;

    let mine = ok(app.get("/api/v1/upcoming-dates?days=14", &w.ivan).await, 200).await;
    assert_eq!(
        titles(&mine),
        [
            (app.day(2), "Birthday of Anna Smirnova".into()),
            (app.day(4), "ООО «Ромашка» founded".into()),
            (app.day(9), "Day of the furniture maker".into()),
        ]
    );
    let first = &mine["items"][0];
    assert_eq!(
        (first["kind"].as_str(), first["years"].as_i64()),
        (Some("birthday"), Some(year_of(&app, 2) - 1985))
    );
    assert_eq!(
        (first["contact_id"].clone(), first["client_name"].as_str()),
        (anna["id"].clone(), Some("ООО «Ромашка»"))
    );
    assert_eq!(first["responsible_id"], w.ivan_id.as_str());
    assert_eq!(mine["items"][1]["years"], year_of(&app, 4) - 2010);
    assert!(mine["items"][2]["years"].is_null(), "no year, no anniversary");
    assert_eq!(mine["items"][2]["date_id"], holiday["id"]);

    // The head sees the department's, a page at a time.
    let page = ok(app.get("/api/v1/upcoming-dates?days=14&limit=2", &w.head).await, 200).await;
    assert_eq!(
        titles(&page),
        [(app.day(1), "Birthday of Olga".into()), (app.day(2), "Birthday of Anna Smirnova".into())]
    );
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest =
        ok(app.get(&format!("/api/v1/upcoming-dates?days=14&limit=2&cursor={cursor}"), &w.head).await, 200)
            .await;
    assert_eq!(titles(&rest).len(), 2);
    assert!(rest["next_cursor"].is_null());
    assert_eq!(
        titles(&ok(app.get("/api/v1/upcoming-dates?days=1", &w.maria).await, 200).await),
        Vec::<(String, String)>::new()
    );
    assert_eq!(titles(&ok(app.get("/api/v1/upcoming-dates?days=2", &w.maria).await, 200).await).len(), 1);

    // Bad input.
    for q in ["days=0", "days=61", "limit=0", "cursor=nonsense", "days=x"] {
        app.get(&format!("/api/v1/upcoming-dates?{q}"), &w.ivan).await.problem(400);
    }
    // Another list's cursor (an id, as the client list pages) is well formed but not this list's.
    let foreign = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1:{}", id(&romashka)))
    };
    let r = app.get(&format!("/api/v1/upcoming-dates?cursor={foreign}"), &w.ivan).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "cursor", "{}", r.text);
    let contacts = format!("/api/v1/clients/{}/contacts", id(&romashka));
    for bad in ["1985-02-29", "--13-01", "14.05.1985"] {
        let r = app
            .post(&contacts, Some(&w.ivan), &json!({"name": "X", "birthday": bad, "confirm_new": true}))
            .await;
        assert_eq!(r.error_fields(), ["birthday"], "{bad}: {}", r.text);
    }
    let r = app
        .post(
            "/api/v1/clients",
            Some(&w.ivan),
            &json!({"name": "Z", "kind": "company", "founded_on": app.day(2)}),
        )
        .await;
    assert_eq!(r.error_fields(), ["founded_on"], "{}", r.text);
    let r = app
        .post(
            &format!("/api/v1/clients/{}/dates", id(&romashka)),
            Some(&w.ivan),
            &json!({"title": " ", "date": "--02-30"}),
        )
        .await;
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(fields, ["date", "title"], "{}", r.text);

    // A birthday is changed and cleared; its history keeps both.
    let path = format!("/api/v1/contacts/{}", id(&anna));
    let changed = ok(app.patch(&path, &w.ivan, &json!({"birthday": "--12-04"})).await, 200).await;
    assert_eq!(changed["birthday"], "--12-04");
    let cleared = ok(app.patch(&path, &w.ivan, &json!({"birthday": null})).await, 200).await;
    assert!(cleared["birthday"].is_null());
    let history = ok(app.get(&format!("{path}/history"), &w.ivan).await, 200).await;
    assert!(
        history.to_string().contains(&born(&app, 1985, 2)) && history.to_string().contains("--12-04"),
        "{history}"
    );

    // Another manager can neither read nor remove the client's dates.
    let one = format!("/api/v1/client-dates/{}", id(&holiday));
    app.get(&one, &w.maria).await.problem(404);
    app.delete(&one, &w.maria).await.problem(404);
    app.get(&format!("/api/v1/clients/{}/dates", id(&romashka)), &w.maria).await.problem(404);
    assert_eq!(ok(app.get(&one, &w.ivan).await, 200).await["title"], "Day of the furniture maker");
    assert_eq!(app.delete(&one, &w.ivan).await.status, 204);
    app.get(&one, &w.ivan).await.problem(404);
    app.delete(&one, &w.ivan).await.problem(404);
    // The feed carries the date's life to Ivan (and his head), not to Maria.
    let life = ["client_date.added", "client_date.deleted"];
    assert_eq!(crate::absences::feed_types(&app, &w.ivan, "client_date").await, life);
    assert_eq!(crate::absences::feed_types(&app, &w.head, "client_date").await, life);
    assert!(crate::absences::feed_types(&app, &w.maria, "client_date").await.is_empty());
    let _ = w.admin;
}

async fn notes(app: &TestApp, token: &str) -> Vec<String> {
    ok(app.get("/api/v1/notifications?limit=200", token).await, 200).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap().to_owned())
        .collect()
}

async fn tasks(app: &TestApp, token: &str) -> Vec<Value> {
    ok(app.get("/api/v1/tasks?limit=200", token).await, 200).await["items"].as_array().unwrap().clone()
}

fn remind(app: &TestApp) -> usize {
    crm_app::sales::reminders::remind_client_dates(&app.app).unwrap()
}

#[tokio::test]
async fn a_birthday_reminder_fires_once_a_year() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let romashka = client(&app, &w.ivan, "ООО «Ромашка»", json!({})).await;
    contact(&app, &w.ivan, &romashka, "Anna Smirnova", &born(&app, 1985, 3)).await;
    // Four days off: outside the three days' notice until tomorrow.
    contact(&app, &w.ivan, &romashka, "Boris", &md(&app, 4)).await;
    // An inactive client's contact: reminded, but no task.
    let gone = client(&app, &w.ivan, "ООО «Лютик»", json!({"status": "inactive"})).await;
    contact(&app, &w.ivan, &gone, "Vera", &md(&app, 1)).await;

    assert_eq!(remind(&app), 2);
    let said = notes(&app, &w.ivan).await;
    let anna = format!(
        "Birthday of Anna Smirnova (ООО «Ромашка») on {}: {} years",
        dotted(&app, 3),
        year_of(&app, 3) - 1985
    );
    assert!(said.contains(&anna), "{said:?}");
    assert!(said.contains(&format!("Birthday of Vera (ООО «Лютик») on {}", dotted(&app, 1))), "{said:?}");
    let t = tasks(&app, &w.ivan).await;
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(t[0]["title"], format!("Congratulate: {anna}"));
    assert_eq!(t[0]["task_kind"], "congratulate");
    assert_eq!(t[0]["due_at"], format!("{}T06:00:00Z", app.day(3)), "09:00 in the manager's zone (Moscow)");

    // Once: the job runs again, and again the next day, for the same year.
    assert_eq!(remind(&app), 0);
    app.advance(chrono::Duration::days(1));
    assert_eq!(remind(&app), 1, "Boris's birthday comes within notice");
    app.advance(chrono::Duration::days(2));
    assert_eq!(remind(&app), 0);
    let ivan = app.token("ivan@test.crm", PASSWORD).await;
    assert_eq!(notes(&app, &ivan).await.len(), 3);

    // 365 days after the start, it comes round again.
    app.advance(chrono::Duration::days(362));
    assert_eq!(remind(&app), 2, "Anna and Vera; Boris is four days off again");
    let ivan = app.token("ivan@test.crm", PASSWORD).await;
    let next = format!(
        "Birthday of Anna Smirnova (ООО «Ромашка») on {}: {} years",
        dotted(&app, 3),
        year_of(&app, 3) - 1985
    );
    assert_ne!(next, anna);
    assert!(notes(&app, &ivan).await.contains(&next));
    assert_eq!(remind(&app), 0);
}
