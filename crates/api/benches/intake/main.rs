//! The performance bench: each measure over HTTP beside its ceiling — the
//! same work's statements sent straight to the same database with the same
//! number of clients for the same time — in one run, with the ratio.
//!
//! The release `crm-server` runs as its own process on a fresh database and
//! is driven over loopback by 8 closed-loop clients in this process; the
//! client, the server and the database share this machine's cores, so the
//! ratios, not the absolute figures, are what to compare between runs.
//!
//! Run: `cargo bench -p crm-api --bench intake` (both backends, 10 s a
//! measure; `-- --quick`: 3 s; `-- --backend sqlite` or `postgres`).
//! PostgreSQL: a fresh database is made and dropped on the server
//! `CRM_BENCH_PG_URL` names (default `postgres://postgres@127.0.0.1:5432/postgres`),
//! and pgbench must be on the PATH.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::panic)]

mod board;
mod ceiling;
mod load;
mod sale;
mod scale;
mod server;

use std::time::Duration;

use base64::Engine;
use diesel::{Connection, RunQueryDsl};
use serde_json::{json, Value};
use uuid::Uuid;

use ceiling::{IntakeFixture, MeFixture};
use load::Stats;
use server::Server;

const CLIENTS: usize = 8;
/// Interests in the database when a manager's board is timed (the size).
const BOARD_INTERESTS: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// One backend's figures.
struct Run {
    backend: Backend,
    start_to_ready: Duration,
    idle_rss: f64,
    peak_rss: f64,
    intake: (Stats, Stats),
    me: (Stats, Stats),
    /// `GET /healthz` under the same load: no credential, no database, a
    /// fixed answer — the most any request can get over HTTP here.
    floor: Stats,
    /// The whole typical sale, one request at a time.
    sale: sale::Figures,
    /// A manager's board among 100,000 interests.
    board: board::Figures,
    /// List pages at the small size and at the large one.
    lists: (scale::AtSize, scale::AtSize),
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let duration = Duration::from_secs(if quick { 3 } else { 10 });
    let only = args.iter().position(|a| a == "--backend").and_then(|i| args.get(i + 1)).cloned();
    let backends: Vec<Backend> = match only.as_deref() {
        None => vec![Backend::Sqlite, Backend::Postgres],
        Some("sqlite") => vec![Backend::Sqlite],
        Some("postgres") => vec![Backend::Postgres],
        Some(other) => panic!("--backend {other}: use sqlite or postgres"),
    };
    println!(
        "{CLIENTS} clients, {} s a measure; server: release crm-server in its own process\n",
        duration.as_secs()
    );
    let mut runs = Vec::new();
    for backend in backends {
        runs.push(measure(backend, duration, if quick { 100_000 } else { 1_000_000 }).await);
    }
    report(&runs);
}

