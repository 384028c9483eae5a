//! Webhooks over HTTP: a receiver in the test (plain http on 127.0.0.1,
//! allowed by `CRM_WEBHOOKS_ALLOW_PRIVATE`) gets every event of a typical
//! sale once per `webhook-id`, signed (checked by an HMAC written here from
//! RFC 2104, not by our code), in order per entity, through failures, on two
//! instances; a receiver down past the schedule leaves dead deliveries and a
//! disabled endpoint that `replay` brings up to date; private targets are
//! refused without the override.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{web, HttpRequest, HttpResponse, HttpServer};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::feed::settle;
use crate::helpers::*;

async fn ok(r: Reply, status: u16) -> Value {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    r.body
}

/// HMAC-SHA256 as RFC 2104 defines it.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).chain(message.iter().copied()).collect();
    let inner = Sha256::digest(&inner);
    let outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).chain(inner.iter().copied()).collect();
    Sha256::digest(&outer).to_vec()
}

/// Whether a request carries a valid Standard Webhooks signature for `secret`.
fn verified(secret: &str, id: &str, timestamp: &str, body: &str, signature: &str) -> bool {
    let key =
        base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let expected = base64::engine::general_purpose::STANDARD
        .encode(hmac_sha256(&key, format!("{id}.{timestamp}.{body}").as_bytes()));
    signature.split(' ').any(|s| s == format!("v1,{expected}"))
}

#[derive(Default)]
struct Inbox {
    /// Requests still to answer 500 before answering 200.
    fail_next: usize,
    /// Answer 503 to everything.
    down: bool,
    /// Answer 410 Gone to everything.
    gone: bool,
    /// Every request: (webhook-id, timestamp, signature, body, answered).
    seen: Vec<(String, String, String, String, u16)>,
}

pub(crate) struct Receiver {
    pub(crate) url: String,
    inbox: Arc<Mutex<Inbox>>,
    _server: actix_web::dev::ServerHandle,
}

impl Receiver {
    pub(crate) async fn start() -> Self {
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let shared = web::Data::new(inbox.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            actix_web::App::new().app_data(shared.clone()).route("/hook", web::post().to(take))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver { url: format!("http://127.0.0.1:{port}/hook"), inbox, _server: handle }
    }

    /// The bodies accepted (2xx), by webhook-id, in arrival order.
    fn accepted(&self) -> Vec<(String, Value)> {
        let inbox = self.inbox.lock().unwrap();
        inbox
            .seen
            .iter()
            .filter(|s| s.4 == 200)
            .map(|s| (s.0.clone(), serde_json::from_str(&s.3).unwrap()))
            .collect()
    }
}

async fn take(req: HttpRequest, body: String, inbox: web::Data<Arc<Mutex<Inbox>>>) -> HttpResponse {
    let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let mut inbox = inbox.lock().unwrap();
    let status = if inbox.gone {
        410
    } else if inbox.down {
        503
    } else if inbox.fail_next > 0 {
        inbox.fail_next -= 1;
        500
    } else {
        200
    };
    inbox.seen.push((
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
        body,
        status,
    ));
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .body(format!("answered {status}"))
}

/// Runs the dispatcher until nothing more is due now.
pub(crate) async fn dispatch(app: &TestApp) -> usize {
    let mut sent = 0;
    loop {
        settle(app).await;
        let n = crm_api::webhooks::run_once(&app.app).await.unwrap();
        sent += n;
        if n == 0 {
            return sent;
        }
    }
}

async fn feed_as_admin(app: &TestApp, admin: &str) -> Vec<Value> {
    settle(app).await;
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let page = ok(app.get(&format!("/api/v1/events?limit=500&after={after}"), admin).await, 200).await;
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        after = page["next_cursor"].as_str().unwrap().to_owned();
        if !page["has_more"].as_bool().unwrap() {
            return out;
        }
    }
}

