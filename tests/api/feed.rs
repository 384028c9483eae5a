//! The change feed over HTTP: a typical sale read back as a manager, an
//! accountant's API key and the head — each sees exactly what they may, in
//! commit order, once, with `data` as GET returns it; a hand-over leaves the
//! first manager a tombstone; retention answers 410 past its horizon.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use crate::helpers::*;
use crate::sales::org;

async fn ok(r: Reply, status: u16) -> Value {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    r.body
}

#[derive(diesel::QueryableByName)]
struct Settled {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    settled: bool,
}

/// Waits until every transaction that wrote this database's events is older
/// than the oldest one running in the cluster. The feed hands out an event
/// only then (PostgreSQL's xmin is cluster-wide, and the other tests' short
/// transactions hold it back for moments); a condition awaited, not a time.
pub(crate) async fn settle(app: &TestApp) {
    if !app.db.is_postgres() {
        return;
    }
    for _ in 0..10_000 {
        let mut conn = app.app.conn().unwrap();
        let done: Vec<Settled> = diesel::RunQueryDsl::load(
            diesel::sql_query(
                "SELECT COALESCE(MAX(tx_id), 0) < pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS settled \
                 FROM outbox_events",
            ),
            &mut *conn,
        )
        .unwrap();
        if done[0].settled {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("a transaction in the cluster stayed open while the feed was read");
}

/// Follows the feed from `after` to its end, `limit` at a time; returns the
/// events and the cursor to read on from.
async fn follow(app: &TestApp, token: &str, after: Option<&str>, limit: u32) -> (Vec<Value>, String) {
    settle(app).await;
    let mut cursor = after.map(str::to_owned);
    let mut out = Vec::new();
    loop {
        let mut path = format!("/api/v1/events?limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&after={c}"));
        }
        let page = ok(app.get(&path, token).await, 200).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit as usize);
        out.extend(items.iter().cloned());
        cursor = Some(page["next_cursor"].as_str().unwrap().to_owned());
        if !page["has_more"].as_bool().unwrap() {
            return (out, cursor.unwrap());
        }
    }
}

fn kinds_of(events: &[Value], entity: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["entity"]["id"] == entity)
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

/// Each entity's last event carries what GET on it returns now.
async fn latest_data_matches_get(app: &TestApp, token: &str, events: &[Value]) -> usize {
    let mut last: HashMap<(String, String), &Value> = HashMap::new();
    for e in events {
        let key = (
            e["entity"]["type"].as_str().unwrap().to_owned(),
            e["entity"]["id"].as_str().unwrap().to_owned(),
        );
        last.insert(key, e);
    }
    let mut compared = 0;
    // Tasks have no GET of their own: the list shows them.
    let tasks = app.get("/api/v1/tasks?status=all&limit=200", token).await;
    for ((kind, id), e) in last.iter().filter(|((k, _), _)| k == "task") {
        if tasks.status == 200 && !e["type"].as_str().unwrap().ends_with(".removed") {
            let listed = tasks.body["items"].as_array().unwrap().iter().find(|t| t["id"] == id.as_str());
            assert_eq!(Some(&e["data"]), listed, "{} of {kind} {id} against the list", e["type"]);
            compared += 1;
        }
    }
    for ((kind, id), e) in last {
        let path = match kind.as_str() {
            "interest" => format!("/api/v1/interests/{id}"),
            "client" => format!("/api/v1/clients/{id}"),
            "order" => format!("/api/v1/orders/{id}"),
            "payment" => format!("/api/v1/payments/{id}"),
            "shipment" => format!("/api/v1/shipments/{id}"),
            "product" => format!("/api/v1/products/{id}"),
            _ => continue,
        };
        if e["type"].as_str().unwrap().ends_with(".removed") {
            continue;
        }
        let got = app.get(&path, token).await;
        assert_eq!(got.status, 200, "{path}: {}", got.text);
        assert_eq!(e["data"], got.body, "{} of {kind} {id} against GET", e["type"]);
        assert_eq!(e["entity"]["version"], got.body["version"]);
        compared += 1;
    }
    compared
}

