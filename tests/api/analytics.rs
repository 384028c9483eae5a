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
//! | H | Maria | 16 Nov for her own client, 10 000 | payment 17 Nov (proposal skipped) with an order of 30 chairs, paid 18 Nov → shipment, shipped 19 Nov → won (revenue 30 000) | won |
//! | I | Ivan | 2 Dec, 25 000 | loss asked 2 Dec 12:00 ("Price"), approved 3 Dec 09:00 | lost from request |
//! | J | Maria | 20 Nov, 15 000 | proposal 21 Nov; expected to close 20 Dec | proposal |
//! | K | Ivan | 12 Nov, 70 000 | proposal 13 Nov, loss asked 14 Nov ("Competitor"), approved 16 Nov | lost from proposal |
//! | L | Maria | 2 Dec 15:00, 5 000 | —; expected to close 1 Jan | request |
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

/// H: Maria's, made on 16 November for a client of hers; to payment on the
/// 17th with an order of 30 chairs; paid on the 18th (so to shipment);
/// shipped on the 19th, so won with revenue 30 000. The clock ends on the
/// 19th at 10:00.
async fn won_by_maria(app: &TestApp, w: &World, maria: &str, chair: &Value) -> String {
    let client = ok(
        app.post("/api/v1/clients", Some(maria), &json!({"name": "ООО «Василёк»", "kind": "company"})).await,
        201,
    )
    .await;
    let h =
        interest(app, maria, json!({"title": "H", "potential_amount": "10000", "client_id": client["id"]}))
            .await;
    app.clock.set(moscow(11, 17, 10, 0));
    mv(app, maria, &h, json!({"to_stage": "payment"})).await;
    let order = ok(
        app.post(
            &format!("/api/v1/interests/{h}/orders"),
            Some(maria),
            &json!({"lines": [{"product_id": chair, "quantity": "30"}]}),
        )
        .await,
        201,
    )
    .await;
    let oid = order["id"].as_str().unwrap();
    ok(app.post(&format!("/api/v1/orders/{oid}/confirm"), Some(maria), &json!({})).await, 200).await;
    app.clock.set(moscow(11, 18, 10, 0));
    ok(
        app.post(
            "/api/v1/payments",
            Some(&w.olga),
            &json!({"order_id": oid, "amount": "30000", "external_ref": "PP-H"}),
        )
        .await,
        201,
    )
    .await;
    app.clock.set(moscow(11, 19, 10, 0));
    ok(
        app.post(
            &format!("/api/v1/orders/{oid}/shipments"),
            Some(maria),
            &json!({"kind": "sales_document", "lines": [{"order_line_id": order["lines"][0]["id"], "quantity": "30"}]}),
        )
        .await,
        201,
    )
    .await;
    let won = ok(app.get(&format!("/api/v1/interests/{h}"), maria).await, 200).await;
    assert_eq!((won["state"].as_str(), won["potential_amount"].as_str()), (Some("won"), Some("30000.00")));
    h
}

