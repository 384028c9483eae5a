//! Every sales report at scale: 100,000 interests of 200 managers of one
//! department made over a year, with 500,000 stage moves between them (a
//! third won, a third lost from payment, a third open after going back
//! once), 60,000 leads (one for every other interest, taken an hour after
//! it came, and 10,000 never taken) and a sales plan per manager and for
//! the department each month. Each report is timed
//! for one manager and for the whole company over the last full month, in
//! process (the use case with its queries, no HTTP). SQLite in a temporary
//! file, or PostgreSQL when `CRM_BENCH_DATABASE_URL` is set (the database is
//! emptied first: use a scratch one). Run: `cargo bench -p crm-app --bench analytics`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDateTime, Utc};
use crm_app::analytics::{funnel, outcomes, people, plans, ReportFilter};
use crm_app::identity::principal::UserPrincipal;
use crm_app::{App, AppError, Principal, Settings, SystemClock};
use crm_domain::status::LeadStatus;
use crm_domain::Role;
use crm_store::queries::{departments as dq, leads as lq, sales as q, users as uq};
use crm_store::rows::{
    DepartmentInsertForm, InterestRow, LeadRow, SalesPlanRow, StageMoveRow, UserInsertForm,
};

const MANAGERS: usize = 200;
const PER_MANAGER: usize = 500;

fn percentiles(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |x: f64| ms(v[((v.len() as f64 - 1.0) * x).round() as usize]);
    (p(0.5), p(0.95), p(0.99))
}

fn settings(dir: &std::path::Path) -> Settings {
    Settings {
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
        mail: crm_app::MailSettings { smtp_url: None, dir: dir.join("mail"), from: "crm@localhost".into() },
        vat_rates: vec![crm_domain::VatRate::Percent(2200), crm_domain::VatRate::Without],
        events_retention: Duration::from_secs(30 * 86_400),
        webhooks_allow_private: false,
        date_reminders: crm_app::DateReminders::default(),
    }
}

/// The moves of interest `n` made at `start`: (stage, days after start).
fn path(n: usize) -> (&'static [(&'static str, i64)], &'static str) {
    match n % 3 {
        0 => (&[("request", 0), ("proposal", 2), ("payment", 5), ("shipment", 8), ("won", 12)], "won"),
        1 => (&[("request", 0), ("proposal", 3), ("payment", 6), ("lost", 9)], "lost"),
        _ => (
            &[
                ("request", 0),
                ("proposal", 2),
                ("payment", 4),
                ("proposal", 6),
                ("payment", 9),
                ("shipment", 11),
            ],
            "active",
        ),
    }
}