#[tokio::test]
async fn each_reader_follows_exactly_the_changes_they_may_see_in_order_with_data_as_get_returns_it() {
    let app = spawn_app().await;
    let o = org(&app).await;
    app.create_user(&o.admin, "olga@test.crm", "accountant", None).await;
    let olga = app.token("olga@test.crm", PASSWORD).await;
    let key = ok(
        app.post(
            "/api/v1/api-keys",
            Some(&o.admin),
            &json!({"name": "Accounting", "scopes": ["orders:read", "payments:read"]}),
        )
        .await,
        201,
    )
    .await;
    let key = key["secret"].as_str().unwrap().to_owned();
    let chair = ok(
        app.post(
            "/api/v1/products",
            Some(&o.admin),
            &json!({"sku": "CHAIR", "name": "Office chair", "price": "1000", "vat_rate": "22"}),
        )
        .await,
        201,
    )
    .await;

    // Ivan's typical sale, from client to won.
    let client = ok(
        app.post("/api/v1/clients", Some(&o.manager), &json!({"name": "ООО «Ромашка»", "kind": "company"}))
            .await,
        201,
    )
    .await;
    let cid = client["id"].as_str().unwrap().to_owned();
    let interest = ok(
        app.post("/api/v1/interests", Some(&o.manager), &json!({"title": "Chairs", "client_id": cid})).await,
        201,
    )
    .await;
    let iid = interest["id"].as_str().unwrap().to_owned();
    let mv = |to: &str| json!({"to_stage": to});
    ok(
        app.post(&format!("/api/v1/interests/{iid}/transitions"), Some(&o.manager), &mv("proposal")).await,
        200,
    )
    .await;
    let order = ok(
        app.post(
            &format!("/api/v1/interests/{iid}/orders"),
            Some(&o.manager),
            &json!({"lines": [{"product_id": chair["id"], "quantity": "2"}]}),
        )
        .await,
        201,
    )
    .await;
    let oid = order["id"].as_str().unwrap().to_owned();
    ok(app.post(&format!("/api/v1/orders/{oid}/confirm"), Some(&o.manager), &json!({})).await, 200).await;
    ok(
        app.post(&format!("/api/v1/interests/{iid}/transitions"), Some(&o.manager), &mv("payment")).await,
        200,
    )
    .await;
    let payment = ok(
        app.post(
            "/api/v1/payments",
            Some(&olga),
            &json!({"order_id": oid, "amount": "2000", "external_ref": "PP-1"}),
        )
        .await,
        201,
    )
    .await;
    let pid = payment["id"].as_str().unwrap().to_owned();
    let line = app.get(&format!("/api/v1/orders/{oid}"), &o.manager).await.body["lines"][0]["id"].clone();
    let shipment = ok(
        app.post(
            &format!("/api/v1/orders/{oid}/shipments"),
            Some(&o.manager),
            &json!({"kind": "sales_document", "lines": [{"order_line_id": line, "quantity": "2"}]}),
        )
        .await,
        201,
    )
    .await;
    let sid = shipment["id"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&format!("/api/v1/interests/{iid}"), &o.manager).await.body["state"], "won");

    // A second deal of Ivan's, still open (to hand over later).
    let open = ok(
        app.post("/api/v1/interests", Some(&o.manager), &json!({"title": "Tables", "client_id": cid})).await,
        201,
    )
    .await;
    let open_id = open["id"].as_str().unwrap().to_owned();

    // Maria's own deal, which Ivan may not see.
    let theirs = ok(
        app.post("/api/v1/clients", Some(&o.other), &json!({"name": "ИП Петров", "kind": "person"})).await,
        201,
    )
    .await;
    let their_interest = ok(
        app.post("/api/v1/interests", Some(&o.other), &json!({"title": "Desks", "client_id": theirs["id"]}))
            .await,
        201,
    )
    .await;
    let tid = their_interest["id"].as_str().unwrap().to_owned();

    // Ivan: his deal, whole and in order, and nothing of Maria's.
    let (ivan, ivan_cursor) = follow(&app, &o.manager, None, 7).await;
    let ids: HashSet<&str> = ivan.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), ivan.len(), "every event once");
    assert_eq!(kinds_of(&ivan, &cid)[0], "client.created");
    let on_interest = kinds_of(&ivan, &iid);
    assert_eq!(on_interest[0], "interest.created");
    assert!(on_interest.iter().filter(|k| *k == "interest.stage_changed").count() >= 3, "{on_interest:?}");
    assert_eq!(kinds_of(&ivan, &oid)[..2], ["order.created", "order.confirmed"]);
    assert_eq!(kinds_of(&ivan, &pid), ["payment.registered"]);
    assert_eq!(kinds_of(&ivan, &sid), ["shipment.created"]);
    assert!(kinds_of(&ivan, &tid).is_empty(), "Maria's interest is not Ivan's to see");
    assert!(kinds_of(&ivan, theirs["id"].as_str().unwrap()).is_empty());
    let versions: Vec<i64> = ivan
        .iter()
        .filter(|e| e["entity"]["id"] == iid.as_str())
        .map(|e| e["entity"]["version"].as_i64().unwrap())
        .collect();
    assert!(versions.windows(2).all(|w| w[0] <= w[1]), "{versions:?}");
    let moved = ivan.iter().find(|e| e["type"] == "interest.stage_changed").unwrap();
    assert_eq!(moved["changes"]["stage"]["to"], "proposal", "{moved}");
    assert_eq!(moved["actor"], json!({"kind": "user", "id": o.manager_id}));
    assert!(latest_data_matches_get(&app, &o.manager, &ivan).await >= 6);
    // The same events whatever the page size.
    let (again, _) = follow(&app, &o.manager, None, 500).await;
    assert_eq!(again, ivan);

    // The accountant's key: orders and payments (and what orders:read reads), nothing of the sale's people.
    let (keyed, _) = follow(&app, &key, None, 50).await;
    let types: HashSet<&str> = keyed.iter().map(|e| e["entity"]["type"].as_str().unwrap()).collect();
    assert!(types.contains("order") && types.contains("payment"), "{types:?}");
    for t in &types {
        assert!(
            ["order", "payment", "product", "quote", "organization"].contains(t),
            "the key read a {t} event"
        );
    }
    assert_eq!(kinds_of(&keyed, &pid), ["payment.registered"]);
    assert_eq!(latest_data_matches_get(&app, &key, &keyed).await, 3, "the order, its payment, the product");
    assert!(!olga.is_empty());

    // The head sees both managers' deals.
    let (head, _) = follow(&app, &o.head, None, 50).await;
    assert_eq!(kinds_of(&head, &tid), ["interest.created"]);
    assert_eq!(kinds_of(&head, &iid), on_interest);

    // The head hands Ivan's open deal to Maria: he gets a tombstone, she the interest.
    let iid = open_id;
    let handed =
        app.patch(&format!("/api/v1/interests/{iid}"), &o.head, &json!({"responsible_id": o.other_id})).await;
    assert_eq!(handed.status, 200, "{}", handed.text);
    let (after, _) = follow(&app, &o.manager, Some(&ivan_cursor), 10).await;
    let tomb: Vec<&Value> = after.iter().filter(|e| e["entity"]["id"] == iid.as_str()).collect();
    assert_eq!(tomb.len(), 1, "{after:?}");
    assert_eq!(tomb[0]["type"], "interest.removed");
    assert_eq!(tomb[0]["data"], Value::Null);
    assert_eq!(tomb[0]["changes"], Value::Null);
    let (maria, _) = follow(&app, &o.other, None, 50).await;
    let hers = maria.iter().rev().find(|e| e["entity"]["id"] == iid.as_str()).unwrap();
    assert_eq!(hers["type"], "interest.updated");
    assert_eq!(hers["changes"]["responsible_id"], json!({"from": o.manager_id, "to": o.other_id}));
    assert_eq!(hers["data"], app.get(&format!("/api/v1/interests/{iid}"), &o.other).await.body);
}