/// Builds the history of the table above; returns the world and the ids
/// A, B, C, D, E, F, G, H, I, J, K, L.
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
    let k = interest(app, &w.ivan, json!({"title": "K", "potential_amount": "70000"})).await;
    app.clock.set(moscow(11, 13, 10, 0));
    mv(app, &w.ivan, &k, json!({"to_stage": "proposal"})).await;
    app.clock.set(moscow(11, 14, 10, 0));
    mv(app, &w.ivan, &k, json!({"to_stage": "lost", "loss_reason_id": rival["id"]})).await;
    app.clock.set(moscow(11, 15, 10, 0));
    lead(app, &w.ivan, json!({"channel": "phone", "source": "Line 1", "subject": "L4, to the shared inbox"}))
        .await;
    app.clock.set(moscow(11, 16, 10, 0));
    decide(app, &w.head, &k, json!({"decision": "approve"})).await;
    let h = won_by_maria(app, &w, &maria, &chair["id"]).await;
    app.clock.set(moscow(11, 20, 10, 0));
    mv(app, &maria, &e, json!({"to_stage": "proposal"})).await;
    let j = interest(app, &maria, json!({"title": "J", "potential_amount": "15000"})).await;
    app.clock.set(moscow(11, 21, 10, 0));
    mv(app, &maria, &j, json!({"to_stage": "proposal"})).await;
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
    let i = interest(app, &w.ivan, json!({"title": "I", "potential_amount": "25000"})).await;
    app.clock.set(moscow(12, 2, 12, 0));
    mv(app, &w.ivan, &i, json!({"to_stage": "lost", "loss_reason_id": price["id"]})).await;
    app.clock.set(moscow(12, 2, 15, 0));
    let l = interest(app, &maria, json!({"title": "L", "potential_amount": "5000"})).await;
    app.clock.set(moscow(12, 3, 9, 0));
    decide(app, &w.head, &i, json!({"decision": "approve"})).await;
    app.clock.set(moscow(12, 3, 10, 0));
    mv(app, &maria, &g, json!({"to_stage": "proposal"})).await;
    (w, vec![a, b, c, d, e, f, g, h, i, j, k, l])
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
    // Moved in November: A, B, C, D, E, G, H, J, K. Reached: request all
    // nine; proposal A, B (skipped it), D, E, H (skipped it, won), J, K;
    // payment A, B, H; shipment and won A, H. Lost: C from request, K from
    // proposal (E's loss was approved in December).
    let f = report(app, token, &format!("funnel?{NOVEMBER}")).await;
    assert_eq!((f["interests"].as_u64(), f["lost"].as_u64()), (Some(9), Some(2)), "{f}");
    assert_eq!(f["period"], json!({"from": "2026-11-01", "to": "2026-11-30", "time_zone": "Europe/Moscow"}));
    assert_eq!(
        funnel_rows(&f),
        vec![
            row("request", 9, json!(77.8), json!(22.2), 1),
            row("proposal", 7, json!(42.9), json!(28.6), 1),
            row("payment", 3, json!(66.7), json!(66.7), 0),
            row("shipment", 2, json!(100.0), json!(100.0), 0),
            row("won", 2, Value::Null, Value::Null, 0),
        ]
    );
    // A and H count at their revenue (50 000 and 30 000) since they were
    // won; E in dollars, apart. Request: A 50 + B 200 + C 80 + D 60 + G 30
    // + H 30 + J 15 + K 70; proposal without C and G; payment A, B, H.
    let sums: Vec<_> = f["stages"].as_array().unwrap().iter().map(|s| money(&s["potential"])).collect();
    assert_eq!(
        sums,
        vec![
            rub_usd("535000.00", "1000.00"),
            rub_usd("425000.00", "1000.00"),
            rub("280000.00"),
            rub("80000.00"),
            rub("80000.00"),
        ]
    );
}

async fn check_durations(app: &TestApp, token: &str) {
    // Stays ended in November — request: A 2, B 2, C 8 (to lost), D 2, E 10,
    // H 1, J 1, K 1 days (27 / 8 = 3.375, median 2); proposal: A 2, D 2
    // (returned to request), K 3 (to lost; 7 / 3 = 2.33); payment A 3, H 1;
    // shipment A 3, H 1.
    // On a stage now (3 Dec 10:00): request F since 1 Dec 00:30 (2 d 9.5 h)
    // and L since 2 Dec 15:00 (19 h): 1.59 on average; proposal G since
    // today and J since 21 Nov (12 d); payment B since 5 Nov (28 d) and D
    // since 2 Dec (1 d).
    let nov = report(app, token, &format!("stage-durations?{NOVEMBER}")).await;
    assert_eq!(
        duration_rows(&nov),
        vec![
            ("request".into(), 8, json!(3.38), json!(2.0), 2, json!(1.59)),
            ("proposal".into(), 3, json!(2.33), json!(2.0), 2, json!(6.0)),
            ("payment".into(), 2, json!(2.0), json!(2.0), 2, json!(14.5)),
            ("shipment".into(), 2, json!(2.0), json!(2.0), 0, Value::Null),
        ]
    );
    // December: D left request after 23 days, G after 2 d 10.5 h, I after
    // 23 h (for lost): mean 8.80, median G's 2.44; E left proposal for lost
    // after 11 days.
    let dec = report(app, token, &format!("stage-durations?{DECEMBER}")).await;
    assert_eq!(
        duration_rows(&dec),
        vec![
            ("request".into(), 3, json!(8.8), json!(2.44), 2, json!(1.59)),
            ("proposal".into(), 1, json!(11.0), json!(11.0), 2, json!(6.0)),
            ("payment".into(), 0, Value::Null, Value::Null, 2, json!(14.5)),
            ("shipment".into(), 0, Value::Null, Value::Null, 0, Value::Null),
        ]
    );
}