/// The `n`-th lead, by one of four channels, for `manager`: taken into
/// `interest` an hour after it came at `at` less an hour, or waiting.
fn lead(n: usize, interest: Option<uuid::Uuid>, manager: uuid::Uuid, at: NaiveDateTime) -> LeadRow {
    let (channel, source) =
        [("email", "sales@"), ("phone", "Line 1"), ("form", "Website"), ("telegram", "Bot")][n % 4];
    let status = if interest.is_some() { LeadStatus::Accepted } else { LeadStatus::New };
    let came = at - chrono::Duration::hours(1);
    LeadRow {
        id: crm_domain::new_id().into(),
        channel: channel.into(),
        source: Some(source.into()),
        external_id: None,
        thread_key: None,
        status: status.into(),
        received_at: came,
        name: Some(format!("Lead {n}")),
        phone: None,
        email: None,
        contact_as_given: None,
        subject: Some(format!("Request {n}")),
        body: None,
        client_id: None,
        contact_id: None,
        assignee_id: Some(manager.into()),
        interest_id: interest.map(Into::into),
        reject_reason: None,
        reject_comment: None,
        raw_payload: None,
        parse_note: None,
        processed_by: interest.map(|_| manager.into()),
        processed_at: interest.map(|_| at),
        version: 1,
        created_at: came,
        updated_at: at,
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("CRM_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("analytics.db").display()));
    let (pool, _) = crm_app::open_database(&url, 4, Duration::from_secs(10)).unwrap();
    let app = App::new(pool, Arc::new(SystemClock), settings(dir.path()));
    crm_app::sales::scenarios::ensure_typical_sale(&app).unwrap();
    let backend = if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
    let now = Utc::now().naive_utc();
    let scenario = app.read(|c| Ok(q::default_scenario(c)?.unwrap())).unwrap();
    let reason = crm_app::sales::loss_reasons::create_loss_reason(
        &app,
        &Principal::User(UserPrincipal {
            id: uuid::Uuid::nil(),
            role: Role::Admin,
            department_id: None,
            session_id: uuid::Uuid::nil(),
        }),
        "Price",
    )
    .unwrap();

    let fill = Instant::now();
    let managers: Vec<uuid::Uuid> = (0..MANAGERS).map(|_| crm_domain::new_id()).collect();
    let department = crm_domain::new_id();
    app.write(|c| {
        dq::insert(
            c,
            &DepartmentInsertForm {
                id: department.into(),
                name: "Sales".into(),
                name_key: "sales".into(),
                head_id: None,
                parent_id: None,
                version: 1,
                created_at: now,
                updated_at: now,
            },
        )?;
        for (i, m) in managers.iter().enumerate() {
            uq::insert(
                c,
                &UserInsertForm {
                    id: (*m).into(),
                    email: format!("m{i}-{m}@bench.crm"),
                    name: format!("Manager {i:03}"),
                    role: "manager".into(),
                    department_id: Some(department.into()),
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
    let year_ago = now - chrono::Duration::days(365);
    let mut moves = 0usize;
    let mut leads = 0usize;
    for chunk in 0..(MANAGERS * PER_MANAGER / 2_000) {
        app.write(|c| {
            for k in 0..2_000 {
                let n = chunk * 2_000 + k;
                let id = crm_domain::new_id();
                // Spread over the year, any hour.
                let start: NaiveDateTime = year_ago
                    + chrono::Duration::days(((n * 7_919) % 340) as i64)
                    + chrono::Duration::minutes(((n * 131) % 1_440) as i64);
                let (steps, state) = path(n);
                let (last, days) = steps[steps.len() - 1];
                let at = |d: i64| start + chrono::Duration::days(d);
                let closed = state != "active";
                q::insert_interest(
                    c,
                    &InterestRow {
                        id: id.into(),
                        scenario_id: scenario.id,
                        stage: last.into(),
                        state: crm_domain::status::InterestState::parse(state).unwrap().into(),
                        pending_stage: None,
                        title: format!("Interest {n}"),
                        potential_minor: Some(((n % 1000) as i64 + 1) * 10_000),
                        currency: if n % 50 == 0 { "USD" } else { "RUB" }.into(),
                        service_type: None,
                        client_id: None,
                        contact_id: None,
                        responsible_id: managers[n % MANAGERS].into(),
                        loss_reason_id: (state == "lost").then_some(reason.id.into()),
                        loss_comment: None,
                        loss_approver_id: None,
                        stage_entered_at: at(days),
                        closed_at: closed.then(|| at(days)),
                        version: 1,
                        created_at: start,
                        updated_at: at(days),
                        expected_close_on: (start + chrono::Duration::days(30)).date(),
                    },
                )?;
                let manager = managers[n % MANAGERS];
                if n % 2 == 0 {
                    lq::insert_lead(c, &lead(n, Some(id), manager, start))?;
                    leads += 1;
                }
                if n % 10 == 1 {
                    lq::insert_lead(c, &lead(n, None, manager, start))?;
                    leads += 1;
                }
                let mut from: Option<&str> = None;
                for (stage, d) in steps {
                    q::insert_stage_move(
                        c,
                        &StageMoveRow {
                            id: crm_domain::new_id().into(),
                            interest_id: id.into(),
                            scenario_id: scenario.id,
                            from_stage: from.map(str::to_owned),
                            to_stage: (*stage).into(),
                            moved_at: at(*d),
                            actor_kind: "user".into(),
                            actor_id: Some(managers[n % MANAGERS].into()),
                            trigger_event: None,
                            interaction_result: None,
                            loss_reason_id: (*stage == "lost").then_some(reason.id.into()),
                        },
                    )?;
                    from = Some(stage);
                    moves += 1;
                }
            }
            Ok::<_, AppError>(())
        })
        .unwrap();
    }
    // A plan per manager and one for the department, for each of the 13 months.
    let mut plan_count = 0usize;
    app.write(|c| {
        let first = year_ago.date().with_day(1).unwrap();
        for k in 0..13 {
            let month = first.checked_add_months(chrono::Months::new(k)).unwrap();
            let targets = managers.iter().map(|m| (Some(*m), None)).chain([(None, Some(department))]);
            for (user, dept) in targets {
                q::insert_plan(
                    c,
                    &SalesPlanRow {
                        id: crm_domain::new_id().into(),
                        month,
                        user_id: user.map(Into::into),
                        department_id: dept.map(Into::into),
                        currency: "RUB".into(),
                        amount_minor: 50_000_000,
                        note: None,
                        created_by: None,
                        version: 1,
                        created_at: now,
                        updated_at: now,
                        deleted_at: None,
                    },
                )?;
                plan_count += 1;
            }
        }
        Ok::<_, AppError>(())
    })
    .unwrap();
    let fill = fill.elapsed();
    if backend == "PostgreSQL" {
        // Fresh bulk loads have no planner statistics yet; a live database has.
        let mut conn = app.pool().get().unwrap();
        crm_store::db::execute_sql(&mut conn, "ANALYZE").unwrap();
    }
    println!(
        "backend: {backend}; filled {} interests, {moves} stage moves, {leads} leads and {plan_count} plans in {:.1} s\n",
        MANAGERS * PER_MANAGER,
        fill.as_secs_f64()
    );

    let me = Principal::User(UserPrincipal {
        id: managers[0],
        role: Role::Manager,
        department_id: Some(department),
        session_id: uuid::Uuid::nil(),
    });
    let admin = Principal::User(UserPrincipal {
        id: uuid::Uuid::nil(),
        role: Role::Admin,
        department_id: None,
        session_id: uuid::Uuid::nil(),
    });
    // The last full month.
    let this_month = now.date().with_day(1).unwrap();
    let from = this_month.checked_sub_months(chrono::Months::new(1)).unwrap();
    let to = this_month.pred_opt().unwrap();
    let filter = ReportFilter { from: Some(from), to: Some(to), ..Default::default() };
    println!("period {from} to {to}\n");
    println!("| report | one manager (500 interests): p50 / p95 / p99 ms | whole company (100,000): p50 / p95 / p99 ms |");
    println!("|---|---|---|");
    type Run = fn(&App, &Principal, &ReportFilter) -> Result<(), AppError>;
    let reports: [(&str, Run); 9] = [
        ("funnel", |a, p, f| funnel::funnel(a, p, f).map(|_| ())),
        ("stage-durations", |a, p, f| funnel::stage_durations(a, p, f).map(|_| ())),
        ("win-rate", |a, p, f| outcomes::win_rate(a, p, f).map(|_| ())),
        ("loss-reasons", |a, p, f| outcomes::loss_reasons(a, p, f).map(|_| ())),
        ("forecast", |a, p, f| outcomes::forecast(a, p, f).map(|_| ())),
        ("managers", |a, p, f| people::managers(a, p, f).map(|_| ())),
        ("lead-sources", |a, p, f| people::lead_sources(a, p, f).map(|_| ())),
        ("stale-interests", |a, p, f| people::stale_interests(a, p, f, 14, 50).map(|_| ())),
        ("plan-fact", |a, p, f| plans::plan_fact(a, p, f).map(|_| ())),
    ];
    for (name, run) in reports {
        let time = |who: &Principal, runs: usize| {
            run(&app, who, &filter).unwrap();
            let mut lat = Vec::new();
            for _ in 0..runs {
                let t = Instant::now();
                run(&app, who, &filter).unwrap();
                lat.push(t.elapsed());
            }
            percentiles(lat)
        };
        let (m50, m95, m99) = time(&me, 50);
        let (c50, c95, c99) = time(&admin, 20);
        println!("| {name} | {m50:.1} / {m95:.1} / {m99:.1} | {c50:.1} / {c95:.1} / {c99:.1} |");
    }
}
