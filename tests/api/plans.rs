//! Sales plans and plan against fact, on the analytics module's history
//! (`analytics::history`): in November Ivan won A (50 000 RUB) and Maria
//! won H (30 000 RUB); Maria's USD interest E was lost; nothing was won in
//! December. The plan-fact test adds M: Maria's, made and won on 3
//! December with an order of 30 chairs (30 000 RUB).
//!
//! The plans, worked out by hand against that:
//!
//! | month | target | plan | fact | won | % |
//! |---|---|---|---|---|---|
//! | Nov | Sales (department) | 150 000 RUB | 80 000 (A, H) | 2 | 53.3 |
//! | Nov | Ivan | 40 000 RUB | 50 000 (A) | 1 | 125.0 |
//! | Nov | Maria | 60 000 RUB | 30 000 (H) | 1 | 50.0 |
//! | Nov | Maria | 1 500 USD | 0 (E was lost) | 0 | 0.0 |
//! | Dec | Sales (department) | 200 000 RUB | 30 000 (M) | 1 | 15.0 |
//! | Dec | Ivan | 100 000 RUB | 0 | 0 | 0.0 |
//! | Dec | Maria | 90 000 RUB | 30 000 (M) | 1 | 33.3 |
//!
//! An eighth plan (Ivan, November, EUR) is set and deleted: it counts nowhere.

use reqwest::Method;
use serde_json::{json, Value};

use crate::analytics::{csv_rows, file, history, interest, ok, report, spawn, World};
use crate::helpers::*;

/// M: Maria's interest, won today with 30 chairs paid and shipped.
async fn win_m(app: &TestApp, w: &World) {
    let maria = app.token("maria@test.crm", PASSWORD).await;
    let client = ok(
        app.post("/api/v1/clients", Some(&maria), &json!({"name": "ООО «Лютик»", "kind": "company"})).await,
        201,
    )
    .await;
    let h =
        interest(app, &maria, json!({"title": "M", "potential_amount": "10000", "client_id": client["id"]}))
            .await;
    ok(
        app.post(
            &format!("/api/v1/interests/{h}/transitions"),
            Some(&maria),
            &json!({"to_stage": "payment"}),
        )
        .await,
        200,
    )
    .await;
    let products = ok(app.get("/api/v1/products", &maria).await, 200).await;
    let chair =
        products["items"].as_array().unwrap().iter().find(|p| p["sku"] == "CHAIR").unwrap()["id"].clone();
    let order = ok(
        app.post(
            &format!("/api/v1/interests/{h}/orders"),
            Some(&maria),
            &json!({"lines": [{"product_id": chair, "quantity": "30"}]}),
        )
        .await,
        201,
    )
    .await;
    let oid = order["id"].as_str().unwrap();
    ok(app.post(&format!("/api/v1/orders/{oid}/confirm"), Some(&maria), &json!({})).await, 200).await;
    ok(
        app.post(
            "/api/v1/payments",
            Some(&w.olga),
            &json!({"order_id": oid, "amount": "30000", "external_ref": "PP-M"}),
        )
        .await,
        201,
    )
    .await;
    let line = order["lines"][0]["id"].clone();
    ok(
        app.post(
            &format!("/api/v1/orders/{oid}/shipments"),
            Some(&maria),
            &json!({"kind": "sales_document", "lines": [{"order_line_id": line, "quantity": "30"}]}),
        )
        .await,
        201,
    )
    .await;
    let won = ok(app.get(&format!("/api/v1/interests/{h}"), &maria).await, 200).await;
    assert_eq!((won["state"].as_str(), won["potential_amount"].as_str()), (Some("won"), Some("30000.00")));
}

async fn plan(app: &TestApp, token: &str, body: Value) -> Value {
    ok(app.post("/api/v1/sales-plans", Some(token), &body).await, 201).await
}