async fn check_outcomes(app: &TestApp, token: &str) {
    // November closed A (won, 10 days), H (won, 3 days), C (lost, 8 days)
    // and K (lost, 4 days): 25 / 4 days on average, 13 / 2 for the won.
    let nov = report(app, token, &format!("win-rate?{NOVEMBER}")).await;
    assert_eq!(
        (
            &nov["won"],
            &nov["lost"],
            &nov["win_rate"],
            &nov["average_cycle_days"],
            &nov["won_average_cycle_days"]
        ),
        (&json!(2), &json!(2), &json!(50.0), &json!(6.25), &json!(6.5))
    );
    assert_eq!(money(&nov["won_amount"]), rub("80000.00"));
    // December closed E (lost after 21 days) and I (lost after 23 hours):
    // (21 d + 23 h) / 2 = 10.98 days.
    let dec = report(app, token, &format!("win-rate?{DECEMBER}")).await;
    assert_eq!(
        (
            &dec["won"],
            &dec["lost"],
            &dec["win_rate"],
            &dec["average_cycle_days"],
            &dec["won_average_cycle_days"]
        ),
        (&json!(0), &json!(2), &json!(0.0), &json!(10.98), &Value::Null)
    );
    assert!(money(&dec["won_amount"]).is_empty());

    // D's loss was returned, so the losses are C and I (Price, from
    // request: 80 000 + 25 000), E (Competitor, from proposal, in dollars)
    // and K (Competitor, from proposal, 70 000).
    let losses = report(app, token, "loss-reasons?from=2026-11-01&to=2026-12-31").await;
    assert_eq!(losses["lost"], 4);
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
                2,
                rub_usd("70000.00", "1000.00"),
                json!([{"code": "proposal", "name": "Proposal", "count": 2}])
            ),
            (
                "Price".to_owned(),
                2,
                rub("105000.00"),
                json!([{"code": "request", "name": "Request", "count": 2}])
            ),
        ]
    );
    let november = report(app, token, &format!("loss-reasons?{NOVEMBER}")).await;
    // November's: C (Price) and K (Competitor).
    assert_eq!((november["lost"].as_u64(), november["reasons"].as_array().unwrap().len()), (Some(2), 2));

    // Open now and their expected close: B 20 Jan (payment, 70 %); D 5 Dec
    // (made 5 Nov + 30 days; payment, 70 %); G 30 Dec (proposal, 30 %);
    // F 31 Dec (request, 10 %); J 20 Dec (proposal, 30 %); L 1 Jan
    // (request, 10 %). December: 60 000 + 30 000 + 40 000 + 15 000 =
    // 145 000, weighted 42 000 + 9 000 + 4 000 + 4 500 = 59 500. January:
    // 200 000 + 5 000, weighted 140 000 + 500. Won: A and H in November.
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
            ("2026-11-01".to_owned(), 0, vec![], vec![], 2, rub("80000.00")),
            ("2026-12-01".to_owned(), 4, rub("145000.00"), rub("59500.00"), 0, vec![]),
            ("2027-01-01".to_owned(), 2, rub("205000.00"), rub("140500.00"), 0, vec![]),
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

    // December's funnel: F and L request; D payment (so request and
    // proposal too); G proposal; I request, then lost from it; E only lost,
    // from proposal.
    let dec = report(&app, &w.head, &format!("funnel?{DECEMBER}")).await;
    assert_eq!((dec["interests"].as_u64(), dec["lost"].as_u64()), (Some(6), Some(2)));
    assert_eq!(
        funnel_rows(&dec),
        vec![
            row("request", 5, json!(40.0), json!(0.0), 1),
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
    // November. Ivan took two leads (A, B), opened A–D and K, won A (10
    // days, 50 000) and lost C (8 days) and K (4 days): 1 of 3, 22 / 3 days;
    // open now B and D (I is lost), each with its "Call the client" task
    // long overdue. Maria opened E, G, H and J (F and L are December's),
    // won H (3 days, 30 000) and lost nothing in November (E's loss is
    // December's); open now F, G, J and L, their call tasks overdue (L's
    // was due on 2 December).
    let m = report(&app, &w.head, &format!("managers?{NOVEMBER}")).await;
    let n = |s: &str| s.to_owned();
    assert_eq!(
        manager_rows(&m),
        vec![
            (n("User head@test.crm"), 0, 0, 0, 0, Value::Null, Value::Null, 0, 0),
            (n("User ivan@test.crm"), 2, 5, 1, 2, json!(33.3), json!(7.33), 2, 2),
            (n("User maria@test.crm"), 0, 4, 1, 0, json!(100.0), json!(3.0), 4, 4),
        ]
    );
    assert_eq!(money(&m["managers"][1]["won_amount"]), rub("50000.00"));
    assert_eq!(money(&m["managers"][2]["won_amount"]), rub("30000.00"));
    // Ivan sees his own row only.
    let mine = report(&app, &w.ivan, &format!("managers?{NOVEMBER}")).await;
    assert_eq!(
        manager_rows(&mine),
        vec![(n("User ivan@test.crm"), 2, 5, 1, 2, json!(33.3), json!(7.33), 2, 2)]
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

    // Idle on 3 Dec 10:00: B since 5 Nov (28 days); J since 21 Nov (12
    // days) is not yet. With one day: J and F too (since 1 Dec 00:30, 2.4
    // days); D moved exactly a day ago, not before it; L was made 19 hours ago.
    let stale = report(&app, &w.head, "stale-interests").await;
    assert_eq!((stale["days"].as_u64(), stale["count"].as_u64()), (Some(14), Some(1)));
    assert_eq!(money(&stale["at_risk"]), rub("200000.00"));
    assert_eq!(stale["items"][0]["interest_id"], ids[1].as_str());
    assert_eq!(stale["items"][0]["idle_days"], json!(28.0));
    assert_eq!(stale["items"][0]["last_activity_at"], "2026-11-05T07:00:00Z");
    let day = report(&app, &w.head, "stale-interests?days=1&limit=1").await;
    assert_eq!(day["count"], 3);
    assert_eq!(money(&day["at_risk"]), rub("255000.00"));
    let listed: Vec<_> = day["items"].as_array().unwrap().iter().map(|i| i["title"].clone()).collect();
    assert_eq!(listed, [json!("B")]);
    let all = report(&app, &w.head, "stale-interests?days=1").await;
    let listed: Vec<_> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["title"].clone(), i["idle_days"].clone()))
        .collect();
    assert_eq!(listed, [(json!("B"), json!(28.0)), (json!("J"), json!(12.0)), (json!("F"), json!(2.4))]);
    // Maria's only: J and F.
    let hers = report(&app, &w.head, &format!("stale-interests?days=1&responsible_id={}", w.maria_id)).await;
    assert_eq!(hers["count"], 2);
    for bad in ["days=0", "days=366", "limit=0", "limit=201"] {
        app.get(&format!("/api/v1/analytics/stale-interests?{bad}"), &w.head).await.problem(400);
    }
}

