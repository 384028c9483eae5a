//! Sales analytics: a known history is built through the API with the
//! injected clock, and every report's figures are held to numbers worked out
//! by hand below — never recomputed with the reports' own code.
//!
//! The history (times are Moscow's, the organisation's zone; RUB unless said):
//!
//! | | who | made | moves | now |
//! |---|---|---|---|---|
//! | A | Ivan | 2 Nov from an e-mail lead (sales@), 100 000 | proposal 4 Nov, payment 6 Nov, paid 9 Nov → shipment, shipped 12 Nov → won (revenue 50 000) | won |
//! | B | Ivan | 3 Nov from a phone lead (Line 1), 200 000 | payment 5 Nov (proposal skipped); expected to close 20 Jan | payment |
//! | C | Ivan | 3 Nov, 80 000 | loss asked 10 Nov ("Price"), approved 11 Nov | lost from request |
//! | D | Ivan | 5 Nov, 60 000 | proposal 7 Nov, loss asked 8 Nov, returned to request 9 Nov, payment 2 Dec | payment |
//! | E | Maria | 10 Nov, 1 000 USD | proposal 20 Nov, loss asked 25 Nov ("Competitor"), approved 1 Dec 10:00 | lost from proposal |
//! | G | Maria | 30 Nov 23:30, 30 000 | proposal 3 Dec | proposal |
//! | F | Maria | 1 Dec 00:30, 40 000 | — | request |
//!
//! Two more leads stay untaken: a phone one (Line 1) to the shared inbox on
//! 15 Nov, an e-mail one (sales@) for Maria on 29 Nov. No interaction is
//! ever done, so an interest's last activity is its last move.
//!
//! Every action happens at 10:00 unless a time is given; the reports are read
//! on 3 December at 10:00. G and F straddle midnight in Moscow (20:30 and
//! 21:30 UTC on 30 November): G is November's, F December's.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};

use crate::helpers::*;

pub(crate) fn moscow(month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    SERVER_ZONE.with_ymd_and_hms(2026, month, day, hour, minute, 0).unwrap().with_timezone(&Utc)
}

/// A server whose sign-ins last through the five weeks the history spans.
pub(crate) async fn spawn() -> TestApp {
    spawn_app_with(&[("CRM_ACCESS_TOKEN_TTL", "60d"), ("CRM_REFRESH_TOKEN_TTL", "60d")]).await
}

pub(crate) async fn ok(r: Reply, status: u16) -> Value {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    r.body
}

pub(crate) struct World {
    pub admin: String,
    pub head: String,
    pub ivan: String,
    pub ivan_id: String,
    pub maria_id: String,
    pub olga: String,
    /// "Sales", which the head heads and Ivan and Maria belong to.
    pub dept: String,
}

async fn world(app: &TestApp) -> World {
    app.clock.set(moscow(11, 1, 10, 0));
    let admin = app.admin_token().await;
    let dept = ok(app.post("/api/v1/departments", Some(&admin), &json!({"name": "Sales"})).await, 201).await;
    let d = dept["id"].as_str().unwrap();
    let head = app.create_user(&admin, "head@test.crm", "head", Some(d)).await;
    ok(app.patch(&format!("/api/v1/departments/{d}"), &admin, &json!({"head_id": head["id"]})).await, 200)
        .await;
    let ivan = app.create_user(&admin, "ivan@test.crm", "manager", Some(d)).await;
    let maria = app.create_user(&admin, "maria@test.crm", "manager", Some(d)).await;
    app.create_user(&admin, "olga@test.crm", "accountant", None).await;
    World {
        head: app.token("head@test.crm", PASSWORD).await,
        ivan: app.token("ivan@test.crm", PASSWORD).await,
        ivan_id: ivan["id"].as_str().unwrap().to_owned(),
        maria_id: maria["id"].as_str().unwrap().to_owned(),
        olga: app.token("olga@test.crm", PASSWORD).await,
        dept: d.to_owned(),
        admin,
    }
}

pub(crate) async fn interest(app: &TestApp, token: &str, body: Value) -> String {
    ok(app.post("/api/v1/interests", Some(token), &body).await, 201).await["id"].as_str().unwrap().to_owned()
}

async fn lead(app: &TestApp, token: &str, body: Value) -> String {
    ok(app.post("/api/v1/leads", Some(token), &body).await, 201).await["id"].as_str().unwrap().to_owned()
}