/// Sets the table's plans as the head; returns the deleted one's id.
async fn set_plans(app: &TestApp, w: &World) -> String {
    let (ivan, maria, dept) = (&w.ivan_id, &w.maria_id, &w.dept);
    plan(app, &w.head, json!({"month": "2026-11", "department_id": dept, "amount": "150000"})).await;
    plan(
        app,
        &w.head,
        json!({"month": "2026-11", "user_id": ivan, "amount": "40000", "note": "First month"}),
    )
    .await;
    plan(app, &w.head, json!({"month": "2026-11", "user_id": maria, "amount": "60000"})).await;
    plan(app, &w.head, json!({"month": "2026-11", "user_id": maria, "amount": "1500", "currency": "usd"}))
        .await;
    plan(app, &w.head, json!({"month": "2026-12", "department_id": dept, "amount": "200000.00"})).await;
    plan(app, &w.head, json!({"month": "2026-12", "user_id": ivan, "amount": "100000"})).await;
    plan(app, &w.head, json!({"month": "2026-12", "user_id": maria, "amount": "90000"})).await;
    let gone =
        plan(app, &w.head, json!({"month": "2026-11", "user_id": ivan, "amount": "1", "currency": "EUR"}))
            .await;
    let id = gone["id"].as_str().unwrap().to_owned();
    let del = app
        .request(Method::DELETE, &format!("/api/v1/sales-plans/{id}"), Some(&w.head))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status().as_u16(), 204);
    id
}

/// (month, target, name, currency, plan, fact, won, percent) of each row.
type FactRow = (String, String, String, String, String, String, u64, Value);

fn fact_rows(r: &Value) -> Vec<FactRow> {
    r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            let s = |k: &str| x[k].as_str().unwrap().to_owned();
            (
                s("month"),
                s("target"),
                s("name"),
                s("currency"),
                s("plan"),
                s("fact"),
                x["won"].as_u64().unwrap(),
                x["percent"].clone(),
            )
        })
        .collect()
}

/// A row: `[month, target, name, currency, plan, fact]`, won, percent.
fn fact(text: [&str; 6], won: u64, pct: f64) -> FactRow {
    let [month, target, name, cur, plan, fact] = text.map(str::to_owned);
    (month, target, name, cur, plan, fact, won, json!(pct))
}

