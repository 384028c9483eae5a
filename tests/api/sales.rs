//! The typical sale over HTTP: interests on the "Typical sale" scenario, stage
//! moves with their rules, loss approval, a second scenario, the board's
//! health colours, the timeline and who sees what.

use chrono::{DateTime, Duration, TimeZone, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// A sales department with its head and two managers, signed in.
pub(crate) struct Org {
    pub admin: String,
    pub head: String,
    pub head_id: String,
    pub manager: String,
    pub manager_id: String,
    pub other: String,
    pub other_id: String,
}

/// 10:00 in Moscow on Tuesday 1 December 2026.
fn morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 7, 0, 0).unwrap()
}

pub(crate) async fn org(app: &TestApp) -> Org {
    app.clock.set(morning());
    let admin = app.admin_token().await;
    let dept = app.post("/api/v1/departments", Some(&admin), &json!({"name": "Sales"})).await.body;
    let d = dept["id"].as_str().unwrap();
    let head = app.create_user(&admin, "head@test.crm", "head", Some(d)).await;
    let r = app.patch(&format!("/api/v1/departments/{d}"), &admin, &json!({"head_id": head["id"]})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let manager = app.create_user(&admin, "ivan@test.crm", "manager", Some(d)).await;
    let other = app.create_user(&admin, "maria@test.crm", "manager", Some(d)).await;
    Org {
        head: app.token("head@test.crm", PASSWORD).await,
        head_id: head["id"].as_str().unwrap().to_owned(),
        manager: app.token("ivan@test.crm", PASSWORD).await,
        manager_id: manager["id"].as_str().unwrap().to_owned(),
        other: app.token("maria@test.crm", PASSWORD).await,
        other_id: other["id"].as_str().unwrap().to_owned(),
        admin,
    }
}

pub(crate) async fn new_interest(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.post("/api/v1/interests", Some(token), &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

pub(crate) async fn transition(app: &TestApp, token: &str, id: &str, body: Value) -> Reply {
    app.post(&format!("/api/v1/interests/{id}/transitions"), Some(token), &body).await
}

async fn tasks_of(app: &TestApp, token: &str, interest: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/tasks?interest_id={interest}&status=all&assignee=me"), token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["items"].as_array().unwrap().clone()
}

fn card<'a>(board: &'a Value, interest: &str) -> &'a Value {
    board["columns"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["cards"].as_array().unwrap())
        .find(|c| c["interest_id"] == interest)
        .unwrap_or_else(|| panic!("no card for {interest} in {board}"))
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn a_typical_sale_goes_from_request_to_payment_with_its_tasks_and_timeline() {
    let app = spawn_app().await;
    let o = org(&app).await;
    let interest =
        new_interest(&app, &o.manager, json!({"title": "40 office chairs", "potential_amount": "480000"}))
            .await;
    let id = interest["id"].as_str().unwrap();
    assert_eq!(interest["stage"], "request");
    assert_eq!(interest["state"], "active");
    assert_eq!(interest["potential_amount"], "480000.00");
    assert_eq!(interest["responsible_id"], o.manager_id.as_str());
    let current: Vec<_> =
        interest["stages"].as_array().unwrap().iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["code"], "request");
    assert_eq!(interest["stages"].as_array().unwrap().len(), 6);

    // Entering "request" made "Call the client", due at the end of today in Moscow.
    let tasks = tasks_of(&app, &o.manager, id).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["title"], "Call the client");
    assert_eq!(
        at(tasks[0]["due_at"].as_str().unwrap()),
        Utc.with_ymd_and_hms(2026, 12, 1, 20, 59, 59).unwrap()
    );
    assert_eq!(tasks[0]["rule_stage"], "request");
    assert_eq!(tasks[0]["rule"], "request.on_entry[0]");

    // A call is planned; moving on without its result is refused.
    let call = app
        .post(
            &format!("/api/v1/interests/{id}/interactions"),
            Some(&o.manager),
            &json!({"type": "call", "subject": "Clarify the need", "planned_at": morning() + Duration::hours(2)}),
        )
        .await;
    assert_eq!(call.status, 201, "{}", call.text);
    let refused = transition(&app, &o.manager, id, json!({"to_stage": "proposal"})).await;
    refused.problem(422);
    assert_eq!(refused.unmet_checks(), vec!["interaction_result"]);

    let tomorrow_noon = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap();
    let moved = transition(
        &app,
        &o.manager,
        id,
        json!({"to_stage": "proposal", "interaction_result": "Needs 40 chairs by January",
               "next": {"kind": "interaction", "type": "email", "planned_at": tomorrow_noon, "subject": "Send the quote"}}),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.body["stage"], "proposal");
    assert_eq!(moved.body["next_interaction"]["subject"], "Send the quote");
    let calls = app.get(&format!("/api/v1/interests/{id}/interactions"), &o.manager).await;
    let call = calls.body["items"].as_array().unwrap().iter().find(|i| i["type"] == "call").unwrap().clone();
    assert_eq!(call["status"], "done");
    assert_eq!(call["result"], "Needs 40 chairs by January");

    let paying = transition(
        &app,
        &o.manager,
        id,
        json!({"to_stage": "payment", "interaction_result": "Quote sent and accepted", "next": {"kind": "none"}}),
    )
    .await;
    assert_eq!(paying.status, 200, "{}", paying.text);
    assert_eq!(paying.body["stage"], "payment");
    assert_eq!(paying.body["next_interaction"], Value::Null);
    let tasks = tasks_of(&app, &o.manager, id).await;
    let payment = tasks.iter().find(|t| t["title"] == "What about the payment?").expect("payment task");
    assert_eq!(
        at(payment["due_at"].as_str().unwrap()),
        Utc.with_ymd_and_hms(2026, 12, 4, 20, 59, 59).unwrap()
    );
    assert_eq!(payment["rule_stage"], "payment");

    let timeline = app.get(&format!("/api/v1/interests/{id}/timeline?limit=200"), &o.manager).await;
    assert_eq!(timeline.status, 200, "{}", timeline.text);
    let kinds: Vec<&str> =
        timeline.body["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.last(), Some(&"created"), "oldest last: {kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "stage_changed").count(), 2, "{kinds:?}");
    for expected in ["task_created", "interaction_planned", "interaction_completed"] {
        assert!(kinds.contains(&expected), "{expected} missing from {kinds:?}");
    }
    let moves: Vec<&Value> =
        timeline.body["items"].as_array().unwrap().iter().filter(|e| e["kind"] == "stage_changed").collect();
    assert_eq!(moves[0]["details"]["to"], "payment", "newest first");
    assert_eq!(moves[1]["details"]["from"], "request");
    assert_eq!(moves[1]["details"]["interaction_result"], "Needs 40 chairs by January");
    assert_eq!(moves[1]["actor_id"], o.manager_id.as_str());
}

