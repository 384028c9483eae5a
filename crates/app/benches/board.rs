//! The board and a stage move at scale: 100,000 interests (500 for the
//! measured manager, 200 managers), each with an open task and a planned
//! interaction. SQLite in a temporary file, or PostgreSQL when
//! `CRM_BENCH_DATABASE_URL` is set (the database is emptied first: use a
//! scratch one). Run: `cargo bench -p crm-app --bench board`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use crm_app::identity::principal::UserPrincipal;
use crm_app::sales::interests::{board, move_interest, BoardQuery, NextStep, Transition};
use crm_app::{App, PageRequest, Principal, Settings, SystemClock};
use crm_domain::Role;
use crm_store::queries::{sales as q, users as uq};
use crm_store::rows::{InteractionRow, InterestRow, TaskRow, UserInsertForm};

const MANAGERS: usize = 200;
const PER_MANAGER: usize = 500;

fn percentiles(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |x: f64| ms(v[((v.len() as f64 - 1.0) * x).round() as usize]);
    (p(0.5), p(0.95), p(0.99))
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("CRM_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("board.db").display()));
    let (pool, _) = crm_app::open_database(&url, 4, Duration::from_secs(10)).unwrap();
    let settings = Settings {
        jwt_secret: b"bench-secret-bench-secret-bench-secret".to_vec(),
        jwt_issuer: "crm".into(),
        jwt_audience: "crm-api".into(),
        access_token_ttl: Duration::from_secs(900),
        refresh_token_ttl: Duration::from_secs(86_400),
        default_time_zone: crm_domain::TimeZoneName::parse("Europe/Moscow").unwrap(),
        login_max_failures_per_account: 5,
        login_max_failures_per_address: 20,
        login_window: Duration::from_secs(900),
        pool_timeout: Duration::from_secs(10),
        mail: crm_app::MailSettings {
            smtp_url: None,
            dir: dir.path().join("mail"),
            from: "crm@localhost".into(),
        },
        vat_rates: vec![crm_domain::VatRate::Percent(2200), crm_domain::VatRate::Without],
        events_retention: Duration::from_secs(30 * 86_400),
        webhooks_allow_private: false,
        date_reminders: crm_app::DateReminders::default(),
    };
    let app = App::new(pool, Arc::new(SystemClock), settings);
    crm_app::sales::scenarios::ensure_typical_sale(&app).unwrap();
    let backend = if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
    let now = Utc::now().naive_utc();
    let scenario = app.read(|c| Ok(q::default_scenario(c)?.unwrap())).unwrap();

    let fill = Instant::now();
    let managers: Vec<uuid::Uuid> = (0..MANAGERS).map(|_| crm_domain::new_id()).collect();
    app.write(|c| {
        for (i, m) in managers.iter().enumerate() {
            uq::insert(
                c,
                &UserInsertForm {
                    id: (*m).into(),
                    email: format!("m{i}-{m}@bench.crm"),
                    name: format!("Manager {i}"),
                    role: "manager".into(),
                    department_id: None,
                    time_zone: "Europe/Moscow".into(),
                    active: true,
                    password_hash: "-".into(),
                    version: 1,
                    created_at: now,
                    updated_at: now,
                    default_service_type: None,
                },
            )?;
        }
        Ok(())
    })
    .unwrap();
    let stages = ["request", "proposal", "payment", "shipment"];
    for chunk in 0..(MANAGERS * PER_MANAGER / 5_000) {
        app.write(|c| {
            for k in 0..5_000 {
                let n = chunk * 5_000 + k;
                let id = crm_domain::new_id();
                q::insert_interest(
                    c,
                    &InterestRow {
                        id: id.into(),
                        scenario_id: scenario.id,
                        stage: stages[n % stages.len()].into(),
                        state: crm_domain::status::InterestState::Active.into(),
                        pending_stage: None,
                        title: format!("Interest {n}"),
                        potential_minor: Some((n as i64 % 1000) * 10_000),
                        currency: "RUB".into(),
                        service_type: None,
                        client_id: None,
                        contact_id: None,
                        responsible_id: managers[n % MANAGERS].into(),
                        loss_reason_id: None,
                        loss_comment: None,
                        loss_approver_id: None,
                        stage_entered_at: now,
                        closed_at: None,
                        version: 1,
                        created_at: now,
                        updated_at: now,
                        expected_close_on: now.date() + chrono::Days::new(30),
                    },
                )?;
                q::insert_task(
                    c,
                    &TaskRow {
                        id: crm_domain::new_id().into(),
                        interest_id: Some(id.into()),
                        title: "Call the client".into(),
                        task_kind: "call".into(),
                        assignee_id: managers[n % MANAGERS].into(),
                        due_at: now + chrono::Duration::hours((n % 72) as i64 - 24),
                        status: crm_domain::status::TaskStatus::Open.into(),
                        rule_stage: None,
                        rule: None,
                        created_by: None,
                        completed_at: None,
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    },
                )?;
                q::insert_interaction(
                    c,
                    &InteractionRow {
                        id: crm_domain::new_id().into(),
                        interest_id: id.into(),
                        kind: "call".into(),
                        status: crm_domain::status::InteractionStatus::Planned.into(),
                        subject: "Follow up".into(),
                        planned_at: Some(now + chrono::Duration::days(1)),
                        completed_at: None,
                        result: None,
                        created_by: None,
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    },
                )?;
            }
            Ok(())
        })
        .unwrap();
    }
    let fill = fill.elapsed();
    if backend == "PostgreSQL" {
        // Fresh bulk loads have no planner statistics yet; a live database has.
        let mut conn = app.pool().get().unwrap();
        crm_store::db::execute_sql(&mut conn, "ANALYZE").unwrap();
    }
    println!(
        "backend: {backend}; filled {} interests (+ a task and an interaction each) in {:.1} s\n",
        MANAGERS * PER_MANAGER,
        fill.as_secs_f64()
    );

    let me = Principal::User(UserPrincipal {
        id: managers[0],
        role: Role::Manager,
        department_id: None,
        session_id: uuid::Uuid::nil(),
    });
    let admin = Principal::User(UserPrincipal {
        id: uuid::Uuid::nil(),
        role: Role::Admin,
        department_id: None,
        session_id: uuid::Uuid::nil(),
    });
    let query = || BoardQuery { responsible: Some("me".into()), ..Default::default() };
    let page = PageRequest { limit: 50, ..Default::default() };
    let b = board(&app, &me, query(), page, crm_app::intake::leads::inbox).unwrap();
    assert_eq!(b.columns.iter().map(|c| c.count).sum::<usize>(), PER_MANAGER);

    let mut lat = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        board(&app, &me, query(), page, crm_app::intake::leads::inbox).unwrap();
        lat.push(t.elapsed());
    }
    let (p50, p95, p99) = percentiles(lat);
    println!("| board of one manager (500 interests, 50 cards per column) | p50 {p50:.1} ms | p95 {p95:.1} ms | p99 {p99:.1} ms |");

    let mut lat = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        board(&app, &admin, BoardQuery::default(), page, crm_app::intake::leads::inbox).unwrap();
        lat.push(t.elapsed());
    }
    let (p50, p95, p99) = percentiles(lat);
    println!("| board of everything (100,000 interests, admin) | p50 {p50:.1} ms | p95 {p95:.1} ms | p99 {p99:.1} ms |");

    let target = app
        .read(|c| {
            let filter = crm_store::queries::sales::InterestFilter {
                responsible_in: Some(vec![managers[0].into()]),
                stage: Some("request".into()),
                ..Default::default()
            };
            Ok(q::list_interests(c, &filter, crm_store::queries::PageQuery::first(1))?[0].id.0)
        })
        .unwrap();
    let mut lat = Vec::new();
    for i in 0..100 {
        let to = if i % 2 == 0 { "proposal" } else { "request" };
        let t = Transition {
            to_stage: to.into(),
            interaction_result: Some("Talked".into()),
            loss_reason_id: None,
            comment: None,
            next: NextStep::Interaction {
                kind: "call".into(),
                planned_at: Utc::now() + chrono::Duration::days(1),
                subject: "Next call".into(),
            },
        };
        let s = Instant::now();
        move_interest(&app, &me, target, None, t).unwrap();
        lat.push(s.elapsed());
    }
    let (p50, p95, p99) = percentiles(lat);
    println!("| stage move (guards, result, entry rules, next step, timeline, outbox) | p50 {p50:.1} ms | p95 {p95:.1} ms | p99 {p99:.1} ms |");
}
