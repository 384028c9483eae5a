//! Handing a user's work to a colleague: exactly what was asked moves, in one
//! go, with its history and notifications; a refused hand-over names every
//! reason and moves nothing.

use chrono::Duration;
use serde_json::{json, Value};

use crate::helpers::*;

struct Office {
    admin: String,
    head: String,
    ivan: String,
    ivan_id: String,
    maria: String,
    maria_id: String,
    boss: String,
    petr_id: String,
    olga_id: String,
}

async fn ok(r: Reply, status: u16) -> Value {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    r.body
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// Sales (a head, Ivan, Maria), Service (its head, Petr) and an accountant.
async fn office(app: &TestApp) -> Office {
    let admin = app.admin_token().await;
    let sales =
        id(&ok(app.post("/api/v1/departments", Some(&admin), &json!({"name": "Sales"})).await, 201).await);
    let service =
        id(&ok(app.post("/api/v1/departments", Some(&admin), &json!({"name": "Service"})).await, 201).await);
    let head = app.create_user(&admin, "head@test.crm", "head", Some(&sales)).await;
    let boss = app.create_user(&admin, "boss@test.crm", "head", Some(&service)).await;
    for (d, h) in [(&sales, &head), (&service, &boss)] {
        ok(app.patch(&format!("/api/v1/departments/{d}"), &admin, &json!({"head_id": h["id"]})).await, 200)
            .await;
    }
    let ivan = app.create_user(&admin, "ivan@test.crm", "manager", Some(&sales)).await;
    let maria = app.create_user(&admin, "maria@test.crm", "manager", Some(&sales)).await;
    let petr = app.create_user(&admin, "petr@test.crm", "manager", Some(&service)).await;
    let olga = app.create_user(&admin, "olga@test.crm", "accountant", None).await;
    Office {
        head: app.token("head@test.crm", PASSWORD).await,
        boss: app.token("boss@test.crm", PASSWORD).await,
        ivan: app.token("ivan@test.crm", PASSWORD).await,
        ivan_id: id(&ivan),
        maria: app.token("maria@test.crm", PASSWORD).await,
        maria_id: id(&maria),
        petr_id: id(&petr),
        olga_id: id(&olga),
        admin,
    }
}

/// Ivan's work: clients Ромашка (with a contact) and Лютик, a contact of
/// no client, open interests on each client and one with no client (each
/// with its "Call the client" task), a lost interest of Ромашка, a call
/// planned on Ромашка's open interest, and a task of his own. Maria has a
/// client and an interest of her own.
struct Work {
    romashka: String,
    lyutik: String,
    loose_contact: String,
    on_romashka: String,
    lost_on_romashka: String,
    on_lyutik: String,
    no_client: String,
    own_task: String,
    marias_client: String,
    marias_interest: String,
}

async fn work(app: &TestApp, o: &Office) -> Work {
    let client = |name: &'static str, token: String| async move {
        id(&ok(
            app.post("/api/v1/clients", Some(&token), &json!({"name": name, "kind": "company"})).await,
            201,
        )
        .await)
    };
    let romashka = client("ООО «Ромашка»", o.ivan.clone()).await;
    let lyutik = client("ООО «Лютик»", o.ivan.clone()).await;
    let marias_client = client("ООО «Василёк»", o.maria.clone()).await;
    ok(
        app.post(
            &format!("/api/v1/clients/{romashka}/contacts"),
            Some(&o.ivan),
            &json!({"name": "Анна Смирнова"}),
        )
        .await,
        201,
    )
    .await;
    let loose_contact =
        id(&ok(app.post("/api/v1/contacts", Some(&o.ivan), &json!({"name": "Пётр Иванов"})).await, 201)
            .await);
    let interest = |title: &'static str, client: Option<String>, token: String| async move {
        id(&ok(
            app.post("/api/v1/interests", Some(&token), &json!({"title": title, "client_id": client})).await,
            201,
        )
        .await)
    };
    let on_romashka = interest("Chairs", Some(romashka.clone()), o.ivan.clone()).await;
    let lost_on_romashka = interest("Tables", Some(romashka.clone()), o.ivan.clone()).await;
    let on_lyutik = interest("Sofas", Some(lyutik.clone()), o.ivan.clone()).await;
    let no_client = interest("Lamps", None, o.ivan.clone()).await;
    let marias_interest = interest("Desks", Some(marias_client.clone()), o.maria.clone()).await;
    let reason =
        ok(app.post("/api/v1/loss-reasons", Some(&o.head), &json!({"name": "Price"})).await, 201).await;
    ok(
        app.post(
            &format!("/api/v1/interests/{lost_on_romashka}/transitions"),
            Some(&o.ivan),
            &json!({"to_stage": "lost", "loss_reason_id": reason["id"]}),
        )
        .await,
        200,
    )
    .await;
    ok(
        app.post(
            &format!("/api/v1/interests/{lost_on_romashka}/loss-decision"),
            Some(&o.head),
            &json!({"decision": "approve"}),
        )
        .await,
        200,
    )
    .await;
    let at = app.clock_now() + Duration::days(1);
    ok(
        app.post(
            &format!("/api/v1/interests/{on_romashka}/interactions"),
            Some(&o.ivan),
            &json!({"type": "call", "subject": "Clarify the need", "planned_at": at}),
        )
        .await,
        201,
    )
    .await;
    let own_task = id(&ok(
        app.post("/api/v1/tasks", Some(&o.ivan), &json!({"title": "Report", "due_at": at})).await,
        201,
    )
    .await);
    Work {
        romashka,
        lyutik,
        loose_contact,
        on_romashka,
        lost_on_romashka,
        on_lyutik,
        no_client,
        own_task,
        marias_client,
        marias_interest,
    }
}