#[tokio::test]
async fn a_bad_cursor_limit_or_type_is_refused_by_name_and_every_role_and_key_may_read() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for (query, field) in [
        ("after=bm90LWEtY3Vyc29y", "after"),
        ("after=%25%25", "after"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("types=order.*,ordr.confirmed", "types"),
        ("types=nothing.*", "types"),
    ] {
        let r = app.get(&format!("/api/v1/events?{query}"), &admin).await;
        r.problem(400);
        assert_eq!(r.error_fields(), vec![field.to_owned()], "{query}: {}", r.text);
    }
    let r = app.get("/api/v1/events?types=order.*,ordr.confirmed", &admin).await;
    assert!(r.text.contains("ordr.confirmed"), "{}", r.text);
    // A list cursor is not a feed cursor.
    app.get("/api/v1/events?after=djE6MDE5M2IxYzItN2Q3ZS03YzFhLTlmNGUtMGExYjJjM2Q0ZTVm", &admin)
        .await
        .problem(400);

    // Types filter: exact types and prefixes, the rest left out.
    app.post("/api/v1/loss-reasons", Some(&admin), &json!({"name": "Too expensive"})).await;
    app.post(
        "/api/v1/products",
        Some(&admin),
        &json!({"sku": "A", "name": "A", "price": "1", "vat_rate": "22"}),
    )
    .await;
    settle(&app).await;
    let only = app.get("/api/v1/events?types=product.*", &admin).await;
    assert_eq!(only.status, 200, "{}", only.text);
    let types: Vec<&str> =
        only.body["items"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["product.created"]);
    let both = app.get("/api/v1/events?types=loss_reason.created,%20product.created", &admin).await.body;
    assert_eq!(both["items"].as_array().unwrap().len(), 2);
    assert_eq!(both["items"][0]["data"]["name"], "Too expensive");

    // Every role may follow the feed; a key of any scope too, seeing only what its scopes read.
    app.create_user(&admin, "pavel@test.crm", "procurement", None).await;
    let pavel = app.token("pavel@test.crm", PASSWORD).await;
    assert_eq!(app.get("/api/v1/events", &pavel).await.status, 200);
    let key = app
        .post("/api/v1/api-keys", Some(&admin), &json!({"name": "HR", "scopes": ["users:read"]}))
        .await
        .body;
    let page = app.get("/api/v1/events", key["secret"].as_str().unwrap()).await;
    assert_eq!(page.status, 200, "{}", page.text);
    for e in page.body["items"].as_array().unwrap() {
        assert!(["user", "organization"].contains(&e["entity"]["type"].as_str().unwrap()), "{e}");
    }
    assert!(page.body["items"].as_array().unwrap().iter().any(|e| e["type"] == "user.created"));
}

