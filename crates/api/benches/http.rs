//! HTTP benchmark: the real server on loopback, SQLite in a temporary file
//! (or PostgreSQL when `CRM_BENCH_DATABASE_URL` is set). Prints throughput,
//! latency percentiles and the process's peak memory.
//!
//! Run: `cargo bench -p crm-api --bench http` (add `-- --quick` for a short run).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crm_api::{Application, Config};
use serde_json::json;

struct Stats {
    name: &'static str,
    count: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Stats {
    fn print(&mut self) {
        self.latencies.sort();
        let pct = |p: f64| {
            let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
            self.latencies[i].as_secs_f64() * 1000.0
        };
        println!(
            "| {} | {} | {:.0} req/s | p50 {:.2} ms | p99 {:.2} ms |",
            self.name,
            self.count,
            self.count as f64 / self.elapsed.as_secs_f64(),
            pct(0.5),
            pct(0.99)
        );
    }
}

/// Runs `total` requests made by `make` from `concurrency` tasks.
async fn load<F, Fut>(name: &'static str, total: usize, concurrency: usize, make: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = reqwest::StatusCode> + Send,
{
    let make = Arc::new(make);
    let started = Instant::now();
    let per_task = total / concurrency;
    let mut handles = Vec::new();
    for t in 0..concurrency {
        let make = make.clone();
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_task);
            for i in 0..per_task {
                let s = Instant::now();
                let status = make(t * per_task + i).await;
                assert!(status.is_success(), "{name}: {status}");
                lat.push(s.elapsed());
            }
            lat
        }));
    }
    let mut latencies = Vec::new();
    for h in handles {
        latencies.extend(h.await.unwrap());
    }
    Stats { name, count: latencies.len(), elapsed: started.elapsed(), latencies }
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = if quick { 1 } else { 5 };
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
    ]);
    let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
    let app = Application::build(config, Arc::new(crm_app::SystemClock)).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();

    let login = Instant::now();
    let tokens: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "admin@bench.crm", "password": "bench-password-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let login_ms = login.elapsed().as_secs_f64() * 1000.0;
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let backend = if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
    println!("backend: {backend}; one sign-in (Argon2id verify + session): {login_ms:.1} ms\n");
    println!("| operation | requests | throughput | latency p50 | latency p99 |");
    println!("|---|---|---|---|---|");

    let (c, b, t) = (client.clone(), base.clone(), token.clone());
    load("GET /healthz (no database)", 2000 * scale, 8, move |_| {
        let req = c.get(format!("{b}/healthz"));
        async move { req.send().await.unwrap().status() }
    })
    .await
    .print();

    let (c, b) = (client.clone(), base.clone());
    let tk = t.clone();
    load("GET /api/v1/me (JWT + session check + read)", 2000 * scale, 8, move |_| {
        let req = c.get(format!("{b}/api/v1/me")).bearer_auth(&tk);
        async move { req.send().await.unwrap().status() }
    })
    .await
    .print();

    let (c, b) = (client.clone(), base.clone());
    let tk = t.clone();
    load("POST /api/v1/departments (write + outbox)", 400 * scale, 4, move |i| {
        let req = c
            .post(format!("{b}/api/v1/departments"))
            .bearer_auth(&tk)
            .json(&json!({"name": format!("Dept {i}")}));
        async move { req.send().await.unwrap().status() }
    })
    .await
    .print();

    let (c, b) = (client.clone(), base.clone());
    let tk = t.clone();
    load("POST /api/v1/departments with Idempotency-Key", 400 * scale, 4, move |i| {
        let req = c
            .post(format!("{b}/api/v1/departments"))
            .bearer_auth(&tk)
            .header("idempotency-key", format!("bench-{i}"))
            .json(&json!({"name": format!("Keyed {i}")}));
        async move { req.send().await.unwrap().status() }
    })
    .await
    .print();

    let (c, b) = (client.clone(), base.clone());
    let tk = t.clone();
    load("GET /api/v1/departments?limit=50", 1000 * scale, 8, move |_| {
        let req = c.get(format!("{b}/api/v1/departments?limit=50")).bearer_auth(&tk);
        async move { req.send().await.unwrap().status() }
    })
    .await
    .print();

    // Quote to cash: an invoice of a 20-line order, drawn as PDF and e-mailed
    // (file transport: the .eml is written to the data directory).
    let post = |path: String, body: serde_json::Value| {
        let req = client.post(format!("{base}{path}")).bearer_auth(&token).json(&body);
        async move {
            let res = req.send().await.unwrap();
            assert!(res.status().is_success(), "{path}: {}", res.status());
            res.json::<serde_json::Value>().await.unwrap()
        }
    };
    let interest = post("/api/v1/interests".into(), json!({"title": "Bench"})).await;
    let lines: Vec<_> = (0..20)
        .map(|i| json!({"description": format!("Позиция № {i} — кресло офисное"), "quantity": "3", "unit_price": "12990.50"}))
        .collect();
    let order = post(
        format!("/api/v1/interests/{}/orders", interest["id"].as_str().unwrap()),
        json!({"lines": lines}),
    )
    .await;
    let oid = order["id"].as_str().unwrap().to_owned();
    post(format!("/api/v1/orders/{oid}/confirm"), json!({})).await;

    let (c, b) = (client.clone(), base.clone());
    let (tk, o) = (t.clone(), oid.clone());
    load("GET /api/v1/orders/{id}/invoice.pdf (20 lines)", 100 * scale, 2, move |_| {
        let req = c.get(format!("{b}/api/v1/orders/{o}/invoice.pdf")).bearer_auth(&tk);
        async move { req.send().await.unwrap().status() }
    })
    .await
    .print();

    let (c, b) = (client.clone(), base.clone());
    let (tk, o) = (t.clone(), oid.clone());
    load("POST /api/v1/orders/{id}/invoice/send (PDF + .eml file)", 50 * scale, 2, move |_| {
        let req = c
            .post(format!("{b}/api/v1/orders/{o}/invoice/send"))
            .bearer_auth(&tk)
            .json(&json!({"to": "buyer@bench.test"}));
        async move { req.send().await.unwrap().status() }
    })
    .await
    .print();
    let size = client
        .get(format!("{base}/api/v1/orders/{oid}/invoice.pdf"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .len();
    println!("\ninvoice PDF of 20 lines: {:.0} KiB", size as f64 / 1024.0);

    println!(
        "\npeak resident memory of the whole process (server + client): {:.1} MiB",
        peak_rss_mib().unwrap_or(0.0)
    );
}