/// A lead assigned to `who`, accepted by them into a new interest.
async fn from_lead(
    app: &TestApp,
    token: &str,
    who: &str,
    mut body: Value,
    title: &str,
    amount: &str,
) -> String {
    body["assignee_id"] = json!(who);
    body["subject"] = json!(title);
    let id = lead(app, token, body).await;
    let accepted = ok(
        app.post(
            &format!("/api/v1/leads/{id}/accept"),
            Some(token),
            &json!({"mode": "new_interest", "title": title, "potential_amount": amount}),
        )
        .await,
        200,
    )
    .await;
    accepted["interest"]["id"].as_str().unwrap().to_owned()
}

async fn mv(app: &TestApp, token: &str, id: &str, body: Value) {
    ok(app.post(&format!("/api/v1/interests/{id}/transitions"), Some(token), &body).await, 200).await;
}

async fn decide(app: &TestApp, token: &str, id: &str, body: Value) {
    ok(app.post(&format!("/api/v1/interests/{id}/loss-decision"), Some(token), &body).await, 200).await;
}

/// Builds the history of the table above; returns the world and the ids A…G.
pub(crate) async fn history(app: &TestApp) -> (World, Vec<String>) {
    let w = world(app).await;
    let price =
        ok(app.post("/api/v1/loss-reasons", Some(&w.head), &json!({"name": "Price"})).await, 201).await;
    let rival =
        ok(app.post("/api/v1/loss-reasons", Some(&w.head), &json!({"name": "Competitor"})).await, 201).await;
    let chair = ok(
        app.post(
            "/api/v1/products",
            Some(&w.admin),
            &json!({"sku": "CHAIR", "name": "Office chair", "price": "1000", "vat_rate": "22"}),
        )
        .await,
        201,
    )
    .await;
    let client = ok(
        app.post("/api/v1/clients", Some(&w.ivan), &json!({"name": "ООО «Ромашка»", "kind": "company"}))
            .await,
        201,
    )
    .await;
    let maria = app.token("maria@test.crm", PASSWORD).await;

    app.clock.set(moscow(11, 2, 10, 0));
    let a =
        from_lead(app, &w.ivan, &w.ivan_id, json!({"channel": "email", "source": "sales@"}), "A", "100000")
            .await;
    ok(app.patch(&format!("/api/v1/interests/{a}"), &w.ivan, &json!({"client_id": client["id"]})).await, 200)
        .await;
    app.clock.set(moscow(11, 3, 10, 0));
    let b =
        from_lead(app, &w.ivan, &w.ivan_id, json!({"channel": "phone", "source": "Line 1"}), "B", "200000")
            .await;
    let c = interest(app, &w.ivan, json!({"title": "C", "potential_amount": "80000"})).await;
    app.clock.set(moscow(11, 4, 10, 0));
    mv(app, &w.ivan, &a, json!({"to_stage": "proposal"})).await;
    app.clock.set(moscow(11, 5, 10, 0));
    mv(app, &w.ivan, &b, json!({"to_stage": "payment"})).await;
    ok(
        app.patch(&format!("/api/v1/interests/{b}"), &w.ivan, &json!({"expected_close_on": "2027-01-20"}))
            .await,
        200,
    )
    .await;
    let d = interest(app, &w.ivan, json!({"title": "D", "potential_amount": "60000"})).await;
    app.clock.set(moscow(11, 6, 10, 0));
    mv(app, &w.ivan, &a, json!({"to_stage": "payment"})).await;
    let order = ok(
        app.post(
            &format!("/api/v1/interests/{a}/orders"),
            Some(&w.ivan),
            &json!({"lines": [{"product_id": chair["id"], "quantity": "50"}]}),
        )
        .await,
        201,
    )
    .await;
    let oid = order["id"].as_str().unwrap().to_owned();
    ok(app.post(&format!("/api/v1/orders/{oid}/confirm"), Some(&w.ivan), &json!({})).await, 200).await;
    app.clock.set(moscow(11, 7, 10, 0));
    mv(app, &w.ivan, &d, json!({"to_stage": "proposal"})).await;
    app.clock.set(moscow(11, 8, 10, 0));
    mv(app, &w.ivan, &d, json!({"to_stage": "lost", "loss_reason_id": price["id"]})).await;
    app.clock.set(moscow(11, 9, 10, 0));
    ok(
        app.post(
            "/api/v1/payments",
            Some(&w.olga),
            &json!({"order_id": oid, "amount": "50000", "external_ref": "PP-1"}),
        )
        .await,
        201,
    )
    .await;
    decide(app, &w.head, &d, json!({"decision": "return", "to_stage": "request"})).await;
    app.clock.set(moscow(11, 10, 10, 0));
    mv(app, &w.ivan, &c, json!({"to_stage": "lost", "loss_reason_id": price["id"]})).await;
    let e = interest(app, &maria, json!({"title": "E", "potential_amount": "1000", "currency": "USD"})).await;
    app.clock.set(moscow(11, 11, 10, 0));
    decide(app, &w.head, &c, json!({"decision": "approve"})).await;
    app.clock.set(moscow(11, 12, 10, 0));
    let line = app.get(&format!("/api/v1/orders/{oid}"), &w.ivan).await.body["lines"][0]["id"].clone();
    ok(
        app.post(
            &format!("/api/v1/orders/{oid}/shipments"),
            Some(&w.ivan),
            &json!({"kind": "sales_document", "lines": [{"order_line_id": line, "quantity": "50"}]}),
        )
        .await,
        201,
    )
    .await;
    let won = app.get(&format!("/api/v1/interests/{a}"), &w.ivan).await.body;
    assert_eq!((won["state"].as_str(), won["potential_amount"].as_str()), (Some("won"), Some("50000.00")));
    app.clock.set(moscow(11, 15, 10, 0));
    lead(app, &w.ivan, json!({"channel": "phone", "source": "Line 1", "subject": "L4, to the shared inbox"}))
        .await;
    app.clock.set(moscow(11, 20, 10, 0));
    mv(app, &maria, &e, json!({"to_stage": "proposal"})).await;
    app.clock.set(moscow(11, 25, 10, 0));
    mv(app, &maria, &e, json!({"to_stage": "lost", "loss_reason_id": rival["id"]})).await;
    app.clock.set(moscow(11, 29, 10, 0));
    lead(
        app,
        &w.ivan,
        json!({"channel": "email", "source": "sales@", "subject": "L3", "assignee_id": w.maria_id}),
    )
    .await;
    app.clock.set(moscow(11, 30, 23, 30));
    let g = interest(app, &maria, json!({"title": "G", "potential_amount": "30000"})).await;
    app.clock.set(moscow(12, 1, 0, 30));
    let f = interest(app, &maria, json!({"title": "F", "potential_amount": "40000"})).await;
    app.clock.set(moscow(12, 1, 10, 0));
    decide(app, &w.head, &e, json!({"decision": "approve"})).await;
    app.clock.set(moscow(12, 2, 10, 0));
    mv(app, &w.ivan, &d, json!({"to_stage": "payment"})).await;
    app.clock.set(moscow(12, 3, 10, 0));
    mv(app, &maria, &g, json!({"to_stage": "proposal"})).await;
    (w, vec![a, b, c, d, e, f, g])
}

