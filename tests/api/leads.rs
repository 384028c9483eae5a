//! Leads: a known client identified by any spelling of its phone, the
//! acceptance wizard, accepting into a new interest, linking, rejecting.

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

struct Team {
    admin: String,
    ivan: String,
    ivan_id: String,
    maria: String,
    maria_id: String,
    head: String,
}

async fn team(app: &TestApp) -> Team {
    let admin = app.admin_token().await;
    let dept = app.post("/api/v1/departments", Some(&admin), &json!({"name": "Sales"})).await.body;
    let d = dept["id"].as_str().unwrap();
    let head = app.create_user(&admin, "head@test.crm", "head", Some(d)).await;
    app.patch(&format!("/api/v1/departments/{d}"), &admin, &json!({"head_id": head["id"]})).await;
    let ivan = app.create_user(&admin, "ivan@test.crm", "manager", Some(d)).await;
    let maria = app.create_user(&admin, "maria@test.crm", "manager", Some(d)).await;
    Team {
        ivan: app.token("ivan@test.crm", PASSWORD).await,
        ivan_id: ivan["id"].as_str().unwrap().to_owned(),
        maria: app.token("maria@test.crm", PASSWORD).await,
        maria_id: maria["id"].as_str().unwrap().to_owned(),
        head: app.token("head@test.crm", PASSWORD).await,
        admin,
    }
}

