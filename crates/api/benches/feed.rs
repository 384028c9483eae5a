//! Change-feed and webhook benchmark: the release server on loopback with a
//! fresh database (SQLite, or PostgreSQL when `CRM_BENCH_DATABASE_URL` is
//! set). Measures, each beside a ceiling taken in the same run:
//! - reading the feed over HTTP (`GET /events?limit=500`, as an admin)
//!   against reading the same rows straight from the store (no visibility,
//!   no HTTP, no JSON);
//! - delivering to a local receiver (enqueue, claim, sign, POST, record)
//!   against POSTing the same bodies to it straight from one client.
//!
//! Run: `cargo bench -p crm-api --bench feed` (`-- --quick` for a short run).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::panic)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix_web::{web, HttpResponse, HttpServer};
use crm_api::{Application, Config};
use serde_json::{json, Value};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let events = if quick { 1000 } else { 5000 };
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("CRM_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let env: HashMap<&str, String> = HashMap::from([
        ("CRM_BIND", "127.0.0.1:0".to_owned()),
        ("DATABASE_URL", url.clone()),
        ("CRM_JWT_SECRET", "bench-secret-bench-secret-bench-secret".to_owned()),
        ("CRM_ADMIN_EMAIL", "admin@bench.crm".to_owned()),
        ("CRM_ADMIN_PASSWORD", "bench-password-1".to_owned()),
        ("CRM_DATA_DIR", dir.path().display().to_string()),
        ("CRM_WEBHOOKS_ALLOW_PRIVATE", "true".to_owned()),
        ("CRM_WEBHOOKS_INTERVAL", "off".to_owned()),
        // Throughput is measured, not the per-caller budget.
        ("CRM_RATE_LIMIT", "off".to_owned()),
    ]);
    let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
    let server = Application::build(config, Arc::new(crm_app::SystemClock)).unwrap();
    let base = format!("http://127.0.0.1:{}", server.port());
    let app = server.app();
    tokio::spawn(server.run_until_stopped());
    let client = reqwest::Client::new();
    let tokens: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "admin@bench.crm", "password": "bench-password-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tokens["access_token"].as_str().unwrap().to_owned();

    // A receiver that takes everything.
    let received = Arc::new(AtomicUsize::new(0));
    let counter = web::Data::new(received.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    let receiver = HttpServer::new(move || {
        actix_web::App::new().app_data(counter.clone()).route(
            "/hook",
            web::post().to(|_body: web::Bytes, n: web::Data<Arc<AtomicUsize>>| async move {
                n.fetch_add(1, Ordering::Relaxed);
                HttpResponse::Ok().finish()
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(receiver);
    let hook: Value = client
        .post(format!("{base}/api/v1/webhooks"))
        .bearer_auth(&token)
        .json(&json!({"url": hook_url}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(hook["id"].is_string(), "{hook}");

    // The events: products created over HTTP, 4 at a time.
    let written = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..4 {
        let (c, b, tk) = (client.clone(), base.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..events / 4 {
                let res = c
                    .post(format!("{b}/api/v1/products"))
                    .bearer_auth(&tk)
                    .json(&json!({"sku": format!("B-{t}-{i}"), "name": format!("Item {t}-{i}"), "price": "10", "vat_rate": "22"}))
                    .send()
                    .await
                    .unwrap();
                assert!(res.status().is_success());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let write_rate = events as f64 / written.elapsed().as_secs_f64();
    let backend = if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
    println!("backend: {backend}; {events} events written at {write_rate:.0}/s (POST /products, rendered in the transaction)\n");

    // Ceiling: the same rows straight from the store.
    let raw = Instant::now();
    let mut conn = app.pool().get().unwrap();
    let mut after = crm_store::queries::outbox::FeedPosition::default();
    let mut rows = 0;
    loop {
        let page = crm_store::queries::outbox::feed_after(&mut conn, after, None, 500).unwrap();
        let Some(last) = page.last() else { break };
        after = crm_store::queries::outbox::FeedPosition::of(last);
        rows += page.len();
    }
    drop(conn);
    let raw_rate = rows as f64 / raw.elapsed().as_secs_f64();

    let read = Instant::now();
    let mut cursor = String::new();
    let mut seen = 0;
    loop {
        let page: Value = client
            .get(format!("{base}/api/v1/events?limit=500&after={cursor}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen += page["items"].as_array().unwrap().len();
        cursor = page["next_cursor"].as_str().unwrap().to_owned();
        if !page["has_more"].as_bool().unwrap() {
            break;
        }
    }
    let feed_rate = seen as f64 / read.elapsed().as_secs_f64();
    println!("| measure | rate | ceiling in this run | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| feed read over HTTP, {seen} events | {feed_rate:.0} events/s | store read of the same rows: {raw_rate:.0} rows/s | {:.2} |",
        feed_rate / raw_rate
    );

    // Ceiling: POSTing bodies of the same size straight to the receiver, 32 at a time.
    let body =
        serde_json::to_vec(&json!({"id": "0193b1c2-7d7e-7c1a-9f4e-0a1b2c3d4e5f", "type": "product.created",
        "data": {"name": "Item 0-0", "sku": "B-0-0", "price": "10.00"}}))
        .unwrap();
    let direct = Instant::now();
    let n_direct = events.min(2000);
    let mut sends = Vec::new();
    for chunk in 0..32 {
        let (c, u, b) = (client.clone(), hook_url.clone(), body.clone());
        sends.push(tokio::spawn(async move {
            for _ in 0..n_direct / 32 {
                c.post(&u).header("content-type", "application/json").body(b.clone()).send().await.unwrap();
            }
            chunk
        }));
    }
    for s in sends {
        s.await.unwrap();
    }
    let direct_rate = (n_direct / 32 * 32) as f64 / direct.elapsed().as_secs_f64();
    received.store(0, Ordering::Relaxed);

    let delivered = Instant::now();
    let mut attempts = 0;
    loop {
        let n = crm_api::webhooks::run_once(&app).await.unwrap();
        attempts += n;
        if n == 0 {
            break;
        }
    }
    let delivery_rate = attempts as f64 / delivered.elapsed().as_secs_f64();
    assert_eq!(received.load(Ordering::Relaxed), attempts);
    println!(
        "| webhook deliveries to a local receiver, {attempts} | {delivery_rate:.0} deliveries/s | plain POSTs of the same size: {direct_rate:.0} req/s | {:.2} |",
        delivery_rate / direct_rate
    );
}