async fn measure(backend: Backend, duration: Duration, large: usize) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let (url, pg_admin) = match backend {
        Backend::Sqlite => (format!("sqlite://{}", dir.path().join("bench.db").display()), None),
        Backend::Postgres => {
            let admin = std::env::var("CRM_BENCH_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
            let name = format!("crm_bench_{}", std::process::id());
            let mut conn = diesel::PgConnection::establish(&admin).unwrap();
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {name}")).execute(&mut conn).unwrap();
            diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn).unwrap();
            let (base, _) = admin.rsplit_once('/').unwrap();
            (format!("{base}/{name}"), Some((admin, name)))
        }
    };
    let server = Server::start(&url, dir.path(), server::free_port()).await;
    let idle_rss = server.rss_mib();
    let http = reqwest::Client::new();
    let base = server.base.clone();

    let tokens = post(
        &http,
        &base,
        "/api/v1/auth/login",
        None,
        json!({"email": server::ADMIN_EMAIL, "password": server::ADMIN_PASSWORD}),
    )
    .await;
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let claims = token.split('.').nth(1).unwrap();
    let claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims).unwrap())
            .unwrap();
    let me = MeFixture {
        user_id: claims["sub"].as_str().unwrap().parse().unwrap(),
        session_id: claims["sid"].as_str().unwrap().parse().unwrap(),
    };
    let key = post(
        &http,
        &base,
        "/api/v1/api-keys",
        Some(&token),
        json!({"name": "bench intake", "scopes": ["leads:write"]}),
    )
    .await;
    let secret = key["secret"].as_str().unwrap().to_owned();
    let client = post(
        &http,
        &base,
        "/api/v1/clients",
        Some(&token),
        json!({"name": "ООО «Ромашка»", "kind": "company", "phones": ["+7 916 000-00-01"]}),
    )
    .await;
    let intake = IntakeFixture {
        key_prefix: key["prefix"].as_str().unwrap().trim_start_matches("crm_").to_owned(),
        key_id: key["id"].as_str().unwrap().parse().unwrap(),
        phone: "+79160000001".to_owned(),
        client_id: client["id"].as_str().unwrap().parse::<Uuid>().unwrap(),
    };

    // Lead intake: an API key, a phone that matches the client, an external id to dedupe.
    let (c, b) = (http.clone(), base.clone());
    let intake_http = load::http(CLIENTS, duration, move |w, n| {
        let req = c.post(format!("{b}/api/v1/leads")).header("x-api-key", &secret).json(&json!({
            "name": "Анна", "phone": "+7 916 000-00-01", "external_id": format!("http-{w}-{n}"),
            "subject": "Chairs for a new office",
        }));
        async move { req.send().await.unwrap().status() }
    })
    .await;
    let intake_ceiling = match backend {
        Backend::Sqlite => ceiling::sqlite_intake(&url, &intake, CLIENTS, duration),
        Backend::Postgres => {
            ceiling::pgbench(&url, &ceiling::pgbench_intake_script(&intake), CLIENTS, duration)
        }
    };

    // /me: authentication and one read.
    let (c, b, t) = (http.clone(), base.clone(), token.clone());
    let me_http = load::http(CLIENTS, duration, move |_, _| {
        let req = c.get(format!("{b}/api/v1/me")).bearer_auth(&t);
        async move { req.send().await.unwrap().status() }
    })
    .await;
    let me_ceiling = match backend {
        Backend::Sqlite => ceiling::sqlite_me(&url, me, CLIENTS, duration),
        Backend::Postgres => ceiling::pgbench(&url, &ceiling::pgbench_me_script(&me), CLIENTS, duration),
    };

    // What HTTP alone allows on this machine: a request that does nothing.
    let (c, b) = (http.clone(), base.clone());
    let floor = load::http(CLIENTS, duration, move |_, _| {
        let req = c.get(format!("{b}/healthz"));
        async move { req.send().await.unwrap().status() }
    })
    .await;

    // The typical sale, lead to won, on the same database.
    let sale_fixture = sale::Fixture::new(&http, &base, &token).await;
    let sale = sale_fixture.measure(&http, &base).await;

    // A manager's board among 100,000 interests.
    let board = board::measure(&http, &base, &token, &url, backend, BOARD_INTERESTS).await;

    // List pages at 10,000 clients and at `large`, all held by one manager.
    let mut fixture = scale::Fixture::new(&http, &base, &token, &url, backend).await;
    fixture.grow_to(10_000);
    let small = fixture.measure(&http, &base).await;
    fixture.grow_to(large);
    let big = fixture.measure(&http, &base).await;

    let peak_rss = server.peak_rss_mib();
    let start_to_ready = server.start_to_ready;
    drop(server);
    if let Some((admin, name)) = pg_admin {
        let mut conn = diesel::PgConnection::establish(&admin).unwrap();
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).unwrap();
    }
    Run {
        backend,
        start_to_ready,
        idle_rss,
        peak_rss,
        intake: (intake_http, intake_ceiling),
        me: (me_http, me_ceiling),
        floor,
        sale,
        board,
        lists: (small, big),
    }
}

async fn post(http: &reqwest::Client, base: &str, path: &str, token: Option<&str>, body: Value) -> Value {
    let mut req = http.post(format!("{base}{path}")).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1} ms"))
}

fn name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    }
}