#[tokio::test]
async fn plan_against_fact_gives_the_figures_worked_out_by_hand() {
    let app = spawn().await;
    let (w, _) = history(&app).await;
    win_m(&app, &w).await;
    set_plans(&app, &w).await;

    let (ivan, maria) = ("User ivan@test.crm", "User maria@test.crm");
    let november = vec![
        fact(["2026-11", "department", "Sales", "RUB", "150000.00", "80000.00"], 2, 53.3),
        fact(["2026-11", "user", ivan, "RUB", "40000.00", "50000.00"], 1, 125.0),
        fact(["2026-11", "user", maria, "RUB", "60000.00", "30000.00"], 1, 50.0),
        fact(["2026-11", "user", maria, "USD", "1500.00", "0.00"], 0, 0.0),
    ];
    let december = vec![
        fact(["2026-12", "department", "Sales", "RUB", "200000.00", "30000.00"], 1, 15.0),
        fact(["2026-12", "user", ivan, "RUB", "100000.00", "0.00"], 0, 0.0),
        fact(["2026-12", "user", maria, "RUB", "90000.00", "30000.00"], 1, 33.3),
    ];
    let both: Vec<FactRow> = november.iter().chain(&december).cloned().collect();
    for token in [&w.head, &w.admin] {
        let r = report(&app, token, "plan-fact?from=2026-11-01&to=2026-12-31").await;
        assert_eq!(fact_rows(&r), both, "{r}");
        assert_eq!(
            r["period"],
            json!({"from": "2026-11-01", "to": "2026-12-31", "time_zone": "Europe/Moscow"})
        );
    }
    // Plans are monthly: a period inside November covers all of it.
    let part = report(&app, &w.head, "plan-fact?from=2026-11-15&to=2026-11-20").await;
    assert_eq!(
        (part["period"]["from"].as_str(), part["period"]["to"].as_str()),
        (Some("2026-11-01"), Some("2026-11-30"))
    );
    assert_eq!(fact_rows(&part), november);
    // Without a period: this month (December).
    assert_eq!(fact_rows(&report(&app, &w.head, "plan-fact").await), december);
    // Ivan sees his own plans only; asking for Maria's gives him nothing.
    let mine = report(&app, &w.ivan, "plan-fact?from=2026-11-01&to=2026-12-31").await;
    assert_eq!(fact_rows(&mine), vec![both[1].clone(), both[5].clone()]);
    let hers = report(
        &app,
        &w.ivan,
        &format!("plan-fact?from=2026-11-01&to=2026-12-31&responsible_id={}", w.maria_id),
    )
    .await;
    assert!(fact_rows(&hers).is_empty());
    // The head narrows to Maria, or to the department (its plans and its people's).
    let maria_only = report(
        &app,
        &w.head,
        &format!("plan-fact?from=2026-11-01&to=2026-12-31&responsible_id={}", w.maria_id),
    )
    .await;
    assert_eq!(fact_rows(&maria_only), vec![both[2].clone(), both[3].clone(), both[6].clone()]);
    let dept =
        report(&app, &w.head, &format!("plan-fact?from=2026-11-01&to=2026-12-31&department_id={}", w.dept))
            .await;
    assert_eq!(fact_rows(&dept), both);
    // A scenario nothing was won in: the plans stand, the facts are nil.
    let typical = report(&app, &w.head, "funnel").await["scenario_id"].as_str().unwrap().to_owned();
    let copy = ok(
        app.post(&format!("/api/v1/scenarios/{typical}/copy"), Some(&w.head), &json!({"name": "Copy"})).await,
        201,
    )
    .await;
    let other = report(
        &app,
        &w.head,
        &format!("plan-fact?from=2026-11-01&to=2026-11-30&scenario_id={}", copy["id"].as_str().unwrap()),
    )
    .await;
    let facts: Vec<_> = fact_rows(&other).into_iter().map(|r| (r.5, r.6)).collect();
    assert_eq!(facts, vec![("0.00".to_owned(), 0); 4]);
    let same =
        report(&app, &w.head, &format!("plan-fact?from=2026-11-01&to=2026-11-30&scenario_id={typical}"))
            .await;
    assert_eq!(fact_rows(&same), november);

    // The CSV holds the same figures.
    let (kind, bytes) = file(&app, &w.head, "plan-fact?from=2026-11-01&to=2026-11-30&format=csv", None).await;
    assert!(kind.starts_with("text/csv"), "{kind}");
    let rows = csv_rows(&bytes);
    assert_eq!(rows[0], ["report", "plan-fact"]);
    let header = rows.iter().position(|r| r.first().is_some_and(|c| c == "month")).unwrap();
    let body: Vec<Vec<String>> = rows[header + 1..].iter().map(|r| [&r[1..2], &r[3..]].concat()).collect();
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        body,
        vec![
            s(&["department", "Sales", "RUB", "150000.00", "80000.00", "2", "53.3"]),
            s(&["user", ivan, "RUB", "40000.00", "50000.00", "1", "125"]),
            s(&["user", maria, "RUB", "60000.00", "30000.00", "1", "50"]),
            s(&["user", maria, "USD", "1500.00", "0.00", "0", "0"]),
        ]
    );
    // An accountant reads no plans.
    app.get("/api/v1/analytics/plan-fact", &w.olga).await.problem(403);
    app.get("/api/v1/sales-plans", &w.olga).await.problem(403);
}

/// (month, amount) of each plan a reader lists.
async fn list(app: &TestApp, token: &str, query: &str) -> Vec<(String, String)> {
    let r = ok(app.get(&format!("/api/v1/sales-plans{query}"), token).await, 200).await;
    r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["month"].as_str().unwrap().to_owned(), p["amount"].as_str().unwrap().to_owned()))
        .collect()
}