#[tokio::test]
async fn the_board_shows_health_in_the_responsibles_time_zone() {
    let app = spawn_app().await;
    let o = org(&app).await;
    let a = new_interest(&app, &o.manager, json!({"title": "Chairs", "potential_amount": "100.50"})).await;
    let b = new_interest(&app, &o.manager, json!({"title": "Desks", "potential_amount": "200"})).await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());

    let board = app.get("/api/v1/board?responsible=me", &o.manager).await;
    assert_eq!(board.status, 200, "{}", board.text);
    let request = &board.body["columns"][0];
    assert_eq!(request["stage"], "request");
    assert_eq!(request["count"], 2);
    assert_eq!(request["potential_sum"], "300.50");
    assert_eq!(card(&board.body, a_id)["health"], "yellow", "the call is due today");
    assert_eq!(card(&board.body, a_id)["no_next_step"], true);

    // Done with A's call; B's call passes its due time at midnight in Moscow.
    let task = tasks_of(&app, &o.manager, a_id).await.remove(0);
    let done = app
        .request(
            Method::POST,
            &format!("/api/v1/tasks/{}/complete", task["id"].as_str().unwrap()),
            Some(&o.manager),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    app.advance(Duration::hours(14)); // 00:00 Moscow, 2 December.
    let manager = app.token("ivan@test.crm", PASSWORD).await;
    let board = app.get("/api/v1/board", &manager).await;
    assert_eq!(card(&board.body, a_id)["health"], "green");
    assert_eq!(card(&board.body, b_id)["health"], "red");
    assert_eq!(card(&board.body, b_id)["days_in_stage"], 0);

    // A planned meeting today turns A yellow; the head sees the same board.
    let meet = Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap();
    app.post(
        &format!("/api/v1/interests/{a_id}/interactions"),
        Some(&manager),
        &json!({"type": "meeting", "subject": "Showroom", "planned_at": meet}),
    )
    .await;
    let head = app.token("head@test.crm", PASSWORD).await;
    let board = app.get("/api/v1/board", &head).await;
    assert_eq!(card(&board.body, a_id)["health"], "yellow");
    assert_eq!(card(&board.body, a_id)["no_next_step"], false);
    assert_eq!(card(&board.body, a_id)["responsible_name"], "User ivan@test.crm");

    // Paging through one column.
    let first = app.get("/api/v1/board?stage=request&limit=1", &head).await;
    assert_eq!(first.body["columns"].as_array().unwrap().len(), 1);
    let cursor = first.body["columns"][0]["next_cursor"].as_str().unwrap().to_owned();
    let second = app.get(&format!("/api/v1/board?stage=request&limit=1&cursor={cursor}"), &head).await;
    assert_ne!(
        second.body["columns"][0]["cards"][0]["interest_id"],
        first.body["columns"][0]["cards"][0]["interest_id"]
    );
    app.get("/api/v1/board?stage=nowhere", &head).await.problem(422);
    let _ = o.admin;
}