#[tokio::test]
async fn a_cursor_from_before_the_retention_answers_410_and_reading_afresh_goes_on() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.post("/api/v1/loss-reasons", Some(&admin), &json!({"name": "Old"})).await;
    settle(&app).await;
    let first = app.get("/api/v1/events?limit=1", &admin).await.body;
    let old_cursor = first["next_cursor"].as_str().unwrap().to_owned();
    assert!(first["has_more"].as_bool().unwrap());
    let (_, end) = follow(&app, &admin, None, 100).await;

    // 31 days on, the timed job prunes what the default 30 days do not keep.
    app.advance(chrono::Duration::days(31));
    let admin = app.admin_token().await;
    app.post("/api/v1/loss-reasons", Some(&admin), &json!({"name": "New"})).await;
    assert!(crm_app::feed::retention::prune(&app.app).unwrap() >= 2);
    let gone = app.get(&format!("/api/v1/events?after={old_cursor}"), &admin).await;
    assert_eq!(gone.problem(410)["type"], "urn:crm:problem:cursor_expired");
    assert!(gone.text.contains("updated_since"), "{}", gone.text);

    // A reader who had read everything goes on; a new one starts at what is kept.
    let (next, _) = follow(&app, &admin, Some(&end), 100).await;
    assert_eq!(next.iter().map(|e| e["data"]["name"].clone()).collect::<Vec<_>>(), [json!("New")]);
    let (fresh, _) = follow(&app, &admin, None, 100).await;
    assert_eq!(fresh.len(), 1);
    assert_eq!(fresh[0]["type"], "loss_reason.created");
    assert_eq!(crm_app::feed::retention::prune(&app.app).unwrap(), 0, "nothing more to prune");
}

#[tokio::test]
async fn over_http_with_two_instances_the_feed_waits_for_a_transaction_that_commits_late() {
    use diesel::RunQueryDsl;
    let app = spawn_app().await;
    if !app.db.is_postgres() {
        eprintln!("needs PostgreSQL (SQLite has one writer): set CRM_TEST_DATABASE_URL (.ci/run does)");
        return;
    }
    let admin = app.admin_token().await;
    settle(&app).await;
    let start = ok(app.get("/api/v1/events?limit=500", &admin).await, 200).await["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();

    // Another instance (its own pool) opens a transaction and writes an event first…
    let (pool2, _) = crm_app::open_database(app.db.url(), 2, std::time::Duration::from_secs(10)).unwrap();
    let mut slow = pool2.get().unwrap();
    diesel::sql_query("BEGIN").execute(&mut *slow).unwrap();
    let late = crm_store::rows::OutboxEventRow {
        id: crm_domain::new_id().into(),
        kind: "loss_reason.created".to_owned(),
        entity_type: "loss_reason".to_owned(),
        entity_id: crm_domain::new_id().into(),
        payload: "{}".to_owned(),
        occurred_at: start_time().naive_utc(),
        actor_kind: "system".to_owned(),
        actor_id: None,
    };
    crm_store::queries::outbox::append(&mut slow, &late).unwrap();
    // …this one writes and commits after it, and a reader reads.
    ok(app.post("/api/v1/loss-reasons", Some(&admin), &json!({"name": "Fast"})).await, 201).await;
    let early = ok(app.get(&format!("/api/v1/events?after={start}"), &admin).await, 200).await;
    assert_eq!(early["items"], json!([]), "the feed ran ahead of a running transaction");
    let cursor = early["next_cursor"].as_str().unwrap().to_owned();
    diesel::sql_query("COMMIT").execute(&mut *slow).unwrap();

    let (after, _) = follow(&app, &admin, Some(&cursor), 10).await;
    let ids: Vec<&str> = after.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2, "{after:?}");
    assert_eq!(ids[0], late.id.0.to_string(), "the late committer's event first: it took the older place");
    assert_eq!(after[1]["data"]["name"], "Fast");
}

