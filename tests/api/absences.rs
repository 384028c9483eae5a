//! Absences with a deputy: while one runs (started and ended by the timed
//! job on the injected clock) the deputy sees and works the absent user's
//! interests and clients, and new leads and rule tasks meant for the absent
//! user go to the deputy; before and after, nothing of it.

use chrono::Duration;
use serde_json::{json, Value};

use crate::documents::{id, ok};
use crate::helpers::*;
use crate::intake::post_raw;

struct World {
    admin: String,
    head: String,
    ivan: String,
    maria: String,
    ivan_id: String,
    maria_id: String,
    olga_id: String,
    key: String,
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin_token().await;
    let dept = ok(app.post("/api/v1/departments", Some(&admin), &json!({"name": "Sales"})).await, 201).await;
    let d = id(&dept);
    let head = app.create_user(&admin, "head@test.crm", "head", Some(&d)).await;
    ok(app.patch(&format!("/api/v1/departments/{d}"), &admin, &json!({"head_id": head["id"]})).await, 200)
        .await;
    let ivan = app.create_user(&admin, "ivan@test.crm", "manager", Some(&d)).await;
    let maria = app.create_user(&admin, "maria@test.crm", "manager", Some(&d)).await;
    let olga = app.create_user(&admin, "olga@test.crm", "accountant", Some(&d)).await;
    ok(
        app.post(
            "/api/v1/channels",
            Some(&admin),
            &json!({"kind": "email", "name": "Ivan's mailbox", "address": "ivan@mebel.test", "assignee_id": ivan["id"]}),
        )
        .await,
        201,
    )
    .await;
    let key = app
        .post("/api/v1/api-keys", Some(&admin), &json!({"name": "Mail fetcher", "scopes": ["leads:write"]}))
        .await;
    World {
        head: app.token("head@test.crm", PASSWORD).await,
        ivan: app.token("ivan@test.crm", PASSWORD).await,
        maria: app.token("maria@test.crm", PASSWORD).await,
        ivan_id: id(&ivan),
        maria_id: id(&maria),
        olga_id: id(&olga),
        key: key.body["secret"].as_str().unwrap().to_owned(),
        admin,
    }
}