#[tokio::test]
async fn winning_without_orders_is_refused_with_every_unmet_check() {
    let app = spawn_app().await;
    let o = org(&app).await;
    let i = new_interest(&app, &o.manager, json!({"title": "Chairs"})).await;
    let id = i["id"].as_str().unwrap();
    let r = transition(&app, &o.manager, id, json!({"to_stage": "won"})).await;
    r.problem(422);
    assert_eq!(r.unmet_checks(), vec!["client_set", "orders_fully_paid", "orders_fully_shipped"]);
    let unknown_client = app
        .patch(&format!("/api/v1/interests/{id}"), &o.manager, &json!({"client_id": uuid::Uuid::now_v7()}))
        .await;
    assert_eq!(unknown_client.unmet_checks(), vec!["client_exists"]);
    let client = app
        .post("/api/v1/clients", Some(&o.manager), &json!({"name": "ООО «Ромашка»", "kind": "company"}))
        .await;
    assert_eq!(client.status, 201, "{}", client.text);
    let patched = app
        .patch(&format!("/api/v1/interests/{id}"), &o.manager, &json!({"client_id": client.body["id"]}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let r = transition(&app, &o.manager, id, json!({"to_stage": "won"})).await;
    assert_eq!(r.unmet_checks(), vec!["orders_fully_paid", "orders_fully_shipped"]);
    let unknown = transition(&app, &o.manager, id, json!({"to_stage": "nowhere"})).await;
    assert_eq!(unknown.unmet_checks(), vec!["stage_exists"]);
    assert_eq!(app.get(&format!("/api/v1/interests/{id}"), &o.manager).await.body["stage"], "request");
}

pub(crate) async fn loss_reason(app: &TestApp, token: &str) -> String {
    let r = app.post("/api/v1/loss-reasons", Some(token), &json!({"name": "Price too high"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_loss_needs_a_reason_and_the_heads_approval() {
    let app = spawn_app().await;
    let o = org(&app).await;
    let reason = loss_reason(&app, &o.head).await;
    let i = new_interest(&app, &o.manager, json!({"title": "Chairs"})).await;
    let id = i["id"].as_str().unwrap();

    let no_reason = transition(&app, &o.manager, id, json!({"to_stage": "lost"})).await;
    no_reason.problem(422);
    assert_eq!(no_reason.unmet_checks(), vec!["loss_reason_set"]);

    let asked = transition(
        &app,
        &o.manager,
        id,
        json!({"to_stage": "lost", "loss_reason_id": reason, "comment": "Went to a competitor"}),
    )
    .await;
    assert_eq!(asked.status, 200, "{}", asked.text);
    assert_eq!(asked.body["state"], "awaiting_loss_approval");
    assert_eq!(asked.body["stage"], "request", "it stays until approved");
    assert_eq!(asked.body["loss_approver_id"], o.head_id.as_str());
    let approval = app.get("/api/v1/tasks?assignee=me", &o.head).await;
    let approval: Vec<_> = approval.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["title"] == "Approve the loss")
        .collect();
    assert_eq!(approval.len(), 1);
    assert_eq!(approval[0]["interest_id"], id);

    // While it waits, nothing else moves it.
    transition(&app, &o.manager, id, json!({"to_stage": "proposal"})).await.problem(422);

    // Nobody but the approver decides.
    let decide = |token: String, body: Value| {
        let path = format!("/api/v1/interests/{id}/loss-decision");
        let app = &app;
        async move { app.post(&path, Some(&token), &body).await }
    };
    decide(o.manager.clone(), json!({"decision": "approve"})).await.problem(403);
    decide(o.other.clone(), json!({"decision": "approve"})).await.problem(404);

    let approved = decide(o.head.clone(), json!({"decision": "approve", "comment": "Agreed"})).await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(approved.body["state"], "lost");
    assert_eq!(approved.body["stage"], "lost");
    assert_eq!(approved.body["loss_reason_id"], reason.as_str());
    assert!(approved.body["closed_at"].is_string());
    decide(o.head.clone(), json!({"decision": "approve"})).await.problem(422);
    let timeline = app.get(&format!("/api/v1/interests/{id}/timeline"), &o.manager).await;
    let kinds: Vec<&str> =
        timeline.body["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"loss_requested") && kinds.contains(&"loss_approved"), "{kinds:?}");
}

#[tokio::test]
async fn the_head_may_return_a_loss_to_an_earlier_stage_and_the_manager_hears_of_it() {
    let app = spawn_app().await;
    let o = org(&app).await;
    let reason = loss_reason(&app, &o.head).await;
    let i = new_interest(&app, &o.manager, json!({"title": "Chairs"})).await;
    let id = i["id"].as_str().unwrap();
    transition(&app, &o.manager, id, json!({"to_stage": "proposal"})).await;
    transition(&app, &o.manager, id, json!({"to_stage": "lost", "loss_reason_id": reason})).await;

    let path = format!("/api/v1/interests/{id}/loss-decision");
    let later = app.post(&path, Some(&o.head), &json!({"decision": "return", "to_stage": "payment"})).await;
    later.problem(422);
    assert_eq!(later.unmet_checks(), vec!["earlier_stage"]);
    app.post(&path, Some(&o.head), &json!({"decision": "return"})).await.problem(422);

    let back = app
        .post(
            &path,
            Some(&o.head),
            &json!({"decision": "return", "to_stage": "request", "comment": "Call them again"}),
        )
        .await;
    assert_eq!(back.status, 200, "{}", back.text);
    assert_eq!(back.body["state"], "active");
    assert_eq!(back.body["stage"], "request");
    assert_eq!(back.body["loss_reason_id"], Value::Null);
    let notes = app.get("/api/v1/notifications?unread=true", &o.manager).await;
    let note = notes.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["interest_id"] == id)
        .expect("notified")
        .clone();
    assert!(note["text"].as_str().unwrap().contains("not approved"));
    let read = app
        .post(
            &format!("/api/v1/notifications/{}/read", note["id"].as_str().unwrap()),
            Some(&o.manager),
            &json!({}),
        )
        .await;
    assert_eq!(read.status, 200);
    assert!(read.body["read_at"].is_string());
    app.post(
        &format!("/api/v1/notifications/{}/read", note["id"].as_str().unwrap()),
        Some(&o.other),
        &json!({}),
    )
    .await
    .problem(404);
}

#[tokio::test]
async fn a_heads_own_loss_goes_to_the_head_above_or_to_the_admins() {
    let app = spawn_app().await;
    let o = org(&app).await;
    let reason = loss_reason(&app, &o.head).await;
    let own = new_interest(&app, &o.head, json!({"title": "Head's deal"})).await;
    let id = own["id"].as_str().unwrap();
    let asked = transition(&app, &o.head, id, json!({"to_stage": "lost", "loss_reason_id": reason})).await;
    assert_eq!(asked.body["loss_approver_id"], Value::Null, "no department above: the admins decide");
    app.post(
        &format!("/api/v1/interests/{id}/loss-decision"),
        Some(&o.head),
        &json!({"decision": "approve"}),
    )
    .await
    .problem(403);
    let ok = app
        .post(
            &format!("/api/v1/interests/{id}/loss-decision"),
            Some(&o.admin),
            &json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
}

fn service_scenario(head_role_user: Option<&str>) -> Value {
    let _ = head_role_user;
    json!({
        "stages": [
            {"code": "lead", "name": "Lead", "kind": "open",
             "on_entry": [{"action": "create_task", "title": "Qualify the lead", "task_kind": "qualify",
                           "assignee": {"kind": "responsible"}, "due": {"days": 1}}]},
            {"code": "demo", "name": "Demo", "kind": "open", "guards": ["potential_amount_set"],
             "on_entry": [{"action": "create_task", "title": "Prepare the demo", "task_kind": "demo",
                           "assignee": {"kind": "department_head"}, "due": {"hours": 4}}]},
            {"code": "signed", "name": "Signed", "kind": "won"},
            {"code": "dropped", "name": "Dropped", "kind": "lost", "guards": ["loss_reason_set"]}
        ]
    })
}

#[tokio::test]
async fn a_head_makes_a_second_scenario_and_its_interests_follow_its_rules() {
    let app = spawn_app().await;
    let o = org(&app).await;
    app.post(
        "/api/v1/scenarios",
        Some(&o.manager),
        &json!({"name": "Service", "definition": service_scenario(None)}),
    )
    .await
    .problem(403);
    let made = app
        .post(
            "/api/v1/scenarios",
            Some(&o.head),
            &json!({"name": "Service", "definition": service_scenario(None)}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let sid = made.body["id"].as_str().unwrap();
    assert_eq!(made.body["is_default"], false);

    let i =
        new_interest(&app, &o.manager, json!({"title": "Maintenance contract", "scenario_id": sid})).await;
    let id = i["id"].as_str().unwrap();
    assert_eq!(i["stage"], "lead");
    let tasks = tasks_of(&app, &o.manager, id).await;
    assert_eq!(tasks[0]["title"], "Qualify the lead");
    assert_eq!(
        at(tasks[0]["due_at"].as_str().unwrap()),
        Utc.with_ymd_and_hms(2026, 12, 2, 20, 59, 59).unwrap()
    );

    let r = transition(&app, &o.manager, id, json!({"to_stage": "demo"})).await;
    assert_eq!(r.unmet_checks(), vec!["potential_amount_set"]);
    app.patch(&format!("/api/v1/interests/{id}"), &o.manager, &json!({"potential_amount": "90000"})).await;
    let r = transition(&app, &o.manager, id, json!({"to_stage": "demo"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let head_tasks = app.get(&format!("/api/v1/tasks?interest_id={id}"), &o.head).await;
    let demo = head_tasks.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"] == "Prepare the demo")
        .expect("demo task")
        .clone();
    assert_eq!(demo["assignee_id"], o.head_id.as_str());
    assert_eq!(at(demo["due_at"].as_str().unwrap()), morning() + Duration::hours(4));

    // The stage that holds the interest cannot be removed; others can change.
    let mut def = service_scenario(None);
    def["stages"].as_array_mut().unwrap().remove(1);
    let path = format!("/api/v1/scenarios/{sid}");
    let put = Reply::read(
        app.request(Method::PUT, &path, Some(&o.head))
            .json(&json!({"name": "Service", "definition": def}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    put.problem(409);
    let mut def = service_scenario(None);
    def["stages"][0]["name"] = json!("Incoming");
    let put = Reply::read(
        app.request(Method::PUT, &path, Some(&o.head))
            .header("if-match", "\"1\"")
            .json(&json!({"name": "Service v2", "definition": def}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(put.body["version"], 2);
    let copy = app
        .post(&format!("/api/v1/scenarios/{sid}/copy"), Some(&o.head), &json!({"name": "Service (copy)"}))
        .await;
    assert_eq!(copy.status, 201, "{}", copy.text);
    assert_eq!(copy.body["definition"]["stages"][0]["name"], "Incoming");
    let list = app.get("/api/v1/scenarios", &o.manager).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 3, "typical sale, service and its copy");
}

#[tokio::test]
async fn a_bad_scenario_is_refused_with_every_problem() {
    let app = spawn_app().await;
    let o = org(&app).await;
    let bad = json!({"stages": [
        {"code": "a", "name": "A", "kind": "open", "triggers": [{"event": "orders_fully_paid", "move_to": "zzz"}]},
        {"code": "a", "name": "", "kind": "open"},
        {"code": "lost", "name": "Lost", "kind": "lost"},
        {"code": "b", "name": "B", "kind": "open", "on_entry": [{"action": "create_task", "title": "x", "task_kind": "x",
            "assignee": {"kind": "user", "user_id": uuid::Uuid::now_v7()}, "due": {"days": 9999}}]}
    ]});
    let r = app.post("/api/v1/scenarios", Some(&o.head), &json!({"name": "Broken", "definition": bad})).await;
    r.problem(422);
    let fields = r.error_fields();
    for expected in [
        "definition.stages[0].triggers[0].move_to",
        "definition.stages[1].code",
        "definition.stages[1].name",
        "definition.stages",
        "definition.stages[2].guards",
        "definition.stages[3].on_entry[0].due",
        "definition.stages[3].on_entry[0].assignee",
    ] {
        assert!(fields.iter().any(|f| f == expected), "{expected} missing from {fields:?}");
    }
    let shape = app
        .post(
            "/api/v1/scenarios",
            Some(&o.head),
            &json!({"name": "X", "definition": {"stages": [{"code": "a"}]}}),
        )
        .await;
    shape.problem(400);
    assert_eq!(app.get("/api/v1/scenarios", &o.head).await.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn managers_see_their_own_interests_heads_their_departments_admins_all() {
    let app = spawn_app().await;
    let o = org(&app).await;
    let mine = new_interest(&app, &o.manager, json!({"title": "Ivan's"})).await;
    let theirs = new_interest(&app, &o.other, json!({"title": "Maria's"})).await;
    let mine_path = format!("/api/v1/interests/{}", mine["id"].as_str().unwrap());
    let theirs_path = format!("/api/v1/interests/{}", theirs["id"].as_str().unwrap());

    app.get(&theirs_path, &o.manager).await.problem(404);
    transition(&app, &o.manager, theirs["id"].as_str().unwrap(), json!({"to_stage": "proposal"}))
        .await
        .problem(404);
    app.patch(&theirs_path, &o.manager, &json!({"title": "Mine now"})).await.problem(404);
    let listed = app.get("/api/v1/interests", &o.manager).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get(&format!("/api/v1/interests?responsible={}", o.other_id), &o.manager).await.body["items"],
        json!([])
    );

    for token in [&o.head, &o.admin] {
        assert_eq!(app.get(&theirs_path, token).await.status, 200);
        assert_eq!(app.get("/api/v1/interests", token).await.body["items"].as_array().unwrap().len(), 2);
    }
    // Another department's head sees neither.
    let dept2 = app.post("/api/v1/departments", Some(&o.admin), &json!({"name": "Wholesale"})).await.body;
    let h2 = app.create_user(&o.admin, "head2@test.crm", "head", Some(dept2["id"].as_str().unwrap())).await;
    app.patch(
        &format!("/api/v1/departments/{}", dept2["id"].as_str().unwrap()),
        &o.admin,
        &json!({"head_id": h2["id"]}),
    )
    .await;
    let head2 = app.token("head2@test.crm", PASSWORD).await;
    app.get(&mine_path, &head2).await.problem(404);
    assert_eq!(app.get("/api/v1/interests", &head2).await.body["items"], json!([]));
    // Accountants do not work interests.
    app.create_user(&o.admin, "olga@test.crm", "accountant", None).await;
    let acc = app.token("olga@test.crm", PASSWORD).await;
    app.get("/api/v1/interests", &acc).await.problem(403);
    // Only heads and admins hand an interest to someone else.
    app.patch(&mine_path, &o.manager, &json!({"responsible_id": o.other_id})).await.problem(403);
    let handed = app.patch(&mine_path, &o.head, &json!({"responsible_id": o.other_id})).await;
    assert_eq!(handed.status, 200, "{}", handed.text);
    app.get(&mine_path, &o.manager).await.problem(404);
}

#[tokio::test]
async fn tasks_are_listed_by_due_window_in_the_assignees_day() {
    let app = spawn_app().await;
    let o = org(&app).await;
    let soon = morning() + Duration::hours(3);
    let later = morning() + Duration::days(2);
    for (title, due) in [("Today", soon), ("Later", later)] {
        let r = app.post("/api/v1/tasks", Some(&o.manager), &json!({"title": title, "due_at": due})).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let past = app
        .post(
            "/api/v1/tasks",
            Some(&o.manager),
            &json!({"title": "Past", "due_at": morning() - Duration::hours(1)}),
        )
        .await;
    assert_eq!(past.problem(422)["errors"][0]["field"], "due_at");
    app.advance(Duration::hours(4));
    let token = app.token("ivan@test.crm", PASSWORD).await;
    let titles = |r: Reply| {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(titles(app.get("/api/v1/tasks?due=overdue", &token).await), vec!["Today"]);
    assert_eq!(titles(app.get("/api/v1/tasks?due=upcoming", &token).await), vec!["Later"]);
    assert!(titles(app.get("/api/v1/tasks?due=today", &token).await).is_empty());
    app.get("/api/v1/tasks?due=someday", &token).await.problem(400);
    // Someone else's list is theirs to see, or their head's.
    let (other, head) =
        (app.token("maria@test.crm", PASSWORD).await, app.token("head@test.crm", PASSWORD).await);
    app.get(&format!("/api/v1/tasks?assignee={}", o.manager_id), &other).await.problem(403);
    assert_eq!(app.get(&format!("/api/v1/tasks?assignee={}", o.manager_id), &head).await.status, 200);
}

#[tokio::test]
async fn an_integration_key_moves_interests_and_the_rules_run_all_the_same() {
    let app = spawn_app().await;
    let o = org(&app).await;
    let key = app
        .post(
            "/api/v1/api-keys",
            Some(&o.admin),
            &json!({"name": "ERP", "scopes": ["interests:write", "interests:read", "tasks:read"]}),
        )
        .await;
    let key = key.body["secret"].as_str().unwrap().to_owned();
    let no_owner = app.post("/api/v1/interests", Some(&key), &json!({"title": "From ERP"})).await;
    assert_eq!(no_owner.problem(422)["errors"][0]["field"], "responsible_id");
    let i = new_interest(&app, &key, json!({"title": "From ERP", "responsible_id": o.manager_id})).await;
    let id = i["id"].as_str().unwrap();
    assert_eq!(tasks_of(&app, &o.manager, id).await[0]["title"], "Call the client");
    let moved = transition(&app, &key, id, json!({"to_stage": "payment"})).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let timeline = app.get(&format!("/api/v1/interests/{id}/timeline"), &o.manager).await;
    let mv = timeline.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "stage_changed")
        .unwrap()
        .clone();
    assert_eq!(mv["actor_kind"], "api_key");

    // "Orders fully paid" while in payment: the interest moves to shipment by
    // itself, the payment task closes, "Ship the goods" and a reminder appear.
    let after = crm_app::sales::interests::record_event(
        &app.app,
        id.parse().unwrap(),
        crm_app::scenario::DomainEvent::OrdersFullyPaid,
    )
    .unwrap();
    assert_eq!(after.stage, "shipment");
    let tasks = tasks_of(&app, &o.manager, id).await;
    let status = |title: &str| {
        tasks.iter().find(|t| t["title"] == title).map(|t| t["status"].as_str().unwrap().to_owned())
    };
    assert_eq!(status("What about the payment?").as_deref(), Some("done"));
    assert_eq!(status("Ship the goods").as_deref(), Some("open"));
    let notes = app.get("/api/v1/notifications", &o.manager).await;
    assert!(notes.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["text"].as_str().unwrap().contains("ship the goods")));
    // The same event elsewhere does nothing.
    let again = crm_app::sales::interests::record_event(
        &app.app,
        id.parse().unwrap(),
        crm_app::scenario::DomainEvent::OrdersFullyPaid,
    )
    .unwrap();
    assert_eq!(again.stage, "shipment");
    assert_eq!(again.version, after.version);
}

#[tokio::test]
async fn planned_interactions_are_rescheduled_completed_or_cancelled_once() {
    let app = spawn_app().await;
    let o = org(&app).await;
    let i = new_interest(&app, &o.manager, json!({"title": "Chairs"})).await;
    let id = i["id"].as_str().unwrap();
    let plan = |subject: &str| json!({"type": "call", "subject": subject, "planned_at": morning() + Duration::days(1)});
    let a = app
        .post(&format!("/api/v1/interests/{id}/interactions"), Some(&o.manager), &plan("First"))
        .await
        .body;
    let b = app
        .post(&format!("/api/v1/interests/{id}/interactions"), Some(&o.manager), &plan("Second"))
        .await
        .body;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());

    let both = app.post(&format!("/api/v1/interests/{id}/interactions"), Some(&o.manager),
        &json!({"type": "call", "subject": "x", "planned_at": morning() + Duration::days(1), "result": "y"})).await;
    assert_eq!(both.problem(422)["errors"][0]["field"], "result");
    let neither = app
        .post(
            &format!("/api/v1/interests/{id}/interactions"),
            Some(&o.manager),
            &json!({"type": "fax", "subject": "x"}),
        )
        .await;
    neither.problem(400);
    let done_now = app
        .post(
            &format!("/api/v1/interests/{id}/interactions"),
            Some(&o.manager),
            &json!({"type": "note", "subject": "Met at the fair", "result": "Interested in chairs"}),
        )
        .await;
    assert_eq!(done_now.body["status"], "done");

    let later = morning() + Duration::days(3);
    let moved = app
        .patch(
            &format!("/api/v1/interactions/{a_id}"),
            &o.manager,
            &json!({"planned_at": later, "subject": "First, later"}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(at(moved.body["planned_at"].as_str().unwrap()), later);
    let done = app
        .post(
            &format!("/api/v1/interactions/{a_id}/complete"),
            Some(&o.manager),
            &json!({"result": "Agreed on a demo"}),
        )
        .await;
    assert_eq!(done.body["status"], "done");
    app.post(&format!("/api/v1/interactions/{a_id}/complete"), Some(&o.manager), &json!({"result": "Again"}))
        .await
        .problem(409);
    app.patch(&format!("/api/v1/interactions/{a_id}"), &o.manager, &json!({"subject": "Too late"}))
        .await
        .problem(409);
    let cancelled = app
        .post(
            &format!("/api/v1/interactions/{b_id}/cancel"),
            Some(&o.manager),
            &json!({"reason": "Client on holiday"}),
        )
        .await;
    assert_eq!(cancelled.body["status"], "cancelled");
    let typo = app
        .post(&format!("/api/v1/interactions/{b_id}/cancel"), Some(&o.manager), &json!({"raeson": "x"}))
        .await;
    typo.problem(400);
    app.post(&format!("/api/v1/interactions/{a_id}/complete"), Some(&o.other), &json!({"result": "x"}))
        .await
        .problem(404);

    // Nothing is planned any more: the card says so.
    let board = app.get("/api/v1/board", &o.manager).await;
    assert_eq!(card(&board.body, id)["no_next_step"], true);
}

#[tokio::test]
async fn tasks_are_changed_handed_over_and_cancelled_with_a_trace() {
    let app = spawn_app().await;
    let o = org(&app).await;
    let i = new_interest(&app, &o.manager, json!({"title": "Chairs"})).await;
    let id = i["id"].as_str().unwrap();
    let made = app.post("/api/v1/tasks", Some(&o.manager),
        &json!({"title": "Send the catalogue", "due_at": morning() + Duration::hours(5), "interest_id": id})).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let task = made.body["id"].as_str().unwrap();
    let path = format!("/api/v1/tasks/{task}");

    let stale = Reply::read(
        app.request(Method::PATCH, &path, Some(&o.manager))
            .header("if-match", "\"7\"")
            .json(&json!({"title": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    stale.problem(412);
    let handed = app
        .patch(
            &path,
            &o.manager,
            &json!({"assignee_id": o.other_id, "due_at": morning() + Duration::days(1)}),
        )
        .await;
    assert_eq!(handed.status, 200, "{}", handed.text);
    assert_eq!(handed.body["assignee_id"], o.other_id.as_str());
    let notes = app.get("/api/v1/notifications", &o.other).await;
    assert!(notes.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["text"].as_str().unwrap().contains("Send the catalogue")));
    let listed = app.get("/api/v1/tasks", &o.other).await;
    assert!(listed.body["items"].as_array().unwrap().iter().any(|t| t["id"] == task));

    let cancelled =
        app.post(&format!("{path}/cancel"), Some(&o.other), &json!({"note": "Sent by post instead"})).await;
    assert_eq!(cancelled.body["status"], "cancelled");
    app.post(&format!("{path}/complete"), Some(&o.other), &json!({})).await.problem(409);
    let timeline = app.get(&format!("/api/v1/interests/{id}/timeline"), &o.manager).await;
    let kinds: Vec<&str> =
        timeline.body["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"task_updated") && kinds.contains(&"task_cancelled"), "{kinds:?}");
    // A stranger to the task and its interest does not see it.
    app.create_user(&o.admin, "nobody@test.crm", "manager", None).await;
    let nobody = app.token("nobody@test.crm", PASSWORD).await;
    app.patch(&path, &nobody, &json!({"title": "mine"})).await.problem(404);
}

#[tokio::test]
async fn a_head_sees_the_departments_below_and_approves_their_losses_when_theirs_has_no_head() {
    let app = spawn_app().await;
    let o = org(&app).await;
    let top = app.get("/api/v1/departments?limit=1", &o.admin).await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let north = app
        .post("/api/v1/departments", Some(&o.admin), &json!({"name": "Sales North", "parent_id": top}))
        .await
        .body;
    app.create_user(&o.admin, "petr@test.crm", "manager", Some(north["id"].as_str().unwrap())).await;
    let petr = app.token("petr@test.crm", PASSWORD).await;
    let i = new_interest(&app, &petr, json!({"title": "Northern deal"})).await;
    let id = i["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/api/v1/interests/{id}"), &o.head).await.status, 200, "the head sees below");
    let reason = loss_reason(&app, &o.head).await;
    let asked = transition(&app, &petr, id, json!({"to_stage": "lost", "loss_reason_id": reason})).await;
    assert_eq!(
        asked.body["loss_approver_id"],
        o.head_id.as_str(),
        "no head in North: the head above decides"
    );
}