/// Reads a list from `updated_since`, `limit` at a time, following its cursor.
async fn sync_list(app: &TestApp, token: &str, path: &str, since: &str, limit: u32) -> Vec<String> {
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{path}?updated_since={since}&limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page = ok(app.get(&url, token).await, 200).await;
        names
            .extend(page["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return names,
        }
    }
}

#[tokio::test]
async fn a_list_read_from_updated_since_goes_in_update_order_from_the_boundary_and_misses_no_change() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let start = app.clock_now();
    let mut ids = Vec::new();
    for name in ["A", "B", "C", "D"] {
        app.advance(chrono::Duration::seconds(1));
        let c = ok(
            app.post(
                "/api/v1/clients",
                Some(&admin),
                &json!({"name": format!("ООО «{name}»"), "kind": "company"}),
            )
            .await,
            201,
        )
        .await;
        ids.push(c["id"].as_str().unwrap().to_owned());
    }
    // A changes last: a sync read gives it last, whatever its id.
    app.advance(chrono::Duration::seconds(1));
    let renamed =
        app.patch(&format!("/api/v1/clients/{}", ids[0]), &admin, &json!({"name": "ООО «A2»"})).await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let at = |s: chrono::DateTime<chrono::Utc>| {
        s.to_rfc3339_opts(chrono::SecondsFormat::Micros, true).replace('+', "%2B")
    };
    assert_eq!(
        sync_list(&app, &admin, "/api/v1/clients", &at(start), 1).await,
        ["ООО «B»", "ООО «C»", "ООО «D»", "ООО «A2»"]
    );
    // Inclusive at the boundary: since D's own time gives D.
    let d_at = start + chrono::Duration::seconds(4);
    assert_eq!(sync_list(&app, &admin, "/api/v1/clients", &at(d_at), 50).await, ["ООО «D»", "ООО «A2»"]);

    // A change made while a client pages is not lost: it comes again later in the read.
    let first =
        ok(app.get(&format!("/api/v1/clients?updated_since={}&limit=2", at(start)), &admin).await, 200).await;
    let names: Vec<&str> =
        first["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ООО «B»", "ООО «C»"]);
    app.advance(chrono::Duration::seconds(1));
    app.patch(&format!("/api/v1/clients/{}", ids[1]), &admin, &json!({"name": "ООО «B2»"})).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = ok(
        app.get(&format!("/api/v1/clients?updated_since={}&limit=50&cursor={cursor}", at(start)), &admin)
            .await,
        200,
    )
    .await;
    let names: Vec<&str> =
        rest["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ООО «D»", "ООО «A2»", "ООО «B2»"]);

    // Without updated_since a list still pages by id; products, orders and the rest sync the same way.
    let by_id = ok(app.get("/api/v1/clients?limit=50", &admin).await, 200).await;
    assert_eq!(by_id["items"][0]["id"], ids[0].as_str());
    for (i, sku) in ["P1", "P2", "P3"].iter().enumerate() {
        app.advance(chrono::Duration::seconds(1));
        ok(
            app.post(
                "/api/v1/products",
                Some(&admin),
                &json!({"sku": sku, "name": format!("Product {i}"), "price": "1", "vat_rate": "22"}),
            )
            .await,
            201,
        )
        .await;
    }
    assert_eq!(
        sync_list(&app, &admin, "/api/v1/products", &at(start), 2).await,
        ["Product 0", "Product 1", "Product 2"]
    );
    // A cursor that is neither kind is refused.
    let bad = app.get("/api/v1/clients?updated_since=2026-01-01T00:00:00Z&cursor=czE6eDp5", &admin).await;
    assert_eq!(bad.error_fields(), vec!["cursor"]);
}