pub(crate) async fn report(app: &TestApp, token: &str, path: &str) -> Value {
    ok(app.get(&format!("/api/v1/analytics/{path}"), token).await, 200).await
}

const NOVEMBER: &str = "from=2026-11-01&to=2026-11-30";
const DECEMBER: &str = "from=2026-12-01&to=2026-12-31";

/// `[[currency, sum], …]` of a list of currency sums.
fn money(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| (s["currency"].as_str().unwrap().to_owned(), s["sum"].as_str().unwrap().to_owned()))
        .collect()
}

fn rub(sum: &str) -> Vec<(String, String)> {
    vec![("RUB".to_owned(), sum.to_owned())]
}

fn rub_usd(rub: &str, usd: &str) -> Vec<(String, String)> {
    vec![("RUB".to_owned(), rub.to_owned()), ("USD".to_owned(), usd.to_owned())]
}

/// Per stage: (code, reached, to_next, to_won, lost_here).
fn funnel_rows(f: &Value) -> Vec<(String, u64, Value, Value, u64)> {
    f["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["code"].as_str().unwrap().to_owned(),
                s["reached"].as_u64().unwrap(),
                s["to_next"].clone(),
                s["to_won"].clone(),
                s["lost_here"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn row(
    code: &str,
    reached: u64,
    to_next: Value,
    to_won: Value,
    lost_here: u64,
) -> (String, u64, Value, Value, u64) {
    (code.to_owned(), reached, to_next, to_won, lost_here)
}

/// Per stage: (code, completed, mean, median, current, current mean).
fn duration_rows(d: &Value) -> Vec<(String, u64, Value, Value, u64, Value)> {
    d["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["code"].as_str().unwrap().to_owned(),
                s["completed"].as_u64().unwrap(),
                s["mean_days"].clone(),
                s["median_days"].clone(),
                s["current"].as_u64().unwrap(),
                s["current_mean_days"].clone(),
            )
        })
        .collect()
}

async fn check_november_funnel(app: &TestApp, token: &str) {
    // Moved in November: A, B, C, D, E, G. Reached: request all six;
    // proposal A, B (skipped it), D, E; payment A, B; shipment and won A.
    let f = report(app, token, &format!("funnel?{NOVEMBER}")).await;
    assert_eq!((f["interests"].as_u64(), f["lost"].as_u64()), (Some(6), Some(1)), "{f}");
    assert_eq!(f["period"], json!({"from": "2026-11-01", "to": "2026-11-30", "time_zone": "Europe/Moscow"}));
    assert_eq!(
        funnel_rows(&f),
        vec![
            row("request", 6, json!(66.7), json!(16.7), 1),
            row("proposal", 4, json!(50.0), json!(25.0), 0),
            row("payment", 2, json!(50.0), json!(50.0), 0),
            row("shipment", 1, json!(100.0), json!(100.0), 0),
            row("won", 1, Value::Null, Value::Null, 0),
        ]
    );
    // A counts at its revenue (50 000) since it was won; E in dollars, apart.
    let sums: Vec<_> = f["stages"].as_array().unwrap().iter().map(|s| money(&s["potential"])).collect();
    assert_eq!(
        sums,
        vec![
            rub_usd("420000.00", "1000.00"),
            rub_usd("310000.00", "1000.00"),
            rub("250000.00"),
            rub("50000.00"),
            rub("50000.00"),
        ]
    );
}

async fn check_durations(app: &TestApp, token: &str) {
    // Stays ended in November — request: A 2, B 2, C 8 (to lost), D 2, E 10
    // days; proposal: A 2, D 2 (returned to request); payment A 3; shipment A 3.
    // On a stage now (3 Dec 10:00): request F since 1 Dec 00:30 (2 d 9.5 h),
    // proposal G since today, payment B since 5 Nov (28 d) and D since 2 Dec (1 d).
    let nov = report(app, token, &format!("stage-durations?{NOVEMBER}")).await;
    assert_eq!(
        duration_rows(&nov),
        vec![
            ("request".into(), 5, json!(4.8), json!(2.0), 1, json!(2.4)),
            ("proposal".into(), 2, json!(2.0), json!(2.0), 1, json!(0.0)),
            ("payment".into(), 1, json!(3.0), json!(3.0), 2, json!(14.5)),
            ("shipment".into(), 1, json!(3.0), json!(3.0), 0, Value::Null),
        ]
    );
    // December: D left request after 23 days, G after 2 d 10.5 h (mean and
    // median 12.72); E left proposal for lost after 11 days.
    let dec = report(app, token, &format!("stage-durations?{DECEMBER}")).await;
    assert_eq!(
        duration_rows(&dec),
        vec![
            ("request".into(), 2, json!(12.72), json!(12.72), 1, json!(2.4)),
            ("proposal".into(), 1, json!(11.0), json!(11.0), 1, json!(0.0)),
            ("payment".into(), 0, Value::Null, Value::Null, 2, json!(14.5)),
            ("shipment".into(), 0, Value::Null, Value::Null, 0, Value::Null),
        ]
    );
}

async fn check_outcomes(app: &TestApp, token: &str) {
    // November closed A (won, 10 days) and C (lost, 8 days).
    let nov = report(app, token, &format!("win-rate?{NOVEMBER}")).await;
    assert_eq!(
        (
            &nov["won"],
            &nov["lost"],
            &nov["win_rate"],
            &nov["average_cycle_days"],
            &nov["won_average_cycle_days"]
        ),
        (&json!(1), &json!(1), &json!(50.0), &json!(9.0), &json!(10.0))
    );
    assert_eq!(money(&nov["won_amount"]), rub("50000.00"));
    // December closed E only (lost after 21 days).
    let dec = report(app, token, &format!("win-rate?{DECEMBER}")).await;
    assert_eq!(
        (
            &dec["won"],
            &dec["lost"],
            &dec["win_rate"],
            &dec["average_cycle_days"],
            &dec["won_average_cycle_days"]
        ),
        (&json!(0), &json!(1), &json!(0.0), &json!(21.0), &Value::Null)
    );
    assert!(money(&dec["won_amount"]).is_empty());

    // D's loss was returned, so only C (Price, from request) and E
    // (Competitor, from proposal, in dollars) are losses.
    let losses = report(app, token, "loss-reasons?from=2026-11-01&to=2026-12-31").await;
    assert_eq!(losses["lost"], 2);
    let reasons: Vec<_> = losses["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["count"].as_u64().unwrap(),
                money(&r["potential"]),
                r["stages"].clone(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            (
                "Competitor".to_owned(),
                1,
                vec![("USD".to_owned(), "1000.00".to_owned())],
                json!([{"code": "proposal", "name": "Proposal", "count": 1}])
            ),
            (
                "Price".to_owned(),
                1,
                rub("80000.00"),
                json!([{"code": "request", "name": "Request", "count": 1}])
            ),
        ]
    );
    let november = report(app, token, &format!("loss-reasons?{NOVEMBER}")).await;
    assert_eq!((november["lost"].as_u64(), november["reasons"].as_array().unwrap().len()), (Some(1), 1));

    // Open now and their expected close: B 20 Jan (payment, 70 %); D 5 Dec
    // (made 5 Nov + 30 days; payment, 70 %); G 30 Dec (proposal, 30 %);
    // F 31 Dec (request, 10 %). December: 60 000 + 30 000 + 40 000 = 130 000,
    // weighted 42 000 + 9 000 + 4 000 = 55 000. January: B, 140 000 weighted.
    // Won: A in November.
    let forecast = report(app, token, "forecast?from=2026-11-01&to=2027-01-31").await;
    let months: Vec<_> = forecast["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["from"].as_str().unwrap().to_owned(),
                m["open"].as_u64().unwrap(),
                money(&m["potential"]),
                money(&m["weighted"]),
                m["won"].as_u64().unwrap(),
                money(&m["won_amount"]),
            )
        })
        .collect();
    assert_eq!(
        months,
        vec![
            ("2026-11-01".to_owned(), 0, vec![], vec![], 1, rub("50000.00")),
            ("2026-12-01".to_owned(), 3, rub("130000.00"), rub("55000.00"), 0, vec![]),
            ("2027-01-01".to_owned(), 1, rub("200000.00"), rub("140000.00"), 0, vec![]),
        ]
    );
}