async fn lead(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.post("/api/v1/leads", Some(token), &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

#[tokio::test]
async fn a_known_clients_phone_in_any_spelling_identifies_the_client_and_the_wizard_proposes_its_manager() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let client = app
        .post(
            "/api/v1/clients",
            Some(&t.ivan),
            &json!({"name": "ООО «Ромашка»", "kind": "company", "phones": ["+7 916 123-45-67"]}),
        )
        .await
        .body;
    let contact = app
        .post(
            &format!("/api/v1/clients/{}/contacts", client["id"].as_str().unwrap()),
            Some(&t.ivan),
            &json!({"name": "Анна", "emails": ["anna@romashka.ru"]}),
        )
        .await
        .body;
    let open = app
        .post("/api/v1/interests", Some(&t.ivan), &json!({"title": "Chairs", "client_id": client["id"]}))
        .await
        .body;

    for phone in ["+79161234567", "8 (916) 123-45-67", "8 916 123 45 67"] {
        let l = lead(&app, &t.maria, json!({"channel": "phone", "name": "Someone", "phone": phone})).await;
        assert_eq!(l["client_id"], client["id"], "{phone}");
        assert_eq!(l["phone"], "+79161234567");
    }
    let by_mail =
        lead(&app, &t.maria, json!({"name": "Anna", "email": "ANNA@romashka.ru", "subject": "More chairs"}))
            .await;
    assert_eq!(by_mail["contact_id"], contact["id"]);
    assert_eq!(by_mail["client_id"], client["id"]);

    // Maria takes it from the shared inbox: the wizard proposes Ivan, the client's manager.
    let wizard =
        app.get(&format!("/api/v1/leads/{}/acceptance", by_mail["id"].as_str().unwrap()), &t.maria).await;
    assert_eq!(wizard.status, 200, "{}", wizard.text);
    assert_eq!(wizard.body["proposed_responsible_id"], t.ivan_id.as_str());
    // She may not see Ivan's client: she learns whose it is, not what it holds.
    assert!(wizard.body["client"].is_null() && wizard.body["contact"].is_null(), "{}", wizard.text);
    assert_eq!(wizard.body["client_glimpse"]["id"], client["id"]);
    assert_eq!(wizard.body["client_glimpse"]["responsible_id"], t.ivan_id.as_str());
    assert_eq!(wizard.body["contact_glimpse"]["id"], contact["id"]);
    assert_eq!(wizard.body["candidates"][0]["id"], contact["id"]);
    assert_eq!(wizard.body["candidates"][0]["visible"], false);
    assert!(!wizard.text.contains("Ромашка"), "{}", wizard.text);
    // Maria does not see Ivan's interest; Ivan does.
    assert_eq!(wizard.body["active_interests"], json!([]));
    let wizard =
        app.get(&format!("/api/v1/leads/{}/acceptance", by_mail["id"].as_str().unwrap()), &t.ivan).await;
    assert_eq!(wizard.body["active_interests"][0]["id"], open["id"]);

    // Maria accepts it as proposed: the new interest goes to Ivan, the client's manager.
    let accepted = app
        .post(
            &format!("/api/v1/leads/{}/accept", by_mail["id"].as_str().unwrap()),
            Some(&t.maria),
            &json!({"mode": "new_interest"}),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(accepted.body["interest"]["responsible_id"], t.ivan_id.as_str());
    assert_eq!(accepted.body["interest"]["client_id"], client["id"]);
    assert_eq!(accepted.body["interest"]["contact_id"], contact["id"]);
    // She still may not hand her own work to Ivan, nor hang it on his client for herself.
    app.post("/api/v1/interests", Some(&t.maria), &json!({"title": "X", "responsible_id": t.ivan_id}))
        .await
        .problem(403);
    app.post("/api/v1/interests", Some(&t.maria), &json!({"title": "X", "client_id": client["id"]}))
        .await
        .problem(422);
}

#[tokio::test]
async fn accepting_a_lead_makes_an_interest_with_its_call_task_and_the_timeline_starts_with_the_lead() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let l = lead(
        &app,
        &t.ivan,
        json!({"channel": "phone", "name": "Пётр", "phone": "+79035550011", "subject": "Office desks"}),
    )
    .await;
    let path = format!("/api/v1/leads/{}", l["id"].as_str().unwrap());
    app.advance(Duration::minutes(5));
    let ivan = app.token("ivan@test.crm", PASSWORD).await;
    let preset = app
        .patch(
            &format!("/api/v1/users/{}", t.ivan_id),
            &ivan,
            &json!({"default_service_type": "Office furniture"}),
        )
        .await;
    assert_eq!(preset.status, 200, "{}", preset.text);
    let wizard = app.get(&format!("{path}/acceptance"), &ivan).await;
    assert_eq!(wizard.body["default_service_type"], "Office furniture");
    let accepted = app
        .post(&format!("{path}/accept"), Some(&ivan), &json!({"mode": "new_interest",
            "client": {"use": "new", "name": "ИП Петров", "kind": "person", "phones": ["+79035550011"], "confirm_new": true},
            "contact": {"use": "new", "name": "Пётр Петров"}}))
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    let interest = accepted.body["interest"].clone();
    assert_eq!(interest["title"], "Office desks");
    assert_eq!(interest["stage"], "request");
    assert_eq!(interest["responsible_id"], t.ivan_id.as_str());
    assert_eq!(interest["service_type"], "Office furniture", "the user's usual service type is preset");
    assert!(interest["client_id"].is_string() && interest["contact_id"].is_string());
    assert_eq!(accepted.body["lead"]["status"], "accepted");
    assert_eq!(accepted.body["lead"]["interest_id"], interest["id"]);
    let contact =
        app.get(&format!("/api/v1/contacts/{}", interest["contact_id"].as_str().unwrap()), &ivan).await;
    assert_eq!(contact.body["phones"], json!(["+79035550011"]), "the lead's phone goes on the new contact");

    let tasks =
        app.get(&format!("/api/v1/tasks?interest_id={}", interest["id"].as_str().unwrap()), &ivan).await;
    assert_eq!(tasks.body["items"][0]["title"], "Call the client");
    let timeline = app
        .get(&format!("/api/v1/interests/{}/timeline?limit=200", interest["id"].as_str().unwrap()), &ivan)
        .await;
    let items = timeline.body["items"].as_array().unwrap();
    assert_eq!(items.last().unwrap()["kind"], "lead_accepted", "oldest entry is the lead");
    assert_eq!(items.last().unwrap()["details"]["phone"], "+79035550011");

    // Twice is a conflict and changes nothing.
    let again = app.post(&format!("{path}/accept"), Some(&ivan), &json!({"mode": "new_interest"})).await;
    again.problem(409);
    assert_eq!(app.get("/api/v1/interests", &ivan).await.body["items"].as_array().unwrap().len(), 1);
    app.post(&format!("{path}/reject"), Some(&ivan), &json!({"reason": "spam"})).await.problem(409);
}

#[tokio::test]
async fn linking_puts_the_lead_on_the_interests_timeline_and_can_set_a_task() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let interest = app.post("/api/v1/interests", Some(&t.ivan), &json!({"title": "Chairs"})).await.body;
    let iid = interest["id"].as_str().unwrap();
    let l1 = lead(&app, &t.ivan, json!({"name": "Анна", "subject": "Where is my quote?"})).await;
    let linked = app
        .post(
            &format!("/api/v1/leads/{}/accept", l1["id"].as_str().unwrap()),
            Some(&t.ivan),
            &json!({"mode": "link", "interest_id": iid, "then": {"kind": "open"}}),
        )
        .await;
    assert_eq!(linked.status, 200, "{}", linked.text);
    assert_eq!(linked.body["lead"]["status"], "linked");
    assert_eq!(linked.body["interest"]["id"], iid);
    let timeline = app.get(&format!("/api/v1/interests/{iid}/timeline"), &t.ivan).await;
    assert!(timeline.body["items"].as_array().unwrap().iter().any(|e| e["kind"] == "lead_linked"));

    let l2 = lead(&app, &t.ivan, json!({"name": "Анна", "subject": "Call me"})).await;
    use crm_app::Clock;
    let due = app.clock.now() + Duration::hours(2);
    let with_task = app
        .post(&format!("/api/v1/leads/{}/accept", l2["id"].as_str().unwrap()), Some(&t.ivan),
            &json!({"mode": "link", "interest_id": iid, "then": {"kind": "task", "title": "Call Anna back", "due_at": due}}))
        .await;
    assert_eq!(with_task.status, 200, "{}", with_task.text);
    assert_eq!(with_task.body["interest"], Value::Null);
    let tasks = app.get(&format!("/api/v1/tasks?interest_id={iid}"), &t.ivan).await;
    assert!(tasks.body["items"].as_array().unwrap().iter().any(|x| x["title"] == "Call Anna back"));

    // Someone else's interest is not there to link to.
    let l3 = lead(&app, &t.maria, json!({"name": "X"})).await;
    app.post(
        &format!("/api/v1/leads/{}/accept", l3["id"].as_str().unwrap()),
        Some(&t.maria),
        &json!({"mode": "link", "interest_id": iid}),
    )
    .await
    .problem(404);
}