#[tokio::test]
async fn each_reader_gets_the_figures_of_whom_they_see() {
    let app = spawn().await;
    let (w, _) = history(&app).await;
    // Ivan sees his own: A, B, C, D, K moved in November; all but C reached
    // proposal, A was won, C lost from request.
    let mine = report(&app, &w.ivan, &format!("funnel?{NOVEMBER}")).await;
    assert_eq!(mine["interests"], 5);
    assert_eq!(funnel_rows(&mine)[0], row("request", 5, json!(80.0), json!(20.0), 1));
    // Asking for Maria's figures gives him nothing, as if she had none.
    let theirs = report(&app, &w.ivan, &format!("funnel?{NOVEMBER}&responsible_id={}", w.maria_id)).await;
    assert_eq!(theirs["interests"], 0);
    assert!(funnel_rows(&theirs).iter().all(|r| r.1 == 0));
    // The head narrows to Maria: E, G, H and J; E, H and J reached
    // proposal, H payment and won.
    let maria = report(&app, &w.head, &format!("funnel?{NOVEMBER}&responsible_id={}", w.maria_id)).await;
    assert_eq!(maria["interests"], 4);
    assert_eq!(
        funnel_rows(&maria)[..2],
        [row("request", 4, json!(75.0), json!(25.0), 0), row("proposal", 3, json!(33.3), json!(33.3), 0)]
    );
    assert_eq!(money(&maria["stages"][0]["potential"]), rub_usd("75000.00", "1000.00"));
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
        assert!(reverted.len() < 10, "no analytics migration in {reverted:?}");
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
            s(&["request", "Request", "9", "77.8", "22.2", "1", "535000.00", "1000.00"]),
            s(&["proposal", "Proposal", "7", "42.9", "28.6", "1", "425000.00", "1000.00"]),
            s(&["payment", "Payment", "3", "66.7", "66.7", "0", "280000.00", "0.00"]),
            s(&["shipment", "Shipment", "2", "100", "100", "0", "80000.00", "0.00"]),
            s(&["won", "Won", "2", "", "", "0", "80000.00", "0.00"]),
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
    assert_eq!(sheet[at + 1], s(&["request", "Request", "9", "77.8", "22.2", "1", "535000", "1000"]));
    assert_eq!(sheet[at + 5], s(&["won", "Won", "2", "", "", "0", "80000", "0"]));

    // Per manager, as a workbook: Ivan's row holds his hand-worked figures.
    let (_, body) = file(&app, &w.head, &format!("managers?{NOVEMBER}&format=xlsx"), None).await;
    let sheet = xlsx_rows(body);
    let ivan = sheet.iter().find(|r| r.get(1).is_some_and(|n| n == "User ivan@test.crm")).unwrap();
    assert_eq!(ivan[2..], s(&["2", "5", "1", "2", "33.3", "7.33", "2", "2", "50000"]));
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