#[tokio::test]
async fn every_report_gives_the_figures_worked_out_by_hand() {
    let app = spawn().await;
    let (w, _) = history(&app).await;
    for token in [&w.admin, &w.head] {
        check_november_funnel(&app, token).await;
        check_durations(&app, token).await;
        check_outcomes(&app, token).await;
    }

    // December's funnel: F request; D payment (so request and proposal
    // too); G proposal; E only lost, from proposal.
    let dec = report(&app, &w.head, &format!("funnel?{DECEMBER}")).await;
    assert_eq!((dec["interests"].as_u64(), dec["lost"].as_u64()), (Some(4), Some(1)));
    assert_eq!(
        funnel_rows(&dec),
        vec![
            row("request", 3, json!(66.7), json!(0.0), 0),
            row("proposal", 2, json!(50.0), json!(0.0), 1),
            row("payment", 1, json!(0.0), json!(0.0), 0),
            row("shipment", 0, Value::Null, Value::Null, 0),
            row("won", 0, Value::Null, Value::Null, 0),
        ]
    );
}

/// Per person: (name, leads taken, opened, won, lost, win rate, cycle, open, open with overdue tasks).
type ManagerRow = (String, u64, u64, u64, u64, Value, Value, u64, u64);

fn manager_rows(m: &Value) -> Vec<ManagerRow> {
    m["managers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["leads_taken"].as_u64().unwrap(),
                r["opened"].as_u64().unwrap(),
                r["won"].as_u64().unwrap(),
                r["lost"].as_u64().unwrap(),
                r["win_rate"].clone(),
                r["average_cycle_days"].clone(),
                r["open"].as_u64().unwrap(),
                r["open_with_overdue_tasks"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn people_sources_and_idle_deals_are_counted_by_hand_too() {
    let app = spawn().await;
    let (w, ids) = history(&app).await;
    // November. Ivan took two leads (A, B), opened A–D, won A (10 days,
    // 50 000) and lost C (8 days); open now B and D, each with its "Call the
    // client" task long overdue. Maria opened E and G (F is December's) and
    // closed nothing in November; open now F and G, their call tasks overdue.
    let m = report(&app, &w.head, &format!("managers?{NOVEMBER}")).await;
    let n = |s: &str| s.to_owned();
    assert_eq!(
        manager_rows(&m),
        vec![
            (n("User head@test.crm"), 0, 0, 0, 0, Value::Null, Value::Null, 0, 0),
            (n("User ivan@test.crm"), 2, 4, 1, 1, json!(50.0), json!(9.0), 2, 2),
            (n("User maria@test.crm"), 0, 2, 0, 0, Value::Null, Value::Null, 2, 2),
        ]
    );
    assert_eq!(money(&m["managers"][1]["won_amount"]), rub("50000.00"));
    // Ivan sees his own row only.
    let mine = report(&app, &w.ivan, &format!("managers?{NOVEMBER}")).await;
    assert_eq!(
        manager_rows(&mine),
        vec![(n("User ivan@test.crm"), 2, 4, 1, 1, json!(50.0), json!(9.0), 2, 2)]
    );

    // Leads received in November: e-mail (sales@) A's and Maria's untaken
    // one; phone (Line 1) B's and the shared inbox's. The admin sees all four;
    // the head not the shared inbox's.
    let admin = report(&app, &w.admin, &format!("lead-sources?{NOVEMBER}")).await;
    let sources = |r: &Value| -> Vec<(String, String, u64, u64, u64)> {
        r["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["channel"].as_str().unwrap().to_owned(),
                    s["source"].as_str().unwrap().to_owned(),
                    s["received"].as_u64().unwrap(),
                    s["taken"].as_u64().unwrap(),
                    s["won"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(admin["received"], 4);
    assert_eq!(sources(&admin), vec![(n("email"), n("sales@"), 2, 1, 1), (n("phone"), n("Line 1"), 2, 1, 0)]);
    assert_eq!(money(&admin["sources"][0]["won_amount"]), rub("50000.00"));
    let head = report(&app, &w.head, &format!("lead-sources?{NOVEMBER}")).await;
    assert_eq!(head["received"], 3);
    assert_eq!(sources(&head), vec![(n("email"), n("sales@"), 2, 1, 1), (n("phone"), n("Line 1"), 1, 1, 0)]);

    // Idle on 3 Dec 10:00: B since 5 Nov (28 days). With one day: F too
    // (since 1 Dec 00:30, 2.4 days); D moved exactly a day ago, not before it.
    let stale = report(&app, &w.head, "stale-interests").await;
    assert_eq!((stale["days"].as_u64(), stale["count"].as_u64()), (Some(14), Some(1)));
    assert_eq!(money(&stale["at_risk"]), rub("200000.00"));
    assert_eq!(stale["items"][0]["interest_id"], ids[1].as_str());
    assert_eq!(stale["items"][0]["idle_days"], json!(28.0));
    assert_eq!(stale["items"][0]["last_activity_at"], "2026-11-05T07:00:00Z");
    let day = report(&app, &w.head, "stale-interests?days=1&limit=1").await;
    assert_eq!(day["count"], 2);
    assert_eq!(money(&day["at_risk"]), rub("240000.00"));
    let listed: Vec<_> = day["items"].as_array().unwrap().iter().map(|i| i["title"].clone()).collect();
    assert_eq!(listed, [json!("B")]);
    let all = report(&app, &w.head, "stale-interests?days=1").await;
    let listed: Vec<_> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["title"].clone(), i["idle_days"].clone()))
        .collect();
    assert_eq!(listed, [(json!("B"), json!(28.0)), (json!("F"), json!(2.4))]);
    // Maria's only: F.
    let hers = report(&app, &w.head, &format!("stale-interests?days=1&responsible_id={}", w.maria_id)).await;
    assert_eq!(hers["count"], 1);
    for bad in ["days=0", "days=366", "limit=0", "limit=201"] {
        app.get(&format!("/api/v1/analytics/stale-interests?{bad}"), &w.head).await.problem(400);
    }
}

#[tokio::test]
async fn each_reader_gets_the_figures_of_whom_they_see() {
    let app = spawn().await;
    let (w, _) = history(&app).await;
    // Ivan sees his own: A, B, C, D moved in November.
    let mine = report(&app, &w.ivan, &format!("funnel?{NOVEMBER}")).await;
    assert_eq!(mine["interests"], 4);
    assert_eq!(funnel_rows(&mine)[0], row("request", 4, json!(75.0), json!(25.0), 1));
    // Asking for Maria's figures gives him nothing, as if she had none.
    let theirs = report(&app, &w.ivan, &format!("funnel?{NOVEMBER}&responsible_id={}", w.maria_id)).await;
    assert_eq!(theirs["interests"], 0);
    assert!(funnel_rows(&theirs).iter().all(|r| r.1 == 0));
    // The head narrows to Maria: E and G.
    let maria = report(&app, &w.head, &format!("funnel?{NOVEMBER}&responsible_id={}", w.maria_id)).await;
    assert_eq!(maria["interests"], 2);
    assert_eq!(
        funnel_rows(&maria)[..2],
        [row("request", 2, json!(50.0), json!(0.0), 0), row("proposal", 1, json!(0.0), json!(0.0), 0)]
    );
    assert_eq!(money(&maria["stages"][0]["potential"]), rub_usd("30000.00", "1000.00"));
    // A department nobody of the figures belongs to: nothing.
    let other =
        ok(app.post("/api/v1/departments", Some(&w.admin), &json!({"name": "Service"})).await, 201).await;
    let empty = report(
        &app,
        &w.admin,
        &format!("win-rate?{NOVEMBER}&department_id={}", other["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        (empty["won"].as_u64(), empty["lost"].as_u64(), &empty["win_rate"]),
        (Some(0), Some(0), &Value::Null)
    );
    // An accountant reads no sales reports.
    for path in [
        "funnel",
        "stage-durations",
        "win-rate",
        "loss-reasons",
        "forecast",
        "managers",
        "lead-sources",
        "stale-interests",
    ] {
        app.get(&format!("/api/v1/analytics/{path}"), &w.olga).await.problem(403);
    }
}

#[tokio::test]
async fn a_bad_period_or_close_date_is_refused_and_changes_nothing() {
    let app = spawn().await;
    let (w, ids) = history(&app).await;
    let r = app.get("/api/v1/analytics/funnel?from=2026-12-01&to=2026-11-30", &w.head).await;
    r.problem(422);
    assert_eq!(r.error_fields(), vec!["to"]);
    app.get("/api/v1/analytics/win-rate?from=2026-01-01&to=2028-01-02", &w.head).await.problem(422);
    app.get("/api/v1/analytics/forecast?from=2026-13-01", &w.head).await.problem(400);
    let b = &ids[1];
    let before = app.get(&format!("/api/v1/interests/{b}"), &w.ivan).await.body;
    assert_eq!(before["expected_close_on"], "2027-01-20");
    assert_eq!(before["probability"], 70);
    let past = app
        .patch(&format!("/api/v1/interests/{b}"), &w.ivan, &json!({"expected_close_on": "2026-12-02"}))
        .await;
    past.problem(422);
    assert_eq!(past.error_fields(), vec!["expected_close_on"]);
    let after = app.get(&format!("/api/v1/interests/{b}"), &w.ivan).await.body;
    assert_eq!(
        (after["expected_close_on"].clone(), after["version"].clone()),
        (before["expected_close_on"].clone(), before["version"].clone())
    );
    // Today is fine.
    ok(
        app.patch(&format!("/api/v1/interests/{b}"), &w.ivan, &json!({"expected_close_on": "2026-12-03"}))
            .await,
        200,
    )
    .await;
}

#[tokio::test]
async fn the_migration_backfills_the_move_log_from_the_timeline() {
    let app = spawn().await;
    let (w, _) = history(&app).await;
    let paths = [
        format!("funnel?{NOVEMBER}"),
        format!("funnel?{DECEMBER}"),
        format!("stage-durations?{NOVEMBER}"),
        format!("win-rate?{NOVEMBER}"),
        "loss-reasons?from=2026-11-01&to=2026-12-31".to_owned(),
    ];
    let mut live = Vec::new();
    for p in &paths {
        live.push(report(&app, &w.head, p).await);
    }
    // Undo the analytics migration (the log and the close dates go) and
    // apply it again: the log is rebuilt from the timeline alone.
    let mut conn = app.app.pool().get().unwrap();
    let mut reverted = Vec::new();
    // 2026-12-06-000013_analytics, by the version diesel gives it.
    while !reverted.iter().any(|v: &String| v == "20261206000013") {
        reverted.push(crm_store::migrations::revert_last(&mut conn).unwrap());
        assert!(reverted.len() < 5, "no analytics migration in {reverted:?}");
    }
    // "Typical sale" as stored before stages had probabilities.
    use diesel::RunQueryDsl;
    for p in ["10", "30", "70", "90", "100", "0"] {
        diesel::sql_query(format!(
            "UPDATE scenarios SET definition = replace(definition, '\"probability\":{p},', '')"
        ))
        .execute(&mut *conn)
        .unwrap();
    }
    crm_store::migrations::run_pending(&mut conn).unwrap();
    drop(conn);
    let typical = live[0]["scenario_id"].as_str().unwrap();
    let scenario = ok(app.get(&format!("/api/v1/scenarios/{typical}"), &w.head).await, 200).await;
    let chances: Vec<_> = scenario["definition"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["probability"].clone())
        .collect();
    assert_eq!(
        chances,
        [10, 30, 70, 90, 100, 0].map(|p| json!(p)),
        "the built-in stages' figures, not the positional defaults"
    );
    for (p, before) in paths.iter().zip(&live) {
        assert_eq!(&report(&app, &w.head, p).await, before, "{p} after the backfill");
    }
}

/// A report's file: (content type, body bytes).
pub(crate) async fn file(app: &TestApp, token: &str, path: &str, accept: Option<&str>) -> (String, Vec<u8>) {
    let mut r = app.request(reqwest::Method::GET, &format!("/api/v1/analytics/{path}"), Some(token));
    if let Some(a) = accept {
        r = r.header("Accept", a);
    }
    let res = r.send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
    (kind, res.bytes().await.unwrap().to_vec())
}

/// The rows of a CSV file, every field as text.
pub(crate) fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// The rows of a workbook's one sheet, every cell as text (numbers as Rust writes them).
pub(crate) fn xlsx_rows(bytes: Vec<u8>) -> Vec<Vec<String>> {
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).unwrap();
    range
        .rows()
        .map(|row| {
            row.iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    Data::String(s) => s.clone(),
                    Data::Float(f) => f.to_string(),
                    Data::Int(i) => i.to_string(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
        })
        // A sheet's rows are as wide as its widest; the CSV's are not.
        .map(|mut row: Vec<String>| {
            while row.last().is_some_and(String::is_empty) {
                row.pop();
            }
            row
        })
        .collect()
}

#[tokio::test]
async fn the_reports_open_as_csv_and_xlsx_with_the_same_figures() {
    let app = spawn().await;
    let (w, _) = history(&app).await;
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    // The funnel of November, as worked out by hand above, with its filters on top.
    let (kind, body) = file(&app, &w.head, &format!("funnel?{NOVEMBER}&format=csv"), None).await;
    assert_eq!(kind, "text/csv; charset=utf-8");
    let rows = csv_rows(&body);
    assert_eq!(rows[0], s(&["report", "funnel"]));
    assert_eq!(
        rows[1..4],
        [s(&["from", "2026-11-01"]), s(&["to", "2026-11-30"]), s(&["time_zone", "Europe/Moscow"])]
    );
    assert!(rows.contains(&s(&["scenario", "Typical sale"])), "{rows:?}");
    let header = rows.iter().position(|r| r.first().is_some_and(|c| c == "stage")).unwrap();
    assert_eq!(
        rows[header..],
        [
            s(&[
                "stage",
                "name",
                "reached",
                "to_next",
                "to_won",
                "lost_here",
                "potential RUB",
                "potential USD"
            ]),
            s(&["request", "Request", "6", "66.7", "16.7", "1", "420000.00", "1000.00"]),
            s(&["proposal", "Proposal", "4", "50", "25", "0", "310000.00", "1000.00"]),
            s(&["payment", "Payment", "2", "50", "50", "0", "250000.00", "0.00"]),
            s(&["shipment", "Shipment", "1", "100", "100", "0", "50000.00", "0.00"]),
            s(&["won", "Won", "1", "", "", "0", "50000.00", "0.00"]),
        ]
    );
    // The same as a workbook, asked for by the Accept header: the same cells,
    // counts and amounts as numbers.
    let (kind, body) = file(
        &app,
        &w.head,
        &format!("funnel?{NOVEMBER}"),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    )
    .await;
    assert_eq!(kind, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    let sheet = xlsx_rows(body);
    let at = sheet.iter().position(|r| r.first().is_some_and(|c| c == "stage")).unwrap();
    assert_eq!(sheet[0], s(&["report", "funnel"]));
    assert_eq!(sheet[at + 1], s(&["request", "Request", "6", "66.7", "16.7", "1", "420000", "1000"]));
    assert_eq!(sheet[at + 5], s(&["won", "Won", "1", "", "", "0", "50000", "0"]));

    // Per manager, as a workbook: Ivan's row holds his hand-worked figures.
    let (_, body) = file(&app, &w.head, &format!("managers?{NOVEMBER}&format=xlsx"), None).await;
    let sheet = xlsx_rows(body);
    let ivan = sheet.iter().find(|r| r.get(1).is_some_and(|n| n == "User ivan@test.crm")).unwrap();
    assert_eq!(ivan[2..], s(&["2", "4", "1", "1", "50", "9", "2", "2", "50000"]));
    // Every report answers both ways.
    for path in ["stage-durations", "win-rate", "loss-reasons", "forecast", "lead-sources", "stale-interests"]
    {
        let (kind, body) = file(&app, &w.head, &format!("{path}?format=csv"), None).await;
        assert!(kind.starts_with("text/csv") && csv_rows(&body)[0] == s(&["report", path]), "{path}");
        let (_, body) = file(&app, &w.head, &format!("{path}?format=xlsx"), None).await;
        assert_eq!(xlsx_rows(body)[0], s(&["report", path]), "{path}");
    }
    app.get("/api/v1/analytics/funnel?format=pdf", &w.head).await.problem(400);
}