#[tokio::test]
async fn leads_are_rejected_with_a_reason_and_deduplicated_on_the_senders_id() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let body = json!({"channel": "form", "external_id": "site-form-42", "name": "Buyer", "email": "buyer@example.com"});
    let first = app.post("/api/v1/leads", Some(&t.ivan), &body).await;
    assert_eq!(first.status, 201);
    let again = app.post("/api/v1/leads", Some(&t.ivan), &body).await;
    assert_eq!(again.status, 200, "a repeat answers with the same lead");
    assert_eq!(again.body["id"], first.body["id"]);
    let path = format!("/api/v1/leads/{}", first.body["id"].as_str().unwrap());
    let other = app.post(&format!("{path}/reject"), Some(&t.ivan), &json!({"reason": "other"})).await;
    assert_eq!(other.problem(422)["errors"][0]["field"], "comment");
    app.post(&format!("{path}/reject"), Some(&t.ivan), &json!({"reason": "boring"})).await.problem(422);
    let rejected = app.post(&format!("{path}/reject"), Some(&t.ivan), &json!({"reason": "spam"})).await;
    assert_eq!(rejected.body["status"], "rejected");
    let listed = app.get("/api/v1/leads?status=rejected", &t.ivan).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    app.post("/api/v1/leads", Some(&t.ivan), &json!({"channel": "pigeon", "name": "X"})).await.problem(422);
    let empty = app.post("/api/v1/leads", Some(&t.ivan), &json!({"channel": "manual"})).await;
    empty.problem(422);
    let bad_phone = app.post("/api/v1/leads", Some(&t.ivan), &json!({"name": "X", "phone": "12"})).await;
    assert_eq!(bad_phone.problem(422)["errors"][0]["field"], "phone");
}

#[tokio::test]
async fn managers_see_the_shared_inbox_and_their_own_leads_heads_their_departments() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let shared = lead(&app, &t.admin, json!({"name": "Shared"})).await;
    let for_maria = lead(&app, &t.admin, json!({"name": "For Maria", "assignee_id": t.maria_id})).await;
    let names = |r: Reply| {
        let mut v: Vec<String> = r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(app.get("/api/v1/leads?status=new", &t.ivan).await), vec!["Shared"]);
    assert_eq!(names(app.get("/api/v1/leads?status=new", &t.maria).await), vec!["For Maria", "Shared"]);
    assert_eq!(names(app.get("/api/v1/leads", &t.head).await), vec!["For Maria", "Shared"]);
    app.get(&format!("/api/v1/leads/{}", for_maria["id"].as_str().unwrap()), &t.ivan).await.problem(404);
    app.post(
        &format!("/api/v1/leads/{}/reject", for_maria["id"].as_str().unwrap()),
        Some(&t.ivan),
        &json!({"reason": "spam"}),
    )
    .await
    .problem(404);

    // The board's first column is the inbox the viewer may take from.
    let board = app.get("/api/v1/board", &t.maria).await;
    assert_eq!(board.body["inbox"]["count"], 2);
    let board = app.get("/api/v1/board", &t.ivan).await;
    assert_eq!(board.body["inbox"]["count"], 1);
    assert_eq!(board.body["inbox"]["leads"][0]["id"], shared["id"]);
    let one_column = app.get("/api/v1/board?stage=request", &t.ivan).await;
    assert_eq!(one_column.body["inbox"], Value::Null);

    // Integrations push leads with the leads:write scope.
    let key = app
        .post("/api/v1/api-keys", Some(&t.admin), &json!({"name": "PBX", "scopes": ["leads:write"]}))
        .await
        .body;
    let pushed = Reply::read(
        app.request(Method::POST, "/api/v1/leads", None)
            .header("x-api-key", key["secret"].as_str().unwrap())
            .json(&json!({"channel": "phone", "phone": "+79990001122", "external_id": "call-1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(pushed.status, 201, "{}", pushed.text);
    app.get("/api/v1/leads", key["secret"].as_str().unwrap()).await.problem(403);
}