/// A short typical sale: client, interest, order confirmed, paid, shipped.
async fn typical_sale(app: &TestApp, admin: &str) {
    app.create_user(admin, "ivan@test.crm", "manager", None).await;
    app.create_user(admin, "olga@test.crm", "accountant", None).await;
    let ivan = app.token("ivan@test.crm", PASSWORD).await;
    let olga = app.token("olga@test.crm", PASSWORD).await;
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
    for stage in ["proposal"] {
        ok(
            app.post(
                &format!("/api/v1/interests/{iid}/transitions"),
                Some(&ivan),
                &json!({"to_stage": stage}),
            )
            .await,
            200,
        )
        .await;
    }
    let order = ok(
        app.post(
            &format!("/api/v1/interests/{iid}/orders"),
            Some(&ivan),
            &json!({"lines": [
        {"description": "Chair", "quantity": "2", "unit_price": "1000", "vat_rate": "without"}]}),
        )
        .await,
        201,
    )
    .await;
    let oid = order["id"].as_str().unwrap().to_owned();
    ok(app.post(&format!("/api/v1/orders/{oid}/confirm"), Some(&ivan), &json!({})).await, 200).await;
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
    ok(
        app.post(
            "/api/v1/payments",
            Some(&olga),
            &json!({"order_id": oid, "amount": "2000", "external_ref": "PP-1"}),
        )
        .await,
        201,
    )
    .await;
    let line = app.get(&format!("/api/v1/orders/{oid}"), &ivan).await.body["lines"][0]["id"].clone();
    ok(
        app.post(
            &format!("/api/v1/orders/{oid}/shipments"),
            Some(&ivan),
            &json!({"kind": "sales_document",
        "lines": [{"order_line_id": line, "quantity": "2"}]}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(app.get(&format!("/api/v1/interests/{iid}"), &ivan).await.body["state"], "won");
}

/// Every event of the feed reached the receiver exactly once (by webhook-id),
/// as the feed gives it, signed with `secret`, and in feed order per entity.
fn every_event_once_in_order(receiver: &Receiver, secret: &str, feed: &[Value]) {
    let accepted = receiver.accepted();
    let mut count: HashMap<&str, usize> = HashMap::new();
    for (id, _) in &accepted {
        *count.entry(id.as_str()).or_default() += 1;
    }
    assert_eq!(accepted.len(), feed.len(), "one accepted delivery per event");
    for e in feed {
        let id = e["id"].as_str().unwrap();
        assert_eq!(count.get(id), Some(&1), "{} {id}", e["type"]);
        let (_, body) = accepted.iter().find(|(i, _)| i == id).unwrap();
        assert_eq!(body, e, "the body is the event as the feed gives it");
    }
    for (id, ts, sig, body, _) in &receiver.inbox.lock().unwrap().seen {
        assert!(verified(secret, id, ts, body, sig), "signature of {id}");
        assert!(
            ts.parse::<i64>().unwrap() >= start_time().timestamp(),
            "webhook-timestamp is the server clock in seconds"
        );
    }
    let mut by_entity: HashMap<String, Vec<String>> = HashMap::new();
    for (id, body) in &accepted {
        by_entity.entry(body["entity"]["id"].as_str().unwrap().to_owned()).or_default().push(id.clone());
    }
    for (entity, got) in by_entity {
        let want: Vec<String> = feed
            .iter()
            .filter(|e| e["entity"]["id"] == entity.as_str())
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(got, want, "events of {entity} in feed order");
    }
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_every_event_of_a_typical_sale_once_signed_and_in_order() {
    let app = spawn_app_with(&[("CRM_WEBHOOKS_ALLOW_PRIVATE", "true")]).await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    // A webhook starts where the feed can be read to now; let the start-up events get there first.
    settle(&app).await;
    receiver.inbox.lock().unwrap().fail_next = 2;
    let hook = ok(
        app.post("/api/v1/webhooks", Some(&admin), &json!({"url": receiver.url, "description": "ERP"})).await,
        201,
    )
    .await;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let hid = hook["id"].as_str().unwrap().to_owned();
    let start = feed_as_admin(&app, &admin).await.len();
    typical_sale(&app, &admin).await;

    // Two attempts fail; the next round, 5 s on, delivers; then all the rest.
    dispatch(&app).await;
    for _ in 0..6 {
        app.advance(chrono::Duration::minutes(5));
        dispatch(&app).await;
    }
    let admin = app.admin_token().await;
    let feed: Vec<Value> = feed_as_admin(&app, &admin).await.into_iter().skip(start).collect();
    assert!(feed.len() >= 12, "{}", feed.len());
    every_event_once_in_order(&receiver, &secret, &feed);
    let failed: Vec<_> =
        receiver.inbox.lock().unwrap().seen.iter().filter(|s| s.4 == 500).map(|s| s.0.clone()).collect();
    assert_eq!(failed.len(), 2);

    // The deliveries tell it: a failed delivery lists each attempt.
    let list = ok(app.get(&format!("/api/v1/webhooks/{hid}/deliveries?limit=200"), &admin).await, 200).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), feed.len());
    assert!(items.iter().all(|d| d["status"] == "succeeded"));
    let retried = items.iter().find(|d| d["event_id"] == failed[0].as_str()).unwrap();
    let codes: Vec<&Value> =
        retried["attempts"].as_array().unwrap().iter().map(|a| &a["status_code"]).collect();
    assert_eq!(codes.last().unwrap(), &&json!(200));
    assert!(codes.contains(&&json!(500)));
    assert_eq!(retried["attempts"][0]["response_excerpt"], "answered 500");

    // Redeliver one: it goes again, same webhook-id.
    let one = items[0]["id"].as_str().unwrap();
    let again = ok(
        app.post(&format!("/api/v1/webhook-deliveries/{one}/redeliver"), Some(&admin), &json!({})).await,
        200,
    )
    .await;
    assert_eq!(again["status"], "pending");
    assert_eq!(dispatch(&app).await, 1);
    let seen = receiver.inbox.lock().unwrap().seen.clone();
    assert_eq!(seen.last().unwrap().0, items[0]["event_id"].as_str().unwrap());

    // A test send answers how the receiver took it, and is not a delivery.
    let test =
        ok(app.post(&format!("/api/v1/webhooks/{hid}/test"), Some(&admin), &json!({})).await, 200).await;
    assert_eq!(test["status_code"], 200, "{test}");
    let last = receiver.inbox.lock().unwrap().seen.last().unwrap().clone();
    assert_eq!(serde_json::from_str::<Value>(&last.3).unwrap()["type"], "webhook.test");
    assert!(verified(&secret, &last.0, &last.1, &last.3, &last.2));

    // A rotated secret signs from then on; the old one no longer verifies.
    let rotated =
        ok(app.post(&format!("/api/v1/webhooks/{hid}/rotate-secret"), Some(&admin), &json!({})).await, 200)
            .await;
    let new_secret = rotated["secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    ok(app.post(&format!("/api/v1/webhooks/{hid}/test"), Some(&admin), &json!({})).await, 200).await;
    let last = receiver.inbox.lock().unwrap().seen.last().unwrap().clone();
    assert!(verified(new_secret, &last.0, &last.1, &last.3, &last.2));
    assert!(!verified(&secret, &last.0, &last.1, &last.3, &last.2));
    // The secret is never read back.
    let read = ok(app.get(&format!("/api/v1/webhooks/{hid}"), &admin).await, 200).await;
    assert!(read.get("secret").is_none(), "{read}");
}

#[tokio::test]
async fn two_instances_deliver_every_event_once_between_them() {
    let app = spawn_app_with(&[("CRM_WEBHOOKS_ALLOW_PRIVATE", "true")]).await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    // A webhook starts where the feed can be read to now; let the start-up events get there first.
    settle(&app).await;
    let hook = ok(app.post("/api/v1/webhooks", Some(&admin), &json!({"url": receiver.url})).await, 201).await;
    let start = feed_as_admin(&app, &admin).await.len();
    typical_sale(&app, &admin).await;

    let (pool2, _) = crm_app::open_database(app.db.url(), 4, std::time::Duration::from_secs(10)).unwrap();
    let clock: Arc<dyn crm_app::Clock> = app.clock.clone();
    let other = crm_app::App::new(pool2, clock, app.app.settings().clone());
    loop {
        settle(&app).await;
        let (a, b) = tokio::join!(crm_api::webhooks::run_once(&app.app), crm_api::webhooks::run_once(&other));
        if a.unwrap() + b.unwrap() == 0 {
            break;
        }
    }
    let feed: Vec<Value> = feed_as_admin(&app, &admin).await.into_iter().skip(start).collect();
    every_event_once_in_order(&receiver, hook["secret"].as_str().unwrap(), &feed);
}

#[tokio::test]
async fn a_receiver_down_past_the_schedule_is_switched_off_and_replay_brings_it_up_to_date() {
    let app = spawn_app_with(&[("CRM_WEBHOOKS_ALLOW_PRIVATE", "true")]).await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    // A webhook starts where the feed can be read to now; let the start-up events get there first.
    settle(&app).await;
    receiver.inbox.lock().unwrap().down = true;
    let hook = ok(
        app.post("/api/v1/webhooks", Some(&admin), &json!({"url": receiver.url, "types": ["loss_reason.*"]}))
            .await,
        201,
    )
    .await;
    let hid = hook["id"].as_str().unwrap().to_owned();
    settle(&app).await;
    let before = ok(app.get("/api/v1/events?limit=500", &admin).await, 200).await["next_cursor"].clone();
    for i in 0..6 {
        ok(
            app.post("/api/v1/loss-reasons", Some(&admin), &json!({"name": format!("Reason {i}")})).await,
            201,
        )
        .await;
    }
    // Something of another type never goes to this webhook.
    app.post(
        "/api/v1/products",
        Some(&admin),
        &json!({"sku": "X", "name": "X", "price": "1", "vat_rate": "22"}),
    )
    .await;

    // The whole schedule, about a day: every attempt refused.
    dispatch(&app).await;
    for wait in [5, 300, 1800, 7200, 18_000, 36_000, 36_000, 36_000] {
        app.advance(chrono::Duration::seconds(wait));
        dispatch(&app).await;
    }
    let admin = app.admin_token().await;
    let read = ok(app.get(&format!("/api/v1/webhooks/{hid}"), &admin).await, 200).await;
    assert_eq!(read["active"], false, "{read}");
    assert!(read["disabled_reason"].as_str().unwrap().contains("in a row"), "{read}");
    let dead =
        ok(app.get(&format!("/api/v1/webhooks/{hid}/deliveries?status=dead"), &admin).await, 200).await;
    assert_eq!(dead["items"].as_array().unwrap().len(), 6, "all six were in flight together");
    assert_eq!(dead["items"][0]["attempts"].as_array().unwrap().len(), 8, "the first try and seven retries");
    let notes = ok(app.get("/api/v1/notifications", &admin).await, 200).await;
    assert!(notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["text"].as_str().unwrap().contains("switched off")));
    let tries = receiver.inbox.lock().unwrap().seen.len();
    app.advance(chrono::Duration::hours(1));
    dispatch(&app).await;
    let admin = app.admin_token().await;
    assert_eq!(receiver.inbox.lock().unwrap().seen.len(), tries, "an inactive webhook is not called");

    // Back up: replay from before the outage sends the six, once each.
    receiver.inbox.lock().unwrap().down = false;
    let replayed = ok(
        app.post(&format!("/api/v1/webhooks/{hid}/replay"), Some(&admin), &json!({"after": before})).await,
        200,
    )
    .await;
    assert_eq!(replayed["requeued"], 6);
    dispatch(&app).await;
    let names: Vec<Value> = receiver.accepted().iter().map(|(_, b)| b["data"]["name"].clone()).collect();
    assert_eq!(names.len(), 6, "{names:?}");
    for i in 0..6 {
        assert!(names.contains(&json!(format!("Reason {i}"))));
    }
    assert_eq!(ok(app.get(&format!("/api/v1/webhooks/{hid}"), &admin).await, 200).await["active"], true);
    // A cursor that is not one is refused by name.
    let bad = app.post(&format!("/api/v1/webhooks/{hid}/replay"), Some(&admin), &json!({"after": "x"})).await;
    bad.problem(400);
    assert_eq!(bad.error_fields(), vec!["after"]);
}

#[tokio::test]
async fn a_webhook_to_a_private_or_plain_http_address_is_refused_without_the_override() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for url in [
        "http://169.254.169.254/",
        "http://10.0.0.1/",
        "https://10.0.0.1/",
        "https://169.254.169.254/latest/meta-data",
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://[fd00::1]/",
        "https://localhost/",
        "https://user:pw@93.184.216.34/",
        "ftp://93.184.216.34/",
        "not a url",
    ] {
        let r = app.post("/api/v1/webhooks", Some(&admin), &json!({"url": url})).await;
        r.problem(422);
        assert_eq!(r.error_fields(), vec!["url"], "{url}: {}", r.text);
    }
    assert_eq!(ok(app.get("/api/v1/webhooks", &admin).await, 200).await["items"], json!([]));
    // A public https address is taken (no request is made on creation).
    let fine = app
        .post(
            "/api/v1/webhooks",
            Some(&admin),
            &json!({"url": "https://93.184.216.34/hook", "types": ["order.*"]}),
        )
        .await;
    assert_eq!(fine.status, 201, "{}", fine.text);
    let bad_types = app
        .post("/api/v1/webhooks", Some(&admin), &json!({"url": "https://93.184.216.34/", "types": ["nope"]}))
        .await;
    assert_eq!(bad_types.error_fields(), vec!["types"]);
    for types in [json!(["interest.removed"]), json!(["webhook.test"])] {
        let never = app
            .post("/api/v1/webhooks", Some(&admin), &json!({"url": "https://93.184.216.34/", "types": types}))
            .await;
        never.problem(422);
        assert!(never.text.contains("never_delivered"), "{}", never.text);
    }
    let many: Vec<String> = (0..51).map(|_| "order.*".to_owned()).collect();
    let too_many = app
        .post("/api/v1/webhooks", Some(&admin), &json!({"url": "https://93.184.216.34/", "types": many}))
        .await;
    assert!(too_many.text.contains("too_many"), "{}", too_many.text);
    // Only admins manage webhooks.
    app.create_user(&admin, "ivan@test.crm", "manager", None).await;
    let ivan = app.token("ivan@test.crm", PASSWORD).await;
    app.get("/api/v1/webhooks", &ivan).await.problem(403);
    let id = fine.body["id"].as_str().unwrap();
    let patched =
        app.patch(&format!("/api/v1/webhooks/{id}"), &admin, &json!({"url": "http://10.0.0.1/"})).await;
    assert_eq!(patched.error_fields(), vec!["url"]);
    let del = app
        .request(reqwest::Method::DELETE, &format!("/api/v1/webhooks/{id}"), Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    app.get(&format!("/api/v1/webhooks/{id}"), &admin).await.problem(404);
}

#[tokio::test]
async fn a_410_from_the_receiver_ends_the_delivery_and_switches_the_webhook_off_at_once() {
    let app = spawn_app_with(&[("CRM_WEBHOOKS_ALLOW_PRIVATE", "true")]).await;
    let admin = app.admin_token().await;
    let receiver = Receiver::start().await;
    settle(&app).await;
    receiver.inbox.lock().unwrap().gone = true;
    let hook = ok(app.post("/api/v1/webhooks", Some(&admin), &json!({"url": receiver.url})).await, 201).await;
    let hid = hook["id"].as_str().unwrap().to_owned();
    ok(app.post("/api/v1/loss-reasons", Some(&admin), &json!({"name": "Gone"})).await, 201).await;
    assert_eq!(dispatch(&app).await, 1, "one attempt, no retry");
    let read = ok(app.get(&format!("/api/v1/webhooks/{hid}"), &admin).await, 200).await;
    assert_eq!(read["active"], false);
    assert!(read["disabled_reason"].as_str().unwrap().contains("410"), "{read}");
    let dead =
        ok(app.get(&format!("/api/v1/webhooks/{hid}/deliveries?status=dead"), &admin).await, 200).await;
    assert_eq!(dead["items"][0]["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(dead["items"][0]["attempts"][0]["status_code"], 410);
    let notes = ok(app.get("/api/v1/notifications", &admin).await, 200).await;
    assert!(notes["items"].as_array().unwrap().iter().any(|n| n["text"].as_str().unwrap().contains("410")));
    // Nothing more goes to it, however long one waits.
    ok(app.post("/api/v1/loss-reasons", Some(&admin), &json!({"name": "Later"})).await, 201).await;
    app.advance(chrono::Duration::hours(2));
    assert_eq!(dispatch(&app).await, 0);
    assert_eq!(receiver.inbox.lock().unwrap().seen.len(), 1);
}
