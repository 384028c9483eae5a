//! A manager's board over HTTP among 100,000 interests: 200 managers, 500
//! interests each, every interest with an open task and a planned call, as
//! the board's cards show them. One request at a time, so the figure is the
//! server's cost of one board, not a queue.
//!
//! The measured manager and their first interest are made through the API;
//! the other managers and the other interests are copies of those rows
//! (their own ids, names, stages and responsibles) written straight into
//! the tables by one `INSERT … SELECT` each, as `scale` does for clients.

use std::time::Instant;

use diesel::RunQueryDsl;
use serde_json::{json, Value};

use crate::load::Stats;
use crate::Backend;

/// Managers holding the interests, the measured one among them.
const MANAGERS: usize = 200;
/// Boards asked, one after another.
const SAMPLES: usize = 200;

pub struct Figures {
    pub interests: usize,
    /// How many of them are the measured manager's.
    pub own: usize,
    pub board: Stats,
}

/// A text id as the store writes one on SQLite (hyphenated lower-case hex).
const SQLITE_ID: &str = "(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' \
    || substr(h, 17, 4) || '-' || substr(h, 21, 12))";

/// Fills the database to `total` interests and times the board of the
/// manager who holds one in every `MANAGERS`.
pub async fn measure(
    http: &reqwest::Client,
    base: &str,
    admin_token: &str,
    url: &str,
    backend: Backend,
    total: usize,
) -> Figures {
    let password = "bench-board-password";
    let manager = crate::post(
        http,
        base,
        "/api/v1/users",
        Some(admin_token),
        json!({"email": "board@bench.crm", "name": "Борис Доскин", "role": "manager", "password": password}),
    )
    .await;
    let manager_id = manager["id"].as_str().unwrap().to_owned();
    let tokens = crate::post(
        http,
        base,
        "/api/v1/auth/login",
        None,
        json!({"email": "board@bench.crm", "password": password}),
    )
    .await;
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let template = crate::post(
        http,
        base,
        "/api/v1/interests",
        Some(&token),
        json!({"title": "Board 0", "potential_amount": "150000.00"}),
    )
    .await;
    let template_id = template["id"].as_str().unwrap().to_owned();

    let started = Instant::now();
    let manager_conn = crm_store::ConnectionManager::new(url).unwrap();
    let mut conn = manager_conn.connect().unwrap();
    for sql in fill(backend, &manager_id, &template_id, total) {
        diesel::sql_query(sql).execute(&mut conn).unwrap();
    }
    if backend == Backend::Postgres {
        // As autovacuum would after such a load (see `scale`).
        diesel::sql_query("ANALYZE").execute(&mut conn).unwrap();
    }
    println!(
        "  {total} interests with a task and a call each written in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let url = format!("{base}/api/v1/board?responsible=me&limit=50");
    let get = || async {
        let res = http.get(&url).bearer_auth(&token).send().await.unwrap();
        assert!(res.status().is_success(), "{url}: {}", res.status());
        res.json::<Value>().await.unwrap()
    };
    let first = get().await;
    let own: usize =
        first["columns"].as_array().unwrap().iter().map(|c| c["count"].as_u64().unwrap() as usize).sum();
    assert_eq!(own, total.div_ceil(MANAGERS), "the manager's share of the interests");
    for _ in 0..10 {
        get().await;
    }
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let s = Instant::now();
        get().await;
        latencies.push(s.elapsed());
    }
    Figures { interests: total, own, board: Stats::from_latencies(latencies, started.elapsed()) }
}

/// The statements that add the other managers, the copies of the template
/// interest (interest `n` goes to manager `n % MANAGERS`, 0 being the
/// measured one, and to stage `n % 4`), and a task and a call for each.
fn fill(backend: Backend, manager: &str, template: &str, total: usize) -> Vec<String> {
    let others = MANAGERS - 1;
    let last = total - 1;
    let (series_users, series_interests, new_id) = match backend {
        Backend::Sqlite => (
            format!(
                "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {others}), \
                 r(n, h) AS (SELECT n, lower(hex(randomblob(16))) FROM s)"
            ),
            format!(
                "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {last}), \
                 r(n, h) AS (SELECT n, lower(hex(randomblob(16))) FROM s)"
            ),
            SQLITE_ID.to_owned(),
        ),
        Backend::Postgres => (
            format!("WITH r(n) AS (SELECT generate_series(1, {others}))"),
            format!("WITH r(n) AS (SELECT generate_series(1, {last}))"),
            "gen_random_uuid()".to_owned(),
        ),
    };
    // A fresh id for each row of the work added below (SQLite: from the row's own random hex).
    let (work_from, work_id) = match backend {
        Backend::Sqlite => ("(SELECT i.*, lower(hex(randomblob(16))) AS h FROM interests i) i", SQLITE_ID),
        Backend::Postgres => ("interests i", "gen_random_uuid()"),
    };
    vec![
        format!(
            "{series_users} INSERT INTO users (id, email, name, role, department_id, time_zone, active, \
             password_hash, version, created_at, updated_at, default_service_type) \
             SELECT {new_id}, 'm' || n || '@board.bench', 'Manager ' || n, u.role, NULL, u.time_zone, \
             u.active, '-', 1, u.created_at, u.updated_at, NULL FROM r, users u WHERE u.id = '{manager}'"
        ),
        format!(
            "{series_interests} INSERT INTO interests (id, scenario_id, stage, state, pending_stage, title, \
             potential_minor, currency, service_type, client_id, contact_id, responsible_id, loss_reason_id, \
             loss_comment, loss_approver_id, stage_entered_at, closed_at, version, created_at, updated_at, \
             expected_close_on) \
             SELECT {new_id}, t.scenario_id, \
             CASE n % 4 WHEN 0 THEN 'request' WHEN 1 THEN 'proposal' WHEN 2 THEN 'payment' ELSE 'shipment' END, \
             t.state, NULL, 'Board ' || n, (n % 1000) * 10000, t.currency, NULL, NULL, NULL, \
             CASE WHEN n % {MANAGERS} = 0 THEN t.responsible_id \
             ELSE (SELECT id FROM users WHERE email = 'm' || (n % {MANAGERS}) || '@board.bench') END, \
             NULL, NULL, NULL, t.stage_entered_at, NULL, 1, t.created_at, t.updated_at, t.expected_close_on \
             FROM r, interests t WHERE t.id = '{template}'"
        ),
        format!(
            "INSERT INTO tasks (id, interest_id, title, task_kind, assignee_id, due_at, status, rule_stage, \
             rule, created_by, completed_at, version, created_at, updated_at) \
             SELECT {work_id}, i.id, 'Call the client', 'call', i.responsible_id, i.created_at, 'open', \
             NULL, NULL, NULL, NULL, 1, i.created_at, i.updated_at FROM {work_from} \
             WHERE i.title LIKE 'Board %'"
        ),
        format!(
            "INSERT INTO interactions (id, interest_id, kind, status, subject, planned_at, completed_at, \
             result, created_by, version, created_at, updated_at) \
             SELECT {work_id}, i.id, 'call', 'planned', 'Follow up', i.updated_at, NULL, NULL, NULL, 1, \
             i.created_at, i.updated_at FROM {work_from} WHERE i.title LIKE 'Board %'"
        ),
    ]
}
