//! Quote to cash, the core: orders, payments and shipments move the interest
//! by themselves — payment → shipment when paid, shipment → won when shipped.

use serde_json::{json, Value};

use crate::helpers::*;

async fn ok(r: Reply, status: u16) -> Value {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    r.body
}

fn stage_tasks(tasks: &Value) -> Vec<(String, String)> {
    tasks["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["title"].as_str().unwrap().to_owned(), t["status"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn paying_and_shipping_every_order_moves_the_interest_to_shipment_then_won() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_user(&admin, "ivan@test.crm", "manager", None).await;
    app.create_user(&admin, "olga@test.crm", "accountant", None).await;
    let ivan = app.token("ivan@test.crm", PASSWORD).await;
    let olga = app.token("olga@test.crm", PASSWORD).await;
    let chair = ok(
        app.post(
            "/api/v1/products",
            Some(&admin),
            &json!({"sku": "CHAIR", "name": "Office chair", "price": "1000", "vat_rate": "22"}),
        )
        .await,
        201,
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
    let iid = interest["id"].as_str().unwrap().to_owned();
    let mv = |to: &str| json!({"to_stage": to});
    ok(app.post(&format!("/api/v1/interests/{iid}/transitions"), Some(&ivan), &mv("proposal")).await, 200)
        .await;

    let o1 = ok(
        app.post(
            &format!("/api/v1/interests/{iid}/orders"),
            Some(&ivan),
            &json!({"lines": [
        {"product_id": chair["id"], "quantity": "3"},
        {"description": "Delivery", "quantity": "1", "unit_price": "500", "vat_rate": "without"}]}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(o1["total"], "3500.00");
    assert_eq!(o1["vat"], "540.98", "22% inside 3000.00");
    assert!(o1["number"].as_str().unwrap().starts_with("ORD-"));
    let o2 = ok(app.post(&format!("/api/v1/interests/{iid}/orders"), Some(&ivan), &json!({"lines": [
        {"description": "Assembly", "quantity": "2", "unit_price": "250", "vat_rate": "22", "price_includes_vat": false}]})).await, 201).await;
    assert_eq!(o2["total"], "610.00");
    let (o1id, o2id) = (o1["id"].as_str().unwrap().to_owned(), o2["id"].as_str().unwrap().to_owned());

    // A draft order takes no payment.
    let early = app.post("/api/v1/payments", Some(&olga), &json!({"order_id": o1id, "amount": "100"})).await;
    assert_eq!(early.unmet_checks(), vec!["order_confirmed"]);
    for o in [&o1id, &o2id] {
        ok(app.post(&format!("/api/v1/orders/{o}/confirm"), Some(&ivan), &json!({})).await, 200).await;
    }
    ok(app.post(&format!("/api/v1/interests/{iid}/transitions"), Some(&ivan), &mv("payment")).await, 200)
        .await;

    // Manual won: every unmet check listed.
    let won = app.post(&format!("/api/v1/interests/{iid}/transitions"), Some(&ivan), &mv("won")).await;
    assert_eq!(won.unmet_checks(), vec!["orders_fully_paid", "orders_fully_shipped"]);

    // Managers do not register payments; accountants do.
    app.post("/api/v1/payments", Some(&ivan), &json!({"order_id": o1id, "amount": "1"})).await.problem(403);
    let part = ok(
        app.post(
            "/api/v1/payments",
            Some(&olga),
            &json!({"order_id": o1id, "amount": "1500", "external_ref": "PP-1"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(part["amount"], "1500.00");
    assert_eq!(
        app.get(&format!("/api/v1/interests/{iid}"), &ivan).await.body["stage"],
        "payment",
        "partly paid: no move"
    );
    let order = app.get(&format!("/api/v1/orders/{o1id}"), &olga).await.body;
    assert_eq!(order["paid_percent"], 43);

    ok(
        app.post(
            "/api/v1/payments",
            Some(&olga),
            &json!({"order_id": o1id, "amount": "2000", "external_ref": "PP-2"}),
        )
        .await,
        201,
    )
    .await;
    // The same bank document twice is one payment, answered the same.
    let again = ok(
        app.post(
            "/api/v1/payments",
            Some(&olga),
            &json!({"order_id": o1id, "amount": "2000", "external_ref": "PP-2"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(again["external_ref"], "PP-2");
    assert_eq!(
        app.get(&format!("/api/v1/orders/{o1id}/payments"), &olga).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        app.get(&format!("/api/v1/interests/{iid}"), &ivan).await.body["stage"],
        "payment",
        "one order still unpaid"
    );

    ok(
        app.post(
            "/api/v1/payments",
            Some(&olga),
            &json!({"order_id": o2id, "amount": "610", "external_ref": "PP-3"}),
        )
        .await,
        201,
    )
    .await;
    let moved = app.get(&format!("/api/v1/interests/{iid}"), &ivan).await.body;
    assert_eq!(moved["stage"], "shipment", "all orders paid: moved by itself");
    let tasks =
        stage_tasks(&app.get(&format!("/api/v1/tasks?interest_id={iid}&status=all"), &ivan).await.body);
    assert!(tasks.contains(&("What about the payment?".into(), "done".into())), "{tasks:?}");
    assert!(tasks.contains(&("Ship the goods".into(), "open".into())), "{tasks:?}");
    let notes = app.get("/api/v1/notifications", &ivan).await.body;
    assert!(notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["text"].as_str().unwrap().contains("ship the goods")));

    // Partial shipment: a delivery check, no move; too much is refused.
    let lines = app.get(&format!("/api/v1/orders/{o1id}"), &ivan).await.body["lines"].clone();
    let chairs_line = lines[0]["id"].as_str().unwrap().to_owned();
    let too_much = app
        .post(
            &format!("/api/v1/orders/{o1id}/shipments"),
            Some(&ivan),
            &json!({"kind": "sales_document", "lines": [{"order_line_id": chairs_line, "quantity": "4"}]}),
        )
        .await;
    assert_eq!(too_much.unmet_checks(), vec!["within_remaining"]);
    let s1 = ok(
        app.post(
            &format!("/api/v1/orders/{o1id}/shipments"),
            Some(&ivan),
            &json!({"kind": "sales_document", "lines": [{"order_line_id": chairs_line, "quantity": "2"}]}),
        )
        .await,
        201,
    )
    .await;
    assert!(s1["number"].as_str().unwrap().starts_with("SHP-"));
    let tasks = stage_tasks(&app.get(&format!("/api/v1/tasks?interest_id={iid}"), &ivan).await.body);
    assert!(tasks.contains(&("Check the delivery".into(), "open".into())), "{tasks:?}");
    assert_eq!(app.get(&format!("/api/v1/interests/{iid}"), &ivan).await.body["stage"], "shipment");
    let tracked = app
        .patch(
            &format!("/api/v1/shipments/{}", s1["id"].as_str().unwrap()),
            &ivan,
            &json!({"status": "in_transit", "route_sheet": "RS-77"}),
        )
        .await;
    assert_eq!(tracked.body["status"], "in_transit");

    // The rest ships: won by itself, the potential becomes the revenue.
    ok(app.post(&format!("/api/v1/orders/{o1id}/shipments"), Some(&ivan), &json!({"kind": "warehouse_issue", "lines": [
        {"order_line_id": chairs_line, "quantity": "1"}, {"order_line_id": lines[1]["id"], "quantity": "1"}]})).await, 201).await;
    let o2_line = app.get(&format!("/api/v1/orders/{o2id}"), &ivan).await.body["lines"][0]["id"].clone();
    ok(
        app.post(
            &format!("/api/v1/orders/{o2id}/shipments"),
            Some(&ivan),
            &json!({"kind": "sales_document", "lines": [
        {"order_line_id": o2_line, "quantity": "2"}]}),
        )
        .await,
        201,
    )
    .await;
    let won = app.get(&format!("/api/v1/interests/{iid}"), &ivan).await.body;
    assert_eq!(won["stage"], "won");
    assert_eq!(won["state"], "won");
    assert_eq!(won["potential_amount"], "4110.00");
    assert!(won["closed_at"].is_string());
    // Integrators sync orders and payments; managers see only their own.
    let synced = app.get("/api/v1/orders?status=confirmed", &olga).await.body;
    assert_eq!(synced["items"].as_array().unwrap().len(), 2);
    assert_eq!(synced["items"][0]["shipped_percent"], 100);
    assert_eq!(app.get("/api/v1/payments", &olga).await.body["items"].as_array().unwrap().len(), 3);
    app.get("/api/v1/payments", &ivan).await.problem(422);
    assert_eq!(
        app.get(&format!("/api/v1/payments?order_id={o2id}"), &ivan).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.create_user(&admin, "maria@test.crm", "manager", None).await;
    let maria = app.token("maria@test.crm", PASSWORD).await;
    assert_eq!(app.get("/api/v1/orders", &maria).await.body["items"], json!([]));
    app.get(&format!("/api/v1/orders/{o1id}"), &maria).await.problem(404);
    let s1_path = format!("/api/v1/shipments/{}", s1["id"].as_str().unwrap());
    let undone = ok(app.post(&format!("{s1_path}/cancel"), Some(&ivan), &json!({})).await, 200).await;
    assert_eq!(undone["status"], "cancelled");
    assert_eq!(
        app.get(&format!("/api/v1/orders/{o1id}"), &ivan).await.body["lines"][0]["shipped_quantity"],
        "1"
    );
    app.post(&format!("{s1_path}/cancel"), Some(&ivan), &json!({})).await.problem(409);
    let timeline = app.get(&format!("/api/v1/interests/{iid}/timeline?limit=200"), &ivan).await.body;
    let kinds: Vec<&str> =
        timeline["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for k in ["order_created", "order_confirmed", "payment_registered", "shipment_made", "stage_changed"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    assert_eq!(
        timeline["items"].as_array().unwrap().iter().find(|e| e["kind"] == "stage_changed").unwrap()
            ["details"]["to"],
        "won"
    );
}

#[tokio::test]
async fn a_cancelled_payment_leaves_the_stage_and_asks_the_manager_to_look() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_user(&admin, "ivan@test.crm", "manager", None).await;
    app.create_user(&admin, "olga@test.crm", "accountant", None).await;
    let ivan = app.token("ivan@test.crm", PASSWORD).await;
    let olga = app.token("olga@test.crm", PASSWORD).await;
    let interest =
        ok(app.post("/api/v1/interests", Some(&ivan), &json!({"title": "Desks"})).await, 201).await;
    let iid = interest["id"].as_str().unwrap();
    ok(
        app.post(
            &format!("/api/v1/interests/{iid}/transitions"),
            Some(&ivan),
            &json!({"to_stage": "payment"}),
        )
        .await,
        200,
    )
    .await;
    let order = ok(
        app.post(
            &format!("/api/v1/interests/{iid}/orders"),
            Some(&ivan),
            &json!({"lines": [
        {"description": "Desk", "quantity": "1", "unit_price": "100"}]}),
        )
        .await,
        201,
    )
    .await;
    let oid = order["id"].as_str().unwrap();
    ok(app.post(&format!("/api/v1/orders/{oid}/confirm"), Some(&ivan), &json!({})).await, 200).await;
    let pay = ok(
        app.post(
            "/api/v1/payments",
            Some(&olga),
            &json!({"order_id": oid, "amount": "150", "external_ref": "PP-9"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(pay["overpaid"], true);
    assert_eq!(app.get(&format!("/api/v1/interests/{iid}"), &ivan).await.body["stage"], "shipment");
    // A paid order cannot be cancelled.
    app.post(&format!("/api/v1/orders/{oid}/cancel"), Some(&ivan), &json!({})).await.problem(422);

    let cancelled = ok(
        app.post(
            &format!("/api/v1/payments/{}/cancel", pay["id"].as_str().unwrap()),
            Some(&olga),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(app.get(&format!("/api/v1/orders/{oid}"), &ivan).await.body["paid"], "0.00");
    assert_eq!(
        app.get(&format!("/api/v1/interests/{iid}"), &ivan).await.body["stage"],
        "shipment",
        "the stage stays"
    );
    let tasks = app.get(&format!("/api/v1/tasks?interest_id={iid}"), &ivan).await.body;
    assert!(tasks["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["title"].as_str().unwrap().contains("was cancelled")));
    let manual = app
        .post(&format!("/api/v1/interests/{iid}/transitions"), Some(&ivan), &json!({"to_stage": "won"}))
        .await;
    assert_eq!(manual.unmet_checks(), vec!["client_set", "orders_fully_paid", "orders_fully_shipped"]);
}

#[tokio::test]
async fn two_payments_completing_an_interest_at_once_on_two_instances_move_it_once() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_user(&admin, "ivan@test.crm", "manager", None).await;
    let ivan = app.token("ivan@test.crm", PASSWORD).await;
    let key = app
        .post("/api/v1/api-keys", Some(&admin), &json!({"name": "Bank", "scopes": ["payments:write"]}))
        .await
        .body;
    let key = key["secret"].as_str().unwrap().to_owned();

    // A second instance: its own pool on the same database.
    let (pool2, _) = crm_app::open_database(app.db.url(), 4, std::time::Duration::from_secs(10)).unwrap();
    let clock: std::sync::Arc<dyn crm_app::Clock> = app.clock.clone();
    let other = crm_app::App::new(pool2, clock, app.app.settings().clone());

    for round in 0..3 {
        let interest = ok(
            app.post("/api/v1/interests", Some(&ivan), &json!({"title": format!("Deal {round}")})).await,
            201,
        )
        .await;
        let iid = interest["id"].as_str().unwrap().to_owned();
        ok(
            app.post(
                &format!("/api/v1/interests/{iid}/transitions"),
                Some(&ivan),
                &json!({"to_stage": "payment"}),
            )
            .await,
            200,
        )
        .await;
        let mut orders = Vec::new();
        for _ in 0..2 {
            let o = ok(
                app.post(
                    &format!("/api/v1/interests/{iid}/orders"),
                    Some(&ivan),
                    &json!({"lines": [{"description": "Item", "quantity": "1", "unit_price": "100"}]}),
                )
                .await,
                201,
            )
            .await;
            let oid = o["id"].as_str().unwrap().to_owned();
            ok(app.post(&format!("/api/v1/orders/{oid}/confirm"), Some(&ivan), &json!({})).await, 200).await;
            orders.push(oid);
        }
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let handles: Vec<_> = [app.app.clone(), other.clone()]
            .into_iter()
            .zip(orders.clone())
            .enumerate()
            .map(|(i, (instance, order))| {
                let barrier = barrier.clone();
                let key = key.clone();
                std::thread::spawn(move || {
                    let principal = crm_app::identity::auth::authenticate_api_key(&instance, &key).unwrap();
                    barrier.wait();
                    crm_app::documents::payments::register_payment(
                        &instance,
                        &principal,
                        crm_app::documents::payments::PaymentInput {
                            order_id: order.parse().unwrap(),
                            amount: "100".into(),
                            paid_on: None,
                            external_ref: Some(format!("PP-{round}-{i}")),
                            payer: None,
                            comment: None,
                        },
                    )
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap().unwrap();
        }
        let after = app.get(&format!("/api/v1/interests/{iid}"), &ivan).await.body;
        assert_eq!(after["stage"], "shipment", "round {round}: both paid, so moved");
        let timeline = app.get(&format!("/api/v1/interests/{iid}/timeline?limit=200"), &ivan).await.body;
        let moves = timeline["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "stage_changed" && e["details"]["to"] == "shipment")
            .count();
        assert_eq!(moves, 1, "round {round}: one move");
        let tasks = app.get(&format!("/api/v1/tasks?interest_id={iid}"), &ivan).await.body;
        let ship =
            tasks["items"].as_array().unwrap().iter().filter(|t| t["title"] == "Ship the goods").count();
        assert_eq!(ship, 1, "round {round}: one set of tasks");
        for o in &orders {
            assert_eq!(app.get(&format!("/api/v1/orders/{o}"), &ivan).await.body["paid"], "100.00");
        }
    }
}

#[tokio::test]
async fn a_bank_statement_of_500_lines_imports_line_by_line_with_duplicates_and_bad_lines_answered_each() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_user(&admin, "ivan@test.crm", "manager", None).await;
    app.create_user(&admin, "olga@test.crm", "accountant", None).await;
    let ivan = app.token("ivan@test.crm", PASSWORD).await;
    let olga = app.token("olga@test.crm", PASSWORD).await;
    let client = ok(
        app.post("/api/v1/clients", Some(&ivan), &json!({"name": "ООО «Луч»", "kind": "company"})).await,
        201,
    )
    .await;
    let interest = ok(
        app.post("/api/v1/interests", Some(&ivan), &json!({"title": "Lamps", "client_id": client["id"]}))
            .await,
        201,
    )
    .await;
    let iid = interest["id"].as_str().unwrap().to_owned();
    let mv = |to: &str| json!({"to_stage": to});
    ok(app.post(&format!("/api/v1/interests/{iid}/transitions"), Some(&ivan), &mv("proposal")).await, 200)
        .await;
    let order = ok(
        app.post(
            &format!("/api/v1/interests/{iid}/orders"),
            Some(&ivan),
            &json!({"lines": [
        {"description": "Lamps", "quantity": "1", "unit_price": "496", "vat_rate": "without"}]}),
        )
        .await,
        201,
    )
    .await;
    let oid = order["id"].as_str().unwrap().to_owned();
    ok(app.post(&format!("/api/v1/orders/{oid}/confirm"), Some(&ivan), &json!({})).await, 200).await;
    ok(app.post(&format!("/api/v1/interests/{iid}/transitions"), Some(&ivan), &mv("payment")).await, 200)
        .await;
    let before = ok(
        app.post(
            "/api/v1/payments",
            Some(&olga),
            &json!({"order_id": oid, "amount": "1", "external_ref": "ST-PRE"}),
        )
        .await,
        201,
    )
    .await;

    let mut lines: Vec<Value> = (0..495)
        .map(|i| json!({"order_id": oid, "amount": "1.00", "external_ref": format!("ST-{i}")}))
        .collect();
    lines.push(json!({"order_id": oid, "amount": "1.00", "external_ref": "ST-3"}));
    lines.push(json!({"order_id": oid, "amount": "1", "external_ref": "ST-PRE"}));
    lines.push(json!({"order_id": oid, "amount": "-5", "external_ref": "ST-BAD"}));
    lines.push(json!({"order_id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e5f", "amount": "1", "external_ref": "ST-NOWHERE"}));
    lines.push(json!({"amount": "1", "external_ref": "ST-HALF"}));
    assert_eq!(lines.len(), 500);

    // Too many lines: refused whole, nothing written.
    let mut too_many = lines.clone();
    too_many.push(json!({"order_id": oid, "amount": "1", "external_ref": "ST-501"}));
    let refused = app.post("/api/v1/payments/batch", Some(&olga), &json!({"payments": too_many})).await;
    refused.problem(422);
    assert_eq!(refused.error_fields(), vec!["payments"]);
    assert_eq!(app.get(&format!("/api/v1/orders/{oid}"), &olga).await.body["paid"], "1.00");
    // Managers do not import statements.
    app.post("/api/v1/payments/batch", Some(&ivan), &json!({"payments": [lines[0]]})).await.problem(403);

    let done =
        ok(app.post("/api/v1/payments/batch", Some(&olga), &json!({"payments": lines})).await, 200).await;
    let results = done["results"].as_array().unwrap();
    assert_eq!(results.len(), 500);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["index"], i);
    }
    assert!(results[..495].iter().all(|r| r["status"] == "created"), "{:?}", &results[..3]);
    assert_eq!(results[0]["payment"]["external_ref"], "ST-0");
    assert_eq!(results[495]["status"], "duplicate");
    assert_eq!(results[495]["payment"]["id"], results[3]["payment"]["id"]);
    assert_eq!(results[496]["status"], "duplicate");
    assert_eq!(results[496]["payment"]["id"], before["id"]);
    assert_eq!(results[497]["status"], "refused");
    assert_eq!(results[497]["problem"]["status"], 422);
    assert_eq!(results[497]["problem"]["errors"][0]["field"], "amount");
    assert_eq!(results[498]["problem"]["status"], 404);
    assert_eq!(results[499]["problem"]["status"], 400);
    assert!(results[499]["problem"]["detail"].is_string());
    for r in &results[497..] {
        assert_eq!(r["payment"], Value::Null);
    }

    // 1 + 495 paid the order in full: the interest moved on by itself, once.
    let paid = app.get(&format!("/api/v1/orders/{oid}"), &olga).await.body;
    assert_eq!(paid["paid"], "496.00");
    assert_eq!(app.get(&format!("/api/v1/interests/{iid}"), &ivan).await.body["stage"], "shipment");
    let all = app.get(&format!("/api/v1/orders/{oid}/payments?limit=200"), &olga).await.body;
    assert_eq!(all["items"].as_array().unwrap().len(), 200);
    // The same statement again: every good line a duplicate, nothing new.
    let again =
        ok(app.post("/api/v1/payments/batch", Some(&olga), &json!({"payments": lines})).await, 200).await;
    assert!(again["results"].as_array().unwrap()[..497].iter().all(|r| r["status"] == "duplicate"));
    assert_eq!(app.get(&format!("/api/v1/orders/{oid}"), &olga).await.body["paid"], "496.00");
}