/// A letter to Ivan's mailbox; returns the lead it made.
async fn mail_to_ivan(app: &TestApp, w: &World, n: u32) -> Value {
    let raw = format!(
        "From: buyer{n}@romashka.ru\r\nTo: ivan@mebel.test\r\nSubject: Chairs {n}\r\nMessage-ID: <m{n}@romashka.ru>\r\n\r\nPlease call.\r\n"
    );
    let r = post_raw(
        app,
        "/api/v1/intake/email",
        &[("content-type", "message/rfc822"), ("x-api-key", &w.key)],
        raw.into_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let lead = r.body["lead_id"].as_str().unwrap();
    // A fresh token: the clock may have moved past the first one's life.
    ok(app.get(&format!("/api/v1/leads/{lead}"), &app.admin_token().await).await, 200).await
}

/// The types of the feed's events of `kind` (`absence`, `client_date`) a reader gets.
pub(crate) async fn feed_types(app: &TestApp, token: &str, kind: &str) -> Vec<String> {
    crate::feed::settle(app).await;
    let r = ok(app.get(&format!("/api/v1/events?types={kind}.*&limit=500"), token).await, 200).await;
    r["items"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

fn run_job(app: &TestApp) -> usize {
    crm_app::sales::absences::run_absences(&app.app).unwrap()
}

async fn notes(app: &TestApp, token: &str) -> Vec<String> {
    ok(app.get("/api/v1/notifications?limit=200", token).await, 200).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_absence_routes_leads_and_rule_tasks_to_the_deputy_and_opens_the_work_only_for_its_period() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let scenario = ok(
        app.post(
            "/api/v1/scenarios",
            Some(&w.head),
            &json!({"name": "Service", "definition": {"stages": [
                {"code": "lead", "name": "Lead", "kind": "open"},
                {"code": "demo", "name": "Demo", "kind": "open",
                 "on_entry": [{"action": "create_task", "title": "Prepare the demo", "task_kind": "demo",
                               "assignee": {"kind": "responsible"}, "due": {"days": 1}}]},
                {"code": "signed", "name": "Signed", "kind": "won"},
                {"code": "dropped", "name": "Dropped", "kind": "lost", "guards": ["loss_reason_set"]}]}}),
        )
        .await,
        201,
    )
    .await;
    let client = ok(
        app.post("/api/v1/clients", Some(&w.ivan), &json!({"name": "ООО «Ромашка»", "kind": "company"}))
            .await,
        201,
    )
    .await;
    let interest = ok(
        app.post(
            "/api/v1/interests",
            Some(&w.ivan),
            &json!({"title": "Chairs", "client_id": client["id"], "scenario_id": scenario["id"]}),
        )
        .await,
        201,
    )
    .await;
    let iid = id(&interest);
    let cid = id(&client);
    assert_eq!(mail_to_ivan(&app, &w, 1).await["assignee_id"], w.ivan_id.as_str());
    let due = app.clock_now() + Duration::days(3);
    let own_task = ok(
        app.post("/api/v1/tasks", Some(&w.ivan), &json!({"title": "Call the bank", "due_at": due})).await,
        201,
    )
    .await;
    let complete = format!("/api/v1/tasks/{}/complete", id(&own_task));

    // Ivan plans a week away from tomorrow, with Maria standing in.
    let from = app.clock_now() + Duration::days(1);
    let to = from + Duration::days(7);
    let absence = ok(
        app.post(
            "/api/v1/absences",
            Some(&w.ivan),
            &json!({"user_id": w.ivan_id, "deputy_id": w.maria_id, "from": from, "to": to, "reason": "Annual leave"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(absence["state"], "planned");
    let path = format!("/api/v1/absences/{}", id(&absence));
    assert!(notes(&app, &w.maria).await.iter().any(|n| n.starts_with("You will stand in for")));

    // Before it starts: nothing of Ivan's for Maria, and the job starts nothing.
    assert_eq!(run_job(&app), 0);
    app.post(&complete, Some(&w.maria), &json!({})).await.problem(404);
    app.get(&format!("/api/v1/interests/{iid}"), &w.maria).await.problem(404);
    app.get(&format!("/api/v1/clients/{cid}"), &w.maria).await.problem(404);

    // It starts: Maria sees and works Ivan's interest and client, marked on her board.
    app.advance(Duration::days(1));
    assert_eq!(run_job(&app), 1);
    let maria = app.token("maria@test.crm", PASSWORD).await;
    let ivan = app.token("ivan@test.crm", PASSWORD).await;
    assert_eq!(ok(app.get(&path, &maria).await, 200).await["state"], "running");
    assert!(notes(&app, &maria).await.iter().any(|n| n.starts_with("You stand in for")), "both are told");
    assert!(notes(&app, &ivan).await.iter().any(|n| n.contains("stands in for you until")));
    ok(app.get(&format!("/api/v1/interests/{iid}"), &maria).await, 200).await;
    ok(app.get(&format!("/api/v1/clients/{cid}"), &maria).await, 200).await;
    ok(app.post(&complete, Some(&maria), &json!({})).await, 200).await;
    let board = ok(app.get(&format!("/api/v1/board?scenario_id={}", id(&scenario)), &maria).await, 200).await;
    let card = &board["columns"][0]["cards"][0];
    assert_eq!(
        (card["interest_id"].as_str(), card["standing_in"].as_bool()),
        (Some(iid.as_str()), Some(true))
    );
    let own = ok(app.get(&format!("/api/v1/board?scenario_id={}", id(&scenario)), &ivan).await, 200).await;
    assert_eq!(own["columns"][0]["cards"][0]["standing_in"], false);

    // The rule's task for the responsible (Ivan) goes to Maria.
    let moved = app
        .post(&format!("/api/v1/interests/{iid}/transitions"), Some(&maria), &json!({"to_stage": "demo"}))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let tasks = ok(app.get(&format!("/api/v1/tasks?interest_id={iid}"), &maria).await, 200).await;
    let demo =
        tasks["items"].as_array().unwrap().iter().find(|t| t["title"] == "Prepare the demo").unwrap().clone();
    assert_eq!(demo["assignee_id"], w.maria_id.as_str());

    // A new lead for Ivan goes to Maria, with a note saying why.
    let lead = mail_to_ivan(&app, &w, 2).await;
    assert_eq!(lead["assignee_id"], w.maria_id.as_str());
    assert!(lead["parse_note"].as_str().unwrap().contains("away"), "{lead}");

    // It ends: Maria's access ends with it; leads go to Ivan again.
    app.advance(Duration::days(7));
    assert_eq!(run_job(&app), 1);
    let maria = app.token("maria@test.crm", PASSWORD).await;
    assert_eq!(ok(app.get(&path, &maria).await, 200).await["state"], "ended");
    app.get(&format!("/api/v1/interests/{iid}"), &maria).await.problem(404);
    app.get(&format!("/api/v1/clients/{cid}"), &maria).await.problem(404);
    assert!(notes(&app, &maria).await.iter().any(|n| n.contains("is back")));
    assert_eq!(mail_to_ivan(&app, &w, 3).await["assignee_id"], w.ivan_id.as_str());
    assert_eq!(run_job(&app), 0);

    // The feed tells the absent user, the deputy and the head; not a colleague.
    let life = ["absence.planned", "absence.started", "absence.ended"];
    let ivan = app.token("ivan@test.crm", PASSWORD).await;
    let head = app.token("head@test.crm", PASSWORD).await;
    for token in [&ivan, &maria, &head] {
        assert_eq!(feed_types(&app, token, "absence").await, life);
    }
    let olga = app.token("olga@test.crm", PASSWORD).await;
    assert!(feed_types(&app, &olga, "absence").await.is_empty());
}

#[tokio::test]
async fn an_absence_is_refused_with_every_reason_and_can_be_withdrawn() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let from = app.clock_now() + Duration::days(1);
    let to = from + Duration::days(3);
    let plan =
        |user: &str, deputy: &str| json!({"user_id": user, "deputy_id": deputy, "from": from, "to": to});

    let r = app.post("/api/v1/absences", Some(&w.ivan), &plan(&w.ivan_id, &w.ivan_id)).await;
    assert_eq!(r.unmet_checks(), vec!["not_self"], "{}", r.text);
    let r = app.post("/api/v1/absences", Some(&w.ivan), &plan(&w.ivan_id, &w.olga_id)).await;
    assert_eq!(r.unmet_checks(), vec!["deputy_id_role"], "{}", r.text);
    // A manager plans only their own; a head their people's.
    app.post("/api/v1/absences", Some(&w.maria), &plan(&w.ivan_id, &w.maria_id)).await.problem(403);
    let backwards = json!({"user_id": w.ivan_id, "deputy_id": w.maria_id, "from": to, "to": from});
    assert_eq!(app.post("/api/v1/absences", Some(&w.ivan), &backwards).await.error_fields(), ["ends_at"]);

    let first =
        ok(app.post("/api/v1/absences", Some(&w.head), &plan(&w.ivan_id, &w.maria_id)).await, 201).await;
    let r = app.post("/api/v1/absences", Some(&w.ivan), &plan(&w.ivan_id, &w.maria_id)).await;
    assert_eq!(r.unmet_checks(), vec!["no_overlap"], "{}", r.text);
    let r = app.post("/api/v1/absences", Some(&w.maria), &plan(&w.maria_id, &w.ivan_id)).await;
    assert_eq!(r.unmet_checks(), vec!["deputy_present"], "{}", r.text);

    // Who sees it: Ivan, Maria (the deputy), the head; an admin all.
    for token in [&w.ivan, &w.maria, &w.head, &w.admin] {
        let list = ok(app.get("/api/v1/absences", token).await, 200).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
    }

    // Withdrawn before it starts: it never runs.
    let path = format!("/api/v1/absences/{}", id(&first));
    assert_eq!(app.delete(&path, &w.head).await.status, 204);
    assert_eq!(ok(app.get(&path, &w.ivan).await, 200).await["state"], "cancelled");
    app.delete(&path, &w.head).await.problem(409);
    app.advance(Duration::days(2));
    assert_eq!(run_job(&app), 0);

    // A period that passes whole while the job does not run ends at once.
    let head = app.token("head@test.crm", PASSWORD).await;
    let start = app.clock_now() + Duration::hours(1);
    let brief = json!({"user_id": w.ivan_id, "deputy_id": w.maria_id, "from": start, "to": start + Duration::hours(1)});
    let brief = ok(app.post("/api/v1/absences", Some(&head), &brief).await, 201).await;
    app.advance(Duration::hours(3));
    assert_eq!(run_job(&app), 1);
    let ivan = app.token("ivan@test.crm", PASSWORD).await;
    assert_eq!(
        ok(app.get(&format!("/api/v1/absences/{}", id(&brief)), &ivan).await, 200).await["state"],
        "ended"
    );
    assert!(notes(&app, &ivan).await.iter().any(|n| n.starts_with("Your absence is over")));
}