fn report(runs: &[Run]) {
    println!("| backend | measure | over HTTP | p50 | p99 | ceiling (same statements alone) | ratio |");
    println!("|---|---|---|---|---|---|---|");
    for r in runs {
        let name = name(r.backend);
        for (what, (http, ceiling)) in [("lead intake", &r.intake), ("GET /me", &r.me)] {
            println!(
                "| {name} | {what} | {:.0} req/s | {} | {} | {:.0} tx/s | {:.2} |",
                http.per_sec(),
                ms(http.pct_ms(0.5)),
                ms(http.pct_ms(0.99)),
                ceiling.per_sec(),
                http.per_sec() / ceiling.per_sec()
            );
        }
        println!(
            "| {name} | GET /healthz (no credential, no database: HTTP alone) | {:.0} req/s | {} | {} | | |",
            r.floor.per_sec(),
            ms(r.floor.pct_ms(0.5)),
            ms(r.floor.pct_ms(0.99))
        );
        println!(
            "| {name} | server process | start to ready {:.0} ms | idle {:.1} MiB | peak under load {:.1} MiB | | |",
            r.start_to_ready.as_secs_f64() * 1000.0,
            r.idle_rss,
            r.peak_rss
        );
    }
    println!("\n| backend | the typical sale, lead to won (one request at a time) | p50 | p99 |");
    println!("|---|---|---|---|");
    for r in runs {
        let s = &r.sale;
        println!(
            "| {} | the whole sale, {} requests, summed | {} | {} |",
            name(r.backend),
            s.requests,
            ms(s.sale.pct_ms(0.5)),
            ms(s.sale.pct_ms(0.99))
        );
        println!(
            "| {} | the payment that completes them and moves the interest | {} | {} |",
            name(r.backend),
            ms(s.payment_move.pct_ms(0.5)),
            ms(s.payment_move.pct_ms(0.99))
        );
    }
    println!("\n| backend | a manager's board over HTTP (one request at a time) | p50 | p99 |");
    println!("|---|---|---|---|");
    for r in runs {
        let b = &r.board;
        println!(
            "| {} | `GET /board?responsible=me&limit=50`: {} of {} interests | {} | {} |",
            name(r.backend),
            b.own,
            b.interests,
            ms(b.board.pct_ms(0.5)),
            ms(b.board.pct_ms(0.99))
        );
    }
    println!("\n| backend | list page (50 of one manager's clients, one request at a time) | p50 / p99 at the small size | p50 / p99 at the large size | growth of p50 |");
    println!("|---|---|---|---|---|");
    for r in runs {
        let (small, big) = &r.lists;
        for (what, a, b) in [
            ("manager: `GET /clients?limit=50`", &small.manager_page, &big.manager_page),
            ("admin: `GET /clients?limit=50`", &small.admin_page, &big.admin_page),
            ("head of a department of three: `GET /clients?limit=50`", &small.head_page, &big.head_page),
            ("admin, sync: `…&updated_since=…`", &small.sync_page, &big.sync_page),
            ("manager: `POST /duplicates/search` by name", &small.search, &big.search),
            ("manager: `POST /clients` with its duplicate check", &small.create, &big.create),
        ] {
            println!(
                "| {} | {what} | {} / {} at {} | {} / {} at {} | {:.2}× |",
                name(r.backend),
                ms(a.pct_ms(0.5)),
                ms(a.pct_ms(0.99)),
                small.rows,
                ms(b.pct_ms(0.5)),
                ms(b.pct_ms(0.99)),
                big.rows,
                scale::growth(a, b)
            );
        }
    }
    println!("\nGoals:");
    for r in runs {
        let (name, intake_goal, me_goal) = match r.backend {
            Backend::Sqlite => ("SQLite", 0.50, 0.50),
            Backend::Postgres => ("PostgreSQL", 0.60, 0.60),
        };
        let ratio = |(h, c): &(Stats, Stats)| h.per_sec() / c.per_sec();
        let mut goals = vec![
            (format!("lead intake ≥ {intake_goal:.2} of its ceiling"), ratio(&r.intake) >= intake_goal),
            (format!("GET /me ≥ {me_goal:.2} of its ceiling"), ratio(&r.me) >= me_goal),
            ("idle memory < 50 MiB".to_owned(), r.idle_rss < 50.0),
            ("memory under load < 256 MiB".to_owned(), r.peak_rss < 256.0),
            ("start to ready < 1 s".to_owned(), r.start_to_ready < Duration::from_secs(1)),
        ];
        let sale_goal = if r.backend == Backend::Sqlite { 50.0 } else { 100.0 };
        goals.push((
            format!("the typical sale under {sale_goal:.0} ms of request time (p50)"),
            r.sale.sale.pct_ms(0.5).unwrap_or(f64::MAX) < sale_goal,
        ));
        goals.push((
            format!("a manager's board among {} interests: p99 < 25 ms", r.board.interests),
            r.board.board.pct_ms(0.99).unwrap_or(f64::MAX) < 25.0,
        ));
        let (small, big) = &r.lists;
        for (what, a, b) in [
            ("a manager's list page", &small.manager_page, &big.manager_page),
            ("an admin's list page", &small.admin_page, &big.admin_page),
            ("a head's list page", &small.head_page, &big.head_page),
            ("a sync page", &small.sync_page, &big.sync_page),
            ("a duplicate search", &small.search, &big.search),
            ("creating a client", &small.create, &big.create),
        ] {
            goals.push((
                format!("{what} at {} rows within 1.5× of {} rows", big.rows, small.rows),
                scale::growth(a, b) <= 1.5,
            ));
        }
        if r.backend == Backend::Sqlite {
            let p99 = r.intake.0.pct_ms(0.99).unwrap_or(f64::MAX);
            goals.push((format!("write p99 < 25 ms at {CLIENTS} writers"), p99 < 25.0));
        }
        for (goal, met) in goals {
            println!("- {name}: {goal}: {}", if met { "met" } else { "NOT met" });
        }
        // A ratio goal that asks for more requests a second than a request
        // doing nothing at all gets cannot be met by any server code.
        for (what, pair, goal) in [("lead intake", &r.intake, intake_goal), ("GET /me", &r.me, me_goal)] {
            let needed = goal * pair.1.per_sec();
            if needed > r.floor.per_sec() {
                println!(
                    "  {name}: {what} ≥ {goal:.2} needs {needed:.0} req/s, more than GET /healthz's {:.0}: out of reach over HTTP on this machine",
                    r.floor.per_sec()
                );
            }
        }
    }
}