/// The open tasks a user is assigned, by interest id (`null` for none).
async fn open_tasks(app: &TestApp, token: &str) -> Vec<(Value, String)> {
    let r = ok(app.get("/api/v1/tasks?assignee=me&status=open&limit=200", token).await, 200).await;
    let mut v: Vec<_> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["interest_id"].clone(), t["title"].as_str().unwrap().to_owned()))
        .collect();
    v.sort_by_key(|(i, t)| (i.to_string(), t.clone()));
    v
}

fn ids(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect();
    out.sort();
    out
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn a_listed_client_moves_with_its_open_interests_tasks_and_calls_and_nothing_else() {
    let app = spawn_app().await;
    let o = office(&app).await;
    let w = work(&app, &o).await;
    let maria_before =
        ok(app.get(&format!("/api/v1/interests/{}", w.marias_interest), &o.maria).await, 200).await;

    let done = ok(
        app.post(
            &format!("/api/v1/users/{}/handover", o.ivan_id),
            Some(&o.head),
            &json!({"to_user_id": o.maria_id, "client_ids": [w.romashka]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ids(&done["clients"]), vec![w.romashka.clone()]);
    assert!(ids(&done["contacts"]).is_empty());
    // The lost interest stays where it was; the open one moves with its call task and its planned call.
    assert_eq!(ids(&done["interests"]), vec![w.on_romashka.clone()]);
    assert_eq!(done["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(done["planned_interactions"], 1);

    // Maria now sees and works them; Ivan no longer sees them.
    for path in [format!("/api/v1/clients/{}", w.romashka), format!("/api/v1/interests/{}", w.on_romashka)] {
        let got = ok(app.get(&path, &o.maria).await, 200).await;
        assert_eq!(got["responsible_id"], o.maria_id.as_str(), "{path}");
        app.get(&path, &o.ivan).await.problem(404);
    }
    let lost = ok(app.get(&format!("/api/v1/interests/{}", w.lost_on_romashka), &o.ivan).await, 200).await;
    assert_eq!(lost["responsible_id"], o.ivan_id.as_str());
    for untouched in [&w.on_lyutik, &w.no_client] {
        let i = ok(app.get(&format!("/api/v1/interests/{untouched}"), &o.ivan).await, 200).await;
        assert_eq!(i["responsible_id"], o.ivan_id.as_str());
    }
    // Maria's own interest did not change at all.
    let maria_after =
        ok(app.get(&format!("/api/v1/interests/{}", w.marias_interest), &o.maria).await, 200).await;
    assert_eq!(maria_after["version"], maria_before["version"]);
    let interest = Value::String(w.on_romashka.clone());
    let mut expected = vec![
        (interest.clone(), "Call the client".to_owned()),
        (Value::String(w.marias_interest.clone()), "Call the client".to_owned()),
    ];
    expected.sort_by_key(|(i, t)| (i.to_string(), t.clone()));
    assert_eq!(open_tasks(&app, &o.maria).await, expected);
    assert!(open_tasks(&app, &o.ivan).await.iter().all(|(i, _)| *i != interest));

    // The interest's timeline says who handed what to whom, the call task too.
    let timeline =
        ok(app.get(&format!("/api/v1/interests/{}/timeline?limit=200", w.on_romashka), &o.maria).await, 200)
            .await;
    let summaries: Vec<String> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        summaries.iter().any(|s| s.starts_with("Handed over from User ivan@test.crm to User maria@test.crm")),
        "{summaries:?}"
    );
    assert!(summaries.iter().any(|s| s.contains("Task \"Call the client\" handed over")), "{summaries:?}");
    // The client's history holds the change of its responsible.
    let history = ok(app.get(&format!("/api/v1/clients/{}/history", w.romashka), &o.maria).await, 200).await;
    assert!(
        history["items"].as_array().unwrap().iter().any(|h| h["field"] == "responsible_id"
            && h["old_value"] == o.ivan_id.as_str()
            && h["new_value"] == o.maria_id.as_str()),
        "{history}"
    );
    // Both were told.
    for token in [&o.ivan, &o.maria] {
        let notes = ok(app.get("/api/v1/notifications?limit=200", token).await, 200).await;
        assert!(notes["items"].as_array().unwrap().iter().any(|n| n["text"]
            == "1 client(s), 0 contact(s), 1 open interest(s) and 1 open task(s) were handed over from User ivan@test.crm to User maria@test.crm"), "{notes}");
    }
}

#[tokio::test]
async fn without_a_list_everything_the_user_holds_moves() {
    let app = spawn_app().await;
    let o = office(&app).await;
    let w = work(&app, &o).await;
    let done = ok(
        app.post(
            &format!("/api/v1/users/{}/handover", o.ivan_id),
            Some(&o.admin),
            &json!({"to_user_id": o.maria_id}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ids(&done["clients"]), sorted(vec![w.romashka.clone(), w.lyutik.clone()]));
    assert_eq!(ids(&done["contacts"]), vec![w.loose_contact.clone()]);
    assert_eq!(
        ids(&done["interests"]),
        sorted(vec![w.on_romashka.clone(), w.on_lyutik.clone(), w.no_client.clone()])
    );
    // Every open task of his: the call tasks of the three open interests and
    // of the lost one (still open), and his own.
    assert_eq!(done["tasks"].as_array().unwrap().len(), 5);
    assert!(ids(&done["tasks"]).contains(&w.own_task));
    assert!(open_tasks(&app, &o.ivan).await.is_empty());
    assert_eq!(open_tasks(&app, &o.maria).await.len(), 6);
    let board = ok(app.get("/api/v1/interests?limit=200", &o.ivan).await, 200).await;
    let left: Vec<String> = board["items"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(left, vec![w.lost_on_romashka.clone()], "only the lost interest stays his");
    let marias = ok(app.get(&format!("/api/v1/clients/{}", w.marias_client), &o.maria).await, 200).await;
    assert_eq!(marias["version"], 1);
    // The feed tells Maria of the clients she now holds.
    crate::feed::settle(&app).await;
    let feed = ok(app.get("/api/v1/events?types=client.updated&limit=500", &o.maria).await, 200).await;
    let got: Vec<String> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entity"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sorted(got), sorted(vec![w.romashka.clone(), w.lyutik.clone()]));
}

#[tokio::test]
async fn a_refused_hand_over_names_every_reason_and_moves_nothing() {
    let app = spawn_app().await;
    let o = office(&app).await;
    let w = work(&app, &o).await;
    let path = format!("/api/v1/users/{}/handover", o.ivan_id);
    // A manager hands nothing over; a head only their own people's work.
    app.post(&path, Some(&o.ivan), &json!({"to_user_id": o.maria_id})).await.problem(403);
    app.post(&path, Some(&o.boss), &json!({"to_user_id": o.petr_id})).await.problem(403);
    for (token, body, checks) in [
        (&o.head, json!({"to_user_id": o.petr_id}), vec!["to_user_id_reachable"]),
        (&o.admin, json!({"to_user_id": o.olga_id}), vec!["to_user_id_role"]),
        (&o.admin, json!({"to_user_id": o.ivan_id}), vec!["not_self"]),
        (&o.admin, json!({"to_user_id": uuid::Uuid::nil()}), vec!["to_user_id_exists"]),
        (
            &o.head,
            json!({"to_user_id": o.maria_id, "client_ids": [w.marias_client, w.romashka]}),
            vec!["client_of_user"],
        ),
        (
            &o.admin,
            json!({"to_user_id": o.olga_id, "client_ids": [w.marias_client]}),
            vec!["to_user_id_role", "client_of_user"],
        ),
    ] {
        let r = app.post(&path, Some(token), &body).await;
        r.problem(422);
        assert_eq!(r.unmet_checks(), checks, "{body}: {}", r.text);
    }
    for (body, field) in [
        (json!({"to_user_id": o.maria_id, "client_ids": []}), "client_ids"),
        (json!({"to_user_id": o.maria_id, "everything": true}), "everything"),
        (json!({"client_ids": [w.romashka]}), "to_user_id"),
    ] {
        let r = app.post(&path, Some(&o.head), &body).await;
        r.problem(400);
        assert_eq!(r.error_fields(), [field], "{body}: {}", r.text);
    }
    // Nothing moved.
    for i in [&w.on_romashka, &w.on_lyutik, &w.no_client] {
        let got = ok(app.get(&format!("/api/v1/interests/{i}"), &o.ivan).await, 200).await;
        assert_eq!(
            (got["responsible_id"].as_str(), got["version"].as_i64()),
            (Some(o.ivan_id.as_str()), Some(1))
        );
    }
    assert_eq!(open_tasks(&app, &o.ivan).await.len(), 5);
    let notes = ok(app.get("/api/v1/notifications?limit=200", &o.maria).await, 200).await;
    assert!(notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| !n["text"].as_str().unwrap().contains("handed over")));
}

#[tokio::test]
async fn a_user_who_holds_work_is_deactivated_only_with_someone_to_take_it() {
    let app = spawn_app().await;
    let o = office(&app).await;
    let w = work(&app, &o).await;
    let user = format!("/api/v1/users/{}", o.ivan_id);
    let r = app.patch(&user, &o.admin, &json!({"active": false})).await;
    r.problem(422);
    assert_eq!(r.unmet_checks(), ["work_handed_over"]);
    assert!(
        r.text.contains("2 client(s), 1 contact(s) of no client, 3 open interest(s), 5 open task(s)"),
        "{}",
        r.text
    );
    for (body, status) in [
        (json!({"active": false, "handover_to": o.olga_id}), 422),
        (json!({"name": "Ivan", "handover_to": o.maria_id}), 422),
    ] {
        app.patch(&user, &o.admin, &body).await.problem(status);
    }
    let r = app.patch(&user, &o.admin, &json!({"active": false, "handover_to": o.olga_id})).await;
    assert_eq!(r.unmet_checks(), ["handover_to_role"]);
    let r = app.patch(&user, &o.admin, &json!({"name": "Ivan", "handover_to": o.maria_id})).await;
    assert_eq!(r.error_fields(), ["handover_to"]);
    // Refused, so still active, still signed in and still holding his work.
    let me = ok(app.get(&user, &o.ivan).await, 200).await;
    assert_eq!((me["active"].as_bool(), me["version"].as_i64()), (Some(true), Some(1)));

    // With someone to take it: his work moves and he is deactivated, in one go.
    let done =
        ok(app.patch(&user, &o.admin, &json!({"active": false, "handover_to": o.maria_id})).await, 200).await;
    assert_eq!(done["active"], false);
    app.get("/api/v1/me", &o.ivan).await.problem(401);
    for i in [&w.on_romashka, &w.on_lyutik, &w.no_client] {
        let got = ok(app.get(&format!("/api/v1/interests/{i}"), &o.maria).await, 200).await;
        assert_eq!(got["responsible_id"], o.maria_id.as_str());
    }
    assert_eq!(open_tasks(&app, &o.maria).await.len(), 6);
    // Someone who holds nothing is deactivated as before.
    let petr = ok(
        app.patch(&format!("/api/v1/users/{}", o.petr_id), &o.admin, &json!({"active": false})).await,
        200,
    )
    .await;
    assert_eq!(petr["active"], false);
}