/// The `sales_plan.*` events a reader gets.
async fn events(app: &TestApp, token: &str) -> Vec<Value> {
    let r = ok(app.get("/api/v1/events?types=sales_plan.*&limit=500", token).await, 200).await;
    r["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn heads_set_plans_for_their_own_and_everyone_sees_only_theirs() {
    let app = spawn().await;
    let (w, _) = history(&app).await;
    let deleted = set_plans(&app, &w).await;
    // A second department with its own head and manager.
    let service =
        ok(app.post("/api/v1/departments", Some(&w.admin), &json!({"name": "Service"})).await, 201).await;
    let sid = service["id"].as_str().unwrap();
    let boss = app.create_user(&w.admin, "boss@test.crm", "head", Some(sid)).await;
    ok(
        app.patch(&format!("/api/v1/departments/{sid}"), &w.admin, &json!({"head_id": boss["id"]})).await,
        200,
    )
    .await;
    let petr = app.create_user(&w.admin, "petr@test.crm", "manager", Some(sid)).await;
    let boss_token = app.token("boss@test.crm", PASSWORD).await;
    let petrs =
        plan(&app, &boss_token, json!({"month": "2026-12", "user_id": petr["id"], "amount": "70000"})).await;

    // The admin sees all eight live plans; the Sales head seven; Ivan his two; the Service head Petr's.
    assert_eq!(list(&app, &w.admin, "?limit=200").await.len(), 8);
    assert_eq!(list(&app, &w.head, "").await.len(), 7);
    let mut ivans = list(&app, &w.ivan, "").await;
    ivans.sort();
    assert_eq!(
        ivans,
        [("2026-11".to_owned(), "40000.00".to_owned()), ("2026-12".to_owned(), "100000.00".to_owned())]
    );
    assert_eq!(list(&app, &boss_token, "").await, [("2026-12".to_owned(), "70000.00".to_owned())]);
    assert_eq!(list(&app, &w.head, "?month_from=2026-12&month_to=2026-12").await.len(), 3);
    assert_eq!(list(&app, &w.admin, &format!("?department_id={sid}")).await.len(), 1);
    // Not visible is not found, for reading and for writing alike.
    let pid = petrs["id"].as_str().unwrap();
    app.get(&format!("/api/v1/sales-plans/{pid}"), &w.head).await.problem(404);
    app.patch(&format!("/api/v1/sales-plans/{pid}"), &w.head, &json!({"amount": "1"})).await.problem(404);
    app.get(&format!("/api/v1/sales-plans/{deleted}"), &w.admin).await.problem(404);
    // Managers read but do not set plans; a head only for their own people and departments.
    app.post(
        "/api/v1/sales-plans",
        Some(&w.ivan),
        &json!({"month": "2027-01", "user_id": w.ivan_id, "amount": "1"}),
    )
    .await
    .problem(403);
    let r = app
        .post(
            "/api/v1/sales-plans",
            Some(&w.head),
            &json!({"month": "2027-01", "user_id": petr["id"], "amount": "1"}),
        )
        .await;
    r.problem(422);
    assert_eq!(r.unmet_checks(), ["user_id_reachable"]);
    let r = app
        .post(
            "/api/v1/sales-plans",
            Some(&w.head),
            &json!({"month": "2027-01", "department_id": sid, "amount": "1"}),
        )
        .await;
    r.problem(422);
    assert_eq!(r.unmet_checks(), ["department_id_reachable"]);
    let olga = app.get("/api/v1/users?limit=200", &w.admin).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "olga@test.crm")
        .unwrap()["id"]
        .clone();
    let r = app
        .post(
            "/api/v1/sales-plans",
            Some(&w.admin),
            &json!({"month": "2027-01", "user_id": olga, "amount": "1"}),
        )
        .await;
    r.problem(422);
    assert_eq!(r.unmet_checks(), ["user_id_role"]);
    let r = app
        .post(
            "/api/v1/sales-plans",
            Some(&w.admin),
            &json!({"month": "2027-01", "user_id": uuid::Uuid::nil(), "amount": "1"}),
        )
        .await;
    assert_eq!(r.unmet_checks(), ["user_id_exists"]);

    // One live plan per month, target and currency; deleting frees the place.
    let ivan_dec =
        app.get(&format!("/api/v1/sales-plans?user_id={}&month_from=2026-12", w.ivan_id), &w.head).await.body
            ["items"][0]
            .clone();
    let again = app
        .post(
            "/api/v1/sales-plans",
            Some(&w.head),
            &json!({"month": "2026-12", "user_id": w.ivan_id, "amount": "5"}),
        )
        .await;
    assert_eq!(again.problem(409)["errors"][0]["field"], "month", "{}", again.text);
    plan(&app, &w.head, json!({"month": "2026-12", "user_id": w.ivan_id, "amount": "5", "currency": "EUR"}))
        .await;
    plan(&app, &w.head, json!({"month": "2026-11", "user_id": w.ivan_id, "amount": "2", "currency": "EUR"}))
        .await;

    // Changing: the amount and the note, with If-Match; a stale version is 412.
    let id = ivan_dec["id"].as_str().unwrap();
    let changed = app
        .request(Method::PATCH, &format!("/api/v1/sales-plans/{id}"), Some(&w.head))
        .header("If-Match", "\"1\"")
        .json(&json!({"amount": "120000.50", "note": "Raised after the tender"}))
        .send()
        .await
        .unwrap();
    let changed = Reply::read(changed).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(
        (changed.body["amount"].as_str(), changed.body["version"].as_i64()),
        (Some("120000.50"), Some(2))
    );
    let stale = app
        .request(Method::PATCH, &format!("/api/v1/sales-plans/{id}"), Some(&w.head))
        .header("If-Match", "\"1\"")
        .json(&json!({"amount": "1"}))
        .send()
        .await
        .unwrap();
    Reply::read(stale).await.problem(412);
    let cleared =
        ok(app.patch(&format!("/api/v1/sales-plans/{id}"), &w.head, &json!({"note": null})).await, 200).await;
    assert_eq!((cleared["note"].clone(), cleared["amount"].as_str()), (Value::Null, Some("120000.50")));
    // Saying again what the plan holds changes nothing: no new version, no event.
    let same = json!({"amount": "120000.50", "note": null});
    let same = ok(app.patch(&format!("/api/v1/sales-plans/{id}"), &w.head, &same).await, 200).await;
    assert_eq!(same["version"], 3);
    assert_eq!(
        ok(app.patch(&format!("/api/v1/sales-plans/{id}"), &w.head, &json!({})).await, 200).await["version"],
        3
    );
    let stale_delete = app
        .request(Method::DELETE, &format!("/api/v1/sales-plans/{id}"), Some(&w.head))
        .header("If-Match", "\"2\"")
        .send()
        .await
        .unwrap();
    Reply::read(stale_delete).await.problem(412);
    assert_eq!(app.get(&format!("/api/v1/sales-plans/{id}"), &w.ivan).await.body["version"], 3);

    // The feed carries the plan's life to whom may see it: Ivan sees his
    // plan's events, not the department's nor Maria's; a deletion comes as
    // `sales_plan.deleted` with the plan as it went.
    crate::feed::settle(&app).await;
    let his = events(&app, &w.ivan).await;
    assert!(his.iter().all(|e| e["data"]["user_id"] == w.ivan_id.as_str()), "{his:?}");
    assert_eq!(his.iter().filter(|e| e["type"] == "sales_plan.updated").count(), 2);
    let all = events(&app, &w.head).await;
    let gone = all.iter().find(|e| e["type"] == "sales_plan.deleted").unwrap();
    assert_eq!(
        (gone["entity"]["id"].as_str(), gone["data"]["amount"].as_str()),
        (Some(deleted.as_str()), Some("1.00"))
    );
    assert!(gone["data"]["deleted_at"].is_string());
    assert!(all.iter().any(|e| e["data"]["department_id"] == w.dept.as_str()));
    assert!(all.iter().all(|e| e["data"]["user_id"] != petr["id"]));
    assert!(events(&app, &boss_token).await.iter().all(|e| e["data"]["user_id"] == petr["id"]));
    // A syncing reader learns of the deletion from the list too.
    let synced =
        ok(app.get("/api/v1/sales-plans?updated_since=2026-01-01T00:00:00Z&limit=200", &w.head).await, 200)
            .await;
    assert!(synced["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == deleted.as_str() && p["deleted_at"].is_string()));
}

#[tokio::test]
async fn bad_plans_are_refused_with_every_reason_and_change_nothing() {
    let app = spawn().await;
    let (w, _) = history(&app).await;
    for (body, status, fields) in [
        (json!({"month": "2026-13", "user_id": w.ivan_id, "amount": "1"}), 400, vec!["month"]),
        (json!({"month": "1899-12", "user_id": w.ivan_id, "amount": "1"}), 400, vec!["month"]),
        (json!({"month": "2026-12", "amount": "1"}), 422, vec!["user_id"]),
        (
            json!({"month": "2026-12", "user_id": w.ivan_id, "department_id": w.dept, "amount": "1"}),
            422,
            vec!["department_id"],
        ),
        (json!({"month": "2026-12", "user_id": w.ivan_id, "amount": "0"}), 422, vec!["amount"]),
        (json!({"month": "2026-12", "user_id": w.ivan_id, "amount": "-5"}), 422, vec!["amount"]),
        (
            json!({"month": "2026-12", "user_id": w.ivan_id, "amount": "1.005", "currency": "rubles"}),
            422,
            vec!["amount", "currency"],
        ),
        (
            json!({"month": "2026-12", "user_id": w.ivan_id, "amount": "1", "note": "x".repeat(1001)}),
            400,
            vec!["note"],
        ),
        (
            json!({"month": "2026-12", "user_id": w.ivan_id, "amount": "1", "note": "bad\u{7}"}),
            400,
            vec!["note"],
        ),
        (json!({"month": "2026-12", "user_id": w.ivan_id, "amount": "1", "extra": 1}), 400, vec!["extra"]),
    ] {
        let r = app.post("/api/v1/sales-plans", Some(&w.head), &body).await;
        r.problem(status);
        assert_eq!(r.error_fields(), fields, "{body}: {}", r.text);
    }
    assert!(list(&app, &w.admin, "?limit=200&updated_since=2000-01-01T00:00:00Z").await.is_empty());
    let p = plan(&app, &w.head, json!({"month": "2026-12", "user_id": w.ivan_id, "amount": "10"})).await;
    let id = p["id"].as_str().unwrap();
    for (body, status, field) in [
        (json!({"amount": null}), 400, "amount"),
        (json!({"amount": "0"}), 422, "amount"),
        (json!({"month": "2027-01"}), 400, "month"),
    ] {
        let r = app.patch(&format!("/api/v1/sales-plans/{id}"), &w.head, &body).await;
        r.problem(status);
        assert_eq!(r.error_fields(), [field], "{body}: {}", r.text);
    }
    let after = ok(app.get(&format!("/api/v1/sales-plans/{id}"), &w.head).await, 200).await;
    assert_eq!((after["amount"].as_str(), after["version"].as_i64()), (Some("10.00"), Some(1)));
    for query in ["month_from=2026-1", "month_to=2026-12-01", "user_id=me"] {
        app.get(&format!("/api/v1/sales-plans?{query}"), &w.head).await.problem(400);
    }
    let r = app.get("/api/v1/sales-plans?month_from=2026-12&month_to=2026-11", &w.head).await;
    r.problem(422);
    assert_eq!(r.error_fields(), ["month_to"]);
}
