//! The holes a security review and generated requests found, each shut and
//! kept shut: time of day, control characters, overflowing money,
//! idempotency, forwarded addresses, what others may see and be handed,
//! PostgreSQL's own ways, documents frozen when issued, every messenger
//! message, and input the spec calls invalid.

use chrono::{DateTime, Duration, Utc};
use diesel::{Connection, RunQueryDsl};
use reqwest::Method;
use serde_json::{json, Value};

use crate::documents::{bytes, free_line, id, ok, pdf_text, sale};
use crate::helpers::*;

async fn post_raw(app: &TestApp, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
    let mut req = app.client.request(Method::POST, app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    Reply::read(req.body(body).send().await.unwrap()).await
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Rows of one column of a query, read straight from the test's database.
fn column(app: &TestApp, sql: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Cell {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        v: Option<String>,
    }
    let sql = sql.to_owned();
    app.app
        .read(move |conn| {
            let cells: Vec<Cell> = diesel::sql_query(sql).load(conn).map_err(crm_app::AppError::internal)?;
            Ok(cells.into_iter().map(|c| c.v.unwrap_or_default()).collect())
        })
        .unwrap()
}

fn execute(app: &TestApp, sql: &str) {
    let sql = sql.to_owned();
    app.app
        .write(move |conn| crm_store::db::execute_sql(conn, &sql).map_err(crm_app::AppError::internal))
        .unwrap();
}

// --- 1. the time of day ----------------------------------------------------

/// Quotes, orders and their numbers are dated in the organisation's zone
/// (Moscow), whatever the UTC hour: at 20:59, 21:01 and 23:59 UTC, and on New
/// Year's Eve at 22:30 UTC, when it is already next year in Moscow.
#[tokio::test]
async fn documents_are_dated_and_numbered_by_moscows_calendar_at_every_hour() {
    for instant in
        ["2026-12-01T20:59:00Z", "2026-12-01T21:01:00Z", "2026-12-01T23:59:00Z", "2026-12-31T22:30:00Z"]
    {
        let app = spawn_app().await;
        app.clock.set(at(instant));
        let s = sale(&app).await;
        let moscow_year = app.today().format("%Y").to_string();
        let q = ok(
            app.post(
                &format!("/api/v1/interests/{}/quotes", s.iid),
                Some(&s.ivan),
                &json!({"variants": [{"name": "A", "lines": [free_line("100", "1")]}]}),
            )
            .await,
            201,
        )
        .await;
        assert_eq!(q["valid_until"], app.day(14), "at {instant}");
        assert!(
            q["number"].as_str().unwrap().starts_with(&format!("QUO-{moscow_year}-")),
            "at {instant}: {q}"
        );
        let order = ok(
            app.post(
                &format!("/api/v1/interests/{}/orders", s.iid),
                Some(&s.ivan),
                &json!({"lines": [free_line("100", "1")], "schedule": [{"amount": "100", "due_on": app.day(3)}]}),
            )
            .await,
            201,
        )
        .await;
        assert!(
            order["number"].as_str().unwrap().starts_with(&format!("ORD-{moscow_year}-")),
            "at {instant}"
        );
        let oid = id(&order);
        ok(app.post(&format!("/api/v1/orders/{oid}/confirm"), Some(&s.ivan), &json!({})).await, 200).await;
        let (_, _, pdf) = bytes(&app, &format!("/api/v1/orders/{oid}/invoice.pdf"), &s.ivan).await;
        let printed = app.today().format("%d.%m.%Y").to_string();
        assert!(
            pdf_text(&pdf).contains(&format!("от {printed}")),
            "the invoice is dated {printed} at {instant}"
        );
        let tree = ok(app.get(&format!("/api/v1/interests/{}/documents", s.iid), &s.ivan).await, 200).await;
        let dates: Vec<&str> =
            tree["children"].as_array().unwrap().iter().filter_map(|n| n["date"].as_str()).collect();
        assert!(dates.iter().all(|d| *d == app.today().to_string()), "tree dates at {instant}: {dates:?}");
    }
}

// --- 2. control characters ------------------------------------------------

#[tokio::test]
async fn typed_text_with_a_control_character_is_refused_naming_the_field_and_stores_nothing() {
    let app = spawn_app().await;
    let s = sale(&app).await;
    let r = app
        .post("/api/v1/clients", Some(&s.ivan), &json!({"name": "Рога\u{0}Копыта", "kind": "company"}))
        .await;
    r.problem(400);
    assert_eq!(r.error_fields(), vec!["name"]);
    assert_eq!(r.body["errors"][0]["code"], "control_character");
    assert!(!r.text.contains('\u{0}'));
    let clients = app.get("/api/v1/clients?limit=200", &s.admin).await.body;
    assert_eq!(clients["items"].as_array().unwrap().len(), 1, "only the setup's client");

    // Deep inside a body, the path names it; tab and line breaks are text.
    let quote = app
        .post(
            &format!("/api/v1/interests/{}/quotes", s.iid),
            Some(&s.ivan),
            &json!({"comment": "строка 1\r\nстрока\t2", "variants": [{"name": "A", "lines": [
                free_line("1", "1"),
                {"description": "Стул\u{7}", "quantity": "1", "unit_price": "1", "vat_rate": "22"}]}]}),
        )
        .await;
    assert_eq!(quote.error_fields(), vec!["variants[0].lines[1].description"]);
    let fine = app
        .post(
            &format!("/api/v1/interests/{}/quotes", s.iid),
            Some(&s.ivan),
            &json!({"comment": "строка 1\r\nстрока\t2", "variants": [{"name": "A", "lines": [free_line("1", "1")]}]}),
        )
        .await;
    assert_eq!(fine.status, 201, "{}", fine.text);

    // Query strings and paths reach SQL as text: refused before any handler.
    let search = app.get("/api/v1/leads?channel=%D0%A0%00", &s.ivan).await;
    search.problem(400);
    assert_eq!(search.error_fields(), vec!["channel"]);
    let dup = app.post("/api/v1/duplicates/search", Some(&s.ivan), &json!({"name": "Р\u{0}"})).await;
    assert_eq!(dup.error_fields(), vec!["name"]);
    let form = post_raw(
        &app,
        "/api/v1/intake/forms/abc%00def",
        &[("content-type", "application/json")],
        b"{}".to_vec(),
    )
    .await;
    form.problem(400);
    assert_eq!(form.error_fields(), vec!["path"]);
    // An action's optional body is checked too.
    let lead = ok(
        app.post("/api/v1/leads", Some(&s.ivan), &json!({"name": "Анна", "phone": "+79161112233"})).await,
        201,
    )
    .await;
    let reject = app
        .post(
            &format!("/api/v1/leads/{}/reject", id(&lead)),
            Some(&s.ivan),
            &json!({"reason": "spam", "comment": "x\u{1b}[31m"}),
        )
        .await;
    reject.problem(400);
    assert_eq!(reject.error_fields(), vec!["comment"]);
}

#[tokio::test]
async fn channel_text_loses_its_control_characters_and_the_lead_says_so() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let form = ok(app.post("/api/v1/forms", Some(&admin), &json!({"name": "Contact us"})).await, 201).await;
    let key = form["address"].as_str().unwrap();
    // Reachable without signing in: it must never answer 500, on either backend.
    let r = post_raw(
        &app,
        &format!("/api/v1/intake/forms/{key}"),
        &[("content-type", "application/json")],
        serde_json::to_vec(&json!({"name": "Мар\u{0}ия", "phone": "+7 903 111-22-33", "message": "Нужен\u{0} диван\u{7}\nсрочно"}))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let urlencoded = post_raw(
        &app,
        &format!("/api/v1/intake/forms/{key}"),
        &[("content-type", "application/x-www-form-urlencoded")],
        b"name=%D0%9F%D1%91%D1%82%D1%80%00&email=petr%40example.com&message=hi%00there".to_vec(),
    )
    .await;
    assert_eq!(urlencoded.status, 200, "{}", urlencoded.text);

    channel_secret(&app, &admin, json!({"kind": "telegram", "name": "Bot", "secret": "tg-secret"})).await;
    let update = json!({"update_id": 7, "message": {"message_id": 1, "date": 1764583200, "text": "Привет\u{0}!",
        "from": {"id": 5, "first_name": "Ив\u{0}ан"}, "chat": {"id": 5, "type": "private"}}});
    let tg = post_raw(
        &app,
        "/api/v1/intake/telegram",
        &[("content-type", "application/json"), ("x-telegram-bot-api-secret-token", "tg-secret")],
        serde_json::to_vec(&update).unwrap(),
    )
    .await;
    assert_eq!(tg.status, 200, "{}", tg.text);

    let key_secret = ok(
        app.post("/api/v1/api-keys", Some(&admin), &json!({"name": "Mail", "scopes": ["leads:write"]})).await,
        201,
    )
    .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let mail = b"From: Olga <olga@example.com>\r\nSubject: Sofa\x00 order\r\nMessage-ID: <nul@x>\r\n\r\nNeed a sofa\x00\x01 today\r\n".to_vec();
    let email = post_raw(
        &app,
        "/api/v1/intake/email",
        &[("content-type", "message/rfc822"), ("x-api-key", &key_secret)],
        mail,
    )
    .await;
    assert_eq!(email.status, 200, "{}", email.text);
    // A NUL hidden by the transfer encoding comes out when the part is decoded.
    let encoded = b"From: a@example.com\r\nSubject: Table\r\nMessage-ID: <b64@x>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nTmVlZAB0YWJsZQ==\r\n"
        .to_vec();
    let hidden = post_raw(
        &app,
        "/api/v1/intake/email",
        &[("content-type", "message/rfc822"), ("x-api-key", &key_secret)],
        encoded,
    )
    .await;
    assert_eq!(hidden.status, 200, "{}", hidden.text);

    let leads = app.get("/api/v1/leads?limit=200", &admin).await;
    assert!(!leads.text.contains("\\u0000"), "no NUL is stored: {}", leads.text);
    let items = leads.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    for l in items {
        let note = l["parse_note"].as_str().unwrap_or_default();
        assert!(note.contains("control character"), "the lead says what was dropped: {l}");
    }
    let by_channel = |c: &str| items.iter().find(|l| l["channel"] == c).unwrap().clone();
    assert_eq!(by_channel("telegram")["body"], "Привет!");
    assert_eq!(by_channel("telegram")["name"], "Иван");
    let mail = |subject: &str| items.iter().find(|l| l["subject"] == subject).unwrap().clone();
    assert_eq!(mail("Sofa order")["body"], "Need a sofa today");
    assert_eq!(mail("Table")["body"], "Needtable");
    let forms: Vec<&Value> = items.iter().filter(|l| l["channel"] == "form").collect();
    assert!(forms.iter().any(|l| l["body"] == "Нужен диван\nсрочно" && l["name"] == "Мария"), "{forms:?}");
    assert!(forms.iter().any(|l| l["body"] == "hithere" && l["name"] == "Пётр"), "{forms:?}");
}

/// A confirmed order of the setup's interest with these lines; its id.
async fn confirmed_order(app: &TestApp, s: &crate::documents::Sale, lines: Value) -> String {
    let order = ok(
        app.post(&format!("/api/v1/interests/{}/orders", s.iid), Some(&s.ivan), &json!({"lines": lines}))
            .await,
        201,
    )
    .await;
    let oid = id(&order);
    ok(app.post(&format!("/api/v1/orders/{oid}/confirm"), Some(&s.ivan), &json!({})).await, 200).await;
    oid
}

/// Polls until a backend of the test's database waits on a lock (the
/// request under test reached it), optionally terminating it; how many.
async fn lock_waiters(conn: &mut diesel::PgConnection, terminate: bool) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let what = if terminate { "count(pg_terminate_backend(pid))" } else { "count(*)" };
    let sql = format!(
        "SELECT {what} AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    );
    for _ in 0..500 {
        let n: Vec<N> = diesel::sql_query(&sql).load(conn).unwrap();
        if n[0].n > 0 {
            return n[0].n;
        }
        // Waiting for another connection to get somewhere, not for time to pass.
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    0
}

async fn channel_secret(app: &TestApp, admin: &str, body: Value) -> Value {
    ok(app.post("/api/v1/channels", Some(admin), &body).await, 201).await
}

// --- 3. money that cannot overflow ----------------------------------------

#[tokio::test]
async fn amounts_past_the_largest_are_refused_never_wrapped() {
    let app = spawn_app().await;
    let s = sale(&app).await;
    let quotes = format!("/api/v1/interests/{}/quotes", s.iid);
    let line = |price: &str, qty: &str| json!({"description": "x", "quantity": qty, "unit_price": price, "vat_rate": "without"});
    // A million units at a hundred billion: one line past the limit.
    let huge = app
        .post(
            &quotes,
            Some(&s.ivan),
            &json!({"variants": [{"name": "A", "lines": [line("100000000000.00", "1000000")]}]}),
        )
        .await;
    huge.problem(422);
    assert_eq!(huge.unmet_checks(), vec!["amount_too_large"]);
    // Two lines that fit alone, not together (once summed with a wrapping `+=` to -0.02).
    let two = app
        .post(&quotes, Some(&s.ivan), &json!({"variants": [{"name": "A", "lines": [line("600000000000", "1"), line("600000000000", "1")]}]}))
        .await;
    assert_eq!(two.unmet_checks(), vec!["amount_too_large"]);
    let orders = format!("/api/v1/interests/{}/orders", s.iid);
    let order = app
        .post(
            &orders,
            Some(&s.ivan),
            &json!({"lines": [line("600000000000", "1"), line("600000000000", "1")]}),
        )
        .await;
    assert_eq!(order.unmet_checks(), vec!["amount_too_large"]);
    assert_eq!(app.get(&quotes, &s.ivan).await.body["items"], json!([]), "nothing was stored");
    assert_eq!(app.get(&orders, &s.ivan).await.body["items"], json!([]));

    // The largest amount fits; paying it twice over does not.
    let max =
        ok(app.post(&orders, Some(&s.ivan), &json!({"lines": [line("1000000000000.00", "1")]})).await, 201)
            .await;
    assert_eq!(max["total"], "1000000000000.00");
    let oid = id(&max);
    ok(app.post(&format!("/api/v1/orders/{oid}/confirm"), Some(&s.ivan), &json!({})).await, 200).await;
    ok(
        app.post("/api/v1/payments", Some(&s.olga), &json!({"order_id": oid, "amount": "1000000000000"}))
            .await,
        201,
    )
    .await;
    let over = app.post("/api/v1/payments", Some(&s.olga), &json!({"order_id": oid, "amount": "1"})).await;
    over.problem(422);
    assert_eq!(over.unmet_checks(), vec!["amount_too_large"]);
    // The spec publishes the limits.
    let spec = app.client.get(app.url("/api-docs/openapi.json")).send().await.unwrap().text().await.unwrap();
    assert!(spec.contains("1000000000000.00") && spec.contains("1000000000"), "limits in the spec");
}

// --- 4. idempotency --------------------------------------------------------

#[tokio::test]
async fn an_idempotency_key_belongs_to_the_authenticated_caller_and_keeps_no_secrets() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let made = ok(
        app.post(
            "/api/v1/api-keys",
            Some(&admin),
            &json!({"name": "ERP", "scopes": ["leads:write", "leads:read"]}),
        )
        .await,
        201,
    )
    .await;
    let key = made["secret"].as_str().unwrap().to_owned();
    let prefix = key.split('_').nth(1).unwrap().to_owned();
    let body = json!({"name": "Анна", "phone": "+79161112233"});
    let send = |credential: String| {
        let app = &app;
        let body = body.clone();
        async move {
            Reply::read(
                app.request(Method::POST, "/api/v1/leads", None)
                    .header("x-api-key", credential)
                    .header("idempotency-key", "lead-1")
                    .json(&body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let first = send(key.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    // Knowing the key's public prefix (GET /api-keys lists it) buys nothing.
    let forged = send(format!("crm_{prefix}_not-the-secret")).await;
    forged.problem(401);
    assert!(!forged.text.contains(first.body["id"].as_str().unwrap()));
    let again = send(key.clone()).await;
    assert_eq!((again.status.as_u16(), again.header("idempotent-replayed")), (201, Some("true")));
    assert_eq!(again.body["id"], first.body["id"]);

    // Sign-in and refresh ignore the header: no token is stored or replayed.
    let login = |k: &'static str| {
        let app = &app;
        async move {
            Reply::read(
                app.request(Method::POST, "/api/v1/auth/login", None)
                    .header("idempotency-key", k)
                    .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let a = login("signin").await;
    app.advance(Duration::seconds(1));
    let b = login("signin").await;
    assert_eq!((a.status.as_u16(), b.status.as_u16()), (200, 200));
    assert!(b.header("idempotent-replayed").is_none());
    assert_ne!(a.body["refresh_token"], b.body["refresh_token"]);
    let refresh = a.body["refresh_token"].as_str().unwrap().to_owned();
    let do_refresh = || {
        let app = &app;
        let refresh = refresh.clone();
        async move {
            Reply::read(
                app.request(Method::POST, "/api/v1/auth/refresh", None)
                    .header("idempotency-key", "refresh-1")
                    .json(&json!({"refresh_token": refresh}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    assert_eq!(do_refresh().await.status, 200);
    do_refresh().await.problem(401); // a reuse, detected as one

    // A created key's reply is replayed without its secret.
    let create_key = || {
        let app = &app;
        let admin = admin.clone();
        async move {
            Reply::read(
                app.request(Method::POST, "/api/v1/api-keys", Some(&admin))
                    .header("idempotency-key", "key-1")
                    .json(&json!({"name": "Bank", "scopes": ["payments:write"]}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let made = create_key().await;
    let secret = made.body["secret"].as_str().unwrap().to_owned();
    let replayed = create_key().await;
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed.body["key"]["id"], made.body["key"]["id"]);
    assert_eq!(replayed.body["secret"], Value::Null);
    let stored = column(&app, "SELECT response_body AS v FROM idempotency_keys");
    for body in &stored {
        assert!(!body.contains(&secret), "the key's secret is not stored");
        assert!(!body.contains("access_token") && !body.contains("refresh_token"), "no tokens stored");
    }
}

#[tokio::test]
async fn a_change_and_its_idempotency_record_commit_together() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let lead = |k: &'static str| {
        let app = &app;
        let admin = admin.clone();
        async move {
            Reply::read(
                app.request(Method::POST, "/api/v1/leads", Some(&admin))
                    .header("idempotency-key", k)
                    .json(&json!({"name": "Анна", "phone": "+79161112233"}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    assert_eq!(lead("crash").await.status, 201);
    // The process stops after the lead committed, before its reply was
    // stored: the record says "applied" (written in the lead's transaction).
    execute(
        &app,
        "UPDATE idempotency_keys SET state = 'applied', response_status = NULL, response_body = NULL",
    );
    app.advance(Duration::minutes(5));
    let admin2 = app.admin_token().await;
    let retry = Reply::read(
        app.request(Method::POST, "/api/v1/leads", Some(&admin2))
            .header("idempotency-key", "crash")
            .json(&json!({"name": "Анна", "phone": "+79161112233"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    // The scope is the user, not the token: the new token's retry is the same caller's.
    retry.problem(409);
    assert_eq!(retry.body["type"], "urn:crm:problem:idempotency_key_applied");
    assert_eq!(
        app.get("/api/v1/leads", &admin2).await.body["items"].as_array().unwrap().len(),
        1,
        "run once"
    );

    // The mark is written by the use case's own transaction, or not at all.
    let begin = |key: &str| match crm_app::platform::idempotency::begin(&app.app, "test:scope", key, "hash")
        .unwrap()
    {
        crm_app::platform::idempotency::Begin::Proceed(id) => id,
        other => panic!("{other:?}"),
    };
    let committed = begin("k1");
    app.app.with_idempotency(Some(committed)).write(|_| Ok(())).unwrap();
    let failed = begin("k2");
    let _ = app
        .app
        .with_idempotency(Some(failed))
        .write(|_| -> Result<(), crm_app::AppError> { Err(crm_app::AppError::rule("x", "y")) });
    let states = column(&app, "SELECT idem_key || ':' || state AS v FROM idempotency_keys WHERE principal = 'test:scope' ORDER BY idem_key");
    assert_eq!(states, ["k1:applied", "k2:in_flight"]);
}

// --- 5. forwarded addresses -----------------------------------------------

#[tokio::test]
async fn only_trusted_proxies_say_who_the_client_is() {
    let app = spawn_app_with(&[("CRM_TRUSTED_PROXIES", "127.0.0.1/32, ::1")]).await;
    let admin = app.admin_token().await;
    let form = ok(app.post("/api/v1/forms", Some(&admin), &json!({"name": "Contact us"})).await, 201).await;
    let path = format!("/api/v1/intake/forms/{}", form["address"].as_str().unwrap());
    let post = |xff: String, n: usize| {
        let app = &app;
        let path = path.clone();
        async move {
            post_raw(
                app,
                &path,
                &[("content-type", "application/json"), ("x-forwarded-for", &xff)],
                serde_json::to_vec(&json!({"phone": format!("+7916111{n:04}"), "message": "hi"})).unwrap(),
            )
            .await
        }
    };
    // The client behind our balancer is the rightmost hop it did not add:
    // a spoofed leftmost hop changes nothing, so the sixth post is throttled.
    for n in 0..5 {
        assert_eq!(post(format!("10.9.9.{n}, 198.51.100.7"), n).await.status, 200);
    }
    post("203.0.113.99, 198.51.100.7".to_owned(), 5).await.problem(429);
    // Another client behind the same balancer has a bucket of its own.
    assert_eq!(post("198.51.100.8".to_owned(), 6).await.status, 200);

    // Without trusted proxies the header is ignored: every post is the peer's.
    let plain = spawn_app().await;
    let admin = plain.admin_token().await;
    let form = ok(plain.post("/api/v1/forms", Some(&admin), &json!({"name": "Contact us"})).await, 201).await;
    let path = format!("/api/v1/intake/forms/{}", form["address"].as_str().unwrap());
    for n in 0..6 {
        let r = post_raw(
            &plain,
            &path,
            &[("content-type", "application/json"), ("x-forwarded-for", &format!("198.51.100.{n}"))],
            serde_json::to_vec(&json!({"phone": format!("+7916222{n:04}")})).unwrap(),
        )
        .await;
        assert_eq!(r.status.as_u16(), if n < 5 { 200 } else { 429 }, "post {n}");
    }
    // The old switch that trusted anyone is refused at start, with the way out.
    let mut env = std::collections::HashMap::new();
    env.insert("CRM_TRUST_PROXY".to_owned(), "true".to_owned());
    let err = crm_api::Config::from_lookup(|k| env.get(k).cloned()).err().unwrap().to_string();
    assert!(err.contains("CRM_TRUSTED_PROXIES"), "{err}");
}

// --- 6. what others may see and be handed ---------------------------------

#[tokio::test]
async fn a_colleagues_client_shows_only_what_routing_needs() {
    let app = spawn_app().await;
    let s = sale(&app).await;
    ok(
        app.patch(
            &format!("/api/v1/clients/{}", s.client_id),
            &s.ivan,
            &json!({"tax_id": "7736207543", "phones": ["+7 916 555-44-33"], "address": "Москва, Тверская, 1"}),
        )
        .await,
        200,
    )
    .await;
    app.get(&format!("/api/v1/clients/{}", s.client_id), &s.maria).await.problem(404);
    // Maria's lead comes from the same phone: the wizard names the client's
    // manager and masks the rest.
    let lead = ok(
        app.post("/api/v1/leads", Some(&s.maria), &json!({"name": "Кто-то", "phone": "8 916 555 44 33"}))
            .await,
        201,
    )
    .await;
    let w = app.get(&format!("/api/v1/leads/{}/acceptance", id(&lead)), &s.maria).await;
    assert_eq!(w.status, 200, "{}", w.text);
    assert!(w.body["client"].is_null(), "{}", w.text);
    let glimpse = &w.body["client_glimpse"];
    assert_eq!(glimpse["id"], s.client_id.as_str());
    assert_eq!(glimpse["masked_name"], "О** «Р******»");
    assert_eq!(glimpse["responsible_name"], "User ivan@test.crm");
    let ivan_id = glimpse["responsible_id"].clone();
    assert_eq!(w.body["proposed_responsible_id"], ivan_id, "the wizard still proposes the client's manager");
    for secret in ["Ромашка", "7736207543", "Тверская", "buh@romashka.ru"] {
        assert!(!w.text.contains(secret), "{secret} leaked: {}", w.text);
    }
    // The owner sees it whole.
    let own = ok(
        app.post("/api/v1/leads", Some(&s.ivan), &json!({"name": "Кто-то", "phone": "+79165554433"})).await,
        201,
    )
    .await;
    let mine = app.get(&format!("/api/v1/leads/{}/acceptance", id(&own)), &s.ivan).await.body;
    assert_eq!(mine["client"]["tax_id"], "7736207543");
    assert!(mine["client_glimpse"].is_null());

    // Duplicate search: the same.
    let d = app
        .post(
            "/api/v1/duplicates/search",
            Some(&s.maria),
            &json!({"name": "Ромашка", "tax_id": "7736207543"}),
        )
        .await;
    assert_eq!(d.status, 200, "{}", d.text);
    let c = &d.body["candidates"][0];
    assert_eq!(
        (c["visible"].as_bool(), c["name"].as_str()),
        (Some(false), Some("О** «Р******»")),
        "{}",
        d.text
    );
    assert_eq!(c["responsible_name"], "User ivan@test.crm");
    assert!(!d.text.contains("Ромашка") && !d.text.contains("ромашка"), "{}", d.text);
    let own =
        app.post("/api/v1/duplicates/search", Some(&s.ivan), &json!({"tax_id": "7736207543"})).await.body;
    assert_eq!(
        (own["candidates"][0]["visible"].as_bool(), own["candidates"][0]["name"].as_str()),
        (Some(true), Some("ООО «Ромашка»"))
    );
    // A 409 on create lists candidates the same way.
    let dup = app
        .post(
            "/api/v1/clients",
            Some(&s.maria),
            &json!({"name": "Другое", "kind": "company", "tax_id": "7736207543"}),
        )
        .await;
    dup.problem(409);
    assert!(!dup.text.contains("Ромашка"), "{}", dup.text);
}

#[tokio::test]
async fn work_goes_only_to_people_in_reach_who_can_hold_it() {
    let app = spawn_app().await;
    let s = sale(&app).await;
    let users = app.get("/api/v1/users?limit=200", &s.admin).await.body;
    let user = |email: &str| {
        users["items"].as_array().unwrap().iter().find(|u| u["email"] == email).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (olga, maria, head) = (user("olga@test.crm"), user("maria@test.crm"), user("head@test.crm"));
    let outsider =
        app.create_user(&s.admin, "oleg@test.crm", "manager", None).await["id"].as_str().unwrap().to_owned();
    let task = |token: String, assignee: String| {
        let app = &app;
        async move {
            app.post(
                "/api/v1/tasks",
                Some(&token),
                &json!({"title": "Call", "due_at": app.clock_now() + Duration::hours(3), "assignee_id": assignee}),
            )
            .await
        }
    };
    // A manager: themselves and their department.
    assert_eq!(task(s.ivan.clone(), maria.clone()).await.status, 201);
    assert_eq!(task(s.ivan.clone(), head.clone()).await.status, 201);
    assert_eq!(task(s.ivan.clone(), outsider.clone()).await.unmet_checks(), vec!["assignee_reachable"]);
    assert_eq!(task(s.ivan.clone(), olga.clone()).await.unmet_checks(), vec!["assignee_reachable"]);
    // Admins hand tasks to anyone who works here.
    assert_eq!(task(s.admin.clone(), olga.clone()).await.status, 201);
    // An interest needs a sales role, whoever hands it over.
    let moved =
        app.patch(&format!("/api/v1/interests/{}", s.iid), &s.admin, &json!({"responsible_id": olga})).await;
    moved.problem(422);
    assert_eq!(moved.unmet_checks(), vec!["responsible_role"]);
    let head_gives = app
        .patch(&format!("/api/v1/interests/{}", s.iid), &s.head, &json!({"responsible_id": outsider}))
        .await;
    assert_eq!(head_gives.unmet_checks(), vec!["responsible_reachable"]);
    assert_eq!(
        app.patch(&format!("/api/v1/interests/{}", s.iid), &s.head, &json!({"responsible_id": maria}))
            .await
            .status,
        200
    );
    // Leads and client hand-overs follow the same rule.
    let lead =
        app.post("/api/v1/leads", Some(&s.maria), &json!({"name": "X", "assignee_id": outsider})).await;
    assert_eq!(lead.unmet_checks(), vec!["assignee_reachable"]);
    let lead = app.post("/api/v1/leads", Some(&s.admin), &json!({"name": "X", "assignee_id": olga})).await;
    assert_eq!(lead.unmet_checks(), vec!["assignee_role"]);
    let handover = app
        .patch(&format!("/api/v1/clients/{}", s.client_id), &s.head, &json!({"responsible_id": outsider}))
        .await;
    assert_eq!(handover.unmet_checks(), vec!["responsible_reachable"]);
    let nothing_moved = app.get(&format!("/api/v1/clients/{}", s.client_id), &s.admin).await.body;
    assert_ne!(nothing_moved["responsible_id"], outsider.as_str());
}

#[tokio::test]
async fn an_admin_decides_a_loss_the_head_has_not() {
    let app = spawn_app().await;
    let o = crate::sales::org(&app).await;
    let reason = crate::sales::loss_reason(&app, &o.head).await;
    let i = crate::sales::new_interest(&app, &o.manager, json!({"title": "Chairs"})).await;
    let iid = i["id"].as_str().unwrap();
    let asked = crate::sales::transition(
        &app,
        &o.manager,
        iid,
        json!({"to_stage": "lost", "loss_reason_id": reason}),
    )
    .await;
    assert_eq!(asked.body["loss_approver_id"], o.head_id.as_str());
    let decided = app
        .post(
            &format!("/api/v1/interests/{iid}/loss-decision"),
            Some(&o.admin),
            &json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(decided.status, 200, "{}", decided.text);
    assert_eq!(decided.body["state"], "lost");
}

#[tokio::test]
async fn accounting_sees_orders_invoices_payments_and_shipments_in_the_tree() {
    let app = spawn_app().await;
    let s = sale(&app).await;
    ok(
        app.post(
            &format!("/api/v1/interests/{}/quotes", s.iid),
            Some(&s.ivan),
            &json!({"variants": [{"name": "A", "lines": [free_line("10", "1")]}]}),
        )
        .await,
        201,
    )
    .await;
    let oid = confirmed_order(&app, &s, json!([free_line("100", "2")])).await;
    ok(app.post("/api/v1/payments", Some(&s.olga), &json!({"order_id": oid, "amount": "244"})).await, 201)
        .await;
    let line = app.get(&format!("/api/v1/orders/{oid}"), &s.ivan).await.body["lines"][0]["id"].clone();
    ok(
        app.post(
            &format!("/api/v1/orders/{oid}/shipments"),
            Some(&s.ivan),
            &json!({"kind": "sales_document", "lines": [{"order_line_id": line, "quantity": "1"}]}),
        )
        .await,
        201,
    )
    .await;
    let tree = ok(app.get(&format!("/api/v1/interests/{}/documents", s.iid), &s.olga).await, 200).await;
    let kinds: Vec<&str> = tree["children"][0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(tree["children"].as_array().unwrap().len(), 1, "no quote for accounting: {tree}");
    assert_eq!(tree["children"][0]["kind"], "order");
    assert_eq!(kinds, ["invoice", "payment", "shipment"]);
}

// --- 7. PostgreSQL behaves like SQLite ------------------------------------

/// PostgreSQL only: SQLite writers are serial, so a second delivery cannot
/// race the first inside the unique index.
#[tokio::test]
async fn a_duplicate_delivery_that_loses_the_race_answers_with_the_winner() {
    let app = spawn_app().await;
    if !app.db.is_postgres() {
        return;
    }
    let admin = app.admin_token().await;
    let mut other = diesel::PgConnection::establish(app.db.url()).unwrap();
    let winner = uuid::Uuid::now_v7();
    diesel::sql_query("BEGIN").execute(&mut other).unwrap();
    diesel::sql_query(format!(
        "INSERT INTO leads (id, channel, external_id, status, received_at, name, version, created_at, updated_at) \
         VALUES ('{winner}', 'manual', 'ext-42', 'new', now(), 'Первый', 1, now(), now())"
    ))
    .execute(&mut other)
    .unwrap();
    let request = {
        let client = app.client.clone();
        let url = app.url("/api/v1/leads");
        let admin = admin.clone();
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(admin)
                .json(&json!({"name": "Второй", "external_id": "ext-42"}))
                .send()
                .await
                .unwrap()
        })
    };
    // Wait until the request blocks on the uncommitted row's unique key, then commit it.
    let waiting = lock_waiters(&mut other, false).await;
    assert_eq!(waiting, 1, "the request waits on the unique key");
    diesel::sql_query("COMMIT").execute(&mut other).unwrap();
    let res = Reply::read(request.await.unwrap()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["id"], winner.to_string());
}

/// PostgreSQL only: SQLite serves one instance from one file.
#[tokio::test]
async fn two_servers_starting_at_once_on_an_empty_database_both_come_up() {
    let db = TestDb::new();
    if !db.is_postgres() {
        return;
    }
    let url = db.url().to_owned();
    let start = |url: String| {
        std::thread::spawn(move || {
            let dir = tempfile::tempdir().unwrap();
            let env: std::collections::HashMap<String, String> = [
                ("CRM_BIND", "127.0.0.1:0"),
                ("DATABASE_URL", url.as_str()),
                ("CRM_JWT_SECRET", JWT_SECRET),
                ("CRM_ADMIN_EMAIL", ADMIN_EMAIL),
                ("CRM_ADMIN_PASSWORD", ADMIN_PASSWORD),
                ("CRM_DATA_DIR", dir.path().to_str().unwrap()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
            let config = crm_api::Config::from_lookup(|k| env.get(k).cloned()).unwrap();
            // Migrations, the default scenario and the first admin, as a real start does.
            let app = crm_api::startup::prepare(
                &config,
                std::sync::Arc::new(crm_app::ManualClock::new(start_time())),
            )
            .map_err(|e| e.to_string())?;
            crm_app::identity::bootstrap::bootstrap_admin(&app, ADMIN_EMAIL, Some(ADMIN_PASSWORD))
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    };
    let (a, b) = (start(url.clone()), start(url));
    assert_eq!(a.join().unwrap(), Ok(()));
    assert_eq!(b.join().unwrap(), Ok(()));
}

/// PostgreSQL only: the connection is a network one there.
#[tokio::test]
async fn a_connection_lost_mid_request_answers_503_and_leaves_the_pool() {
    let app = spawn_app_with(&[("CRM_DB_POOL_TIMEOUT", "1s")]).await;
    if !app.db.is_postgres() {
        return;
    }
    let s = sale(&app).await;
    let oid = confirmed_order(&app, &s, json!([free_line("100", "1")])).await;
    // Hold the interest's row so the payment's transaction waits mid-way, then cut it off.
    let mut holder = diesel::PgConnection::establish(app.db.url()).unwrap();
    diesel::sql_query("BEGIN").execute(&mut holder).unwrap();
    diesel::sql_query(format!("SELECT id FROM interests WHERE id = '{}' FOR UPDATE", s.iid))
        .execute(&mut holder)
        .unwrap();
    let pay = {
        let client = app.client.clone();
        let url = app.url("/api/v1/payments");
        let olga = s.olga.clone();
        let oid = oid.clone();
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(olga)
                .json(&json!({"order_id": oid, "amount": "10"}))
                .send()
                .await
                .unwrap()
        })
    };
    let killed = lock_waiters(&mut holder, true).await;
    assert_eq!(killed, 1);
    diesel::sql_query("ROLLBACK").execute(&mut holder).unwrap();
    let res = Reply::read(pay.await.unwrap()).await;
    res.problem(503);
    assert!(res.header("retry-after").is_some());
    assert!(!res.text.contains("terminating") && !res.text.contains("SQL"), "{}", res.text);
    // The broken connection left the pool: the retry goes through.
    let retry = app.post("/api/v1/payments", Some(&s.olga), &json!({"order_id": oid, "amount": "10"})).await;
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert_eq!(app.client.get(app.url("/readyz")).send().await.unwrap().status(), 200);

    // The database goes away altogether: not ready (503), never 500.
    drop(holder);
    if let TestDb::Postgres { admin_url, name, .. } = &app.db {
        let mut admin = diesel::PgConnection::establish(admin_url).unwrap();
        diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut admin).unwrap();
    }
    let ready = Reply::read(app.client.get(app.url("/readyz")).send().await.unwrap()).await;
    ready.problem(503);
    let me = app.get("/api/v1/me", &s.ivan).await;
    me.problem(503);
}

// --- 8. documents stay what they were when issued -------------------------

#[tokio::test]
async fn an_issued_invoice_keeps_its_parties_and_the_buyer_stays() {
    let app = spawn_app().await;
    let s = sale(&app).await;
    ok(
        app.patch(
            &format!("/api/v1/clients/{}", s.client_id),
            &s.ivan,
            &json!({"tax_id": "7736207543", "address": "Москва, Тверская, 1"}),
        )
        .await,
        200,
    )
    .await;
    let orders = format!("/api/v1/interests/{}/orders", s.iid);
    let oid = confirmed_order(&app, &s, json!([free_line("100", "1")])).await;
    let invoice = |oid: String| {
        let app = &app;
        let ivan = s.ivan.clone();
        async move { pdf_text(&bytes(app, &format!("/api/v1/orders/{oid}/invoice.pdf"), &ivan).await.2) }
    };
    let before = invoice(oid.clone()).await;
    assert!(
        before.contains("ПАО Сбербанк") && before.contains("Ромашка") && before.contains("Тверская"),
        "{before}"
    );

    // The organisation changes bank, the client moves.
    let req = app.request(Method::PUT, "/api/v1/organization", Some(&s.admin)).json(&json!({
        "name": "ООО «Мебель-Сервис»", "tax_id": "7707083893", "kpp": "770701001", "bank": "АО Альфа-Банк",
        "bik": "044525593", "account": "40702810100000000001", "correspondent_account": "30101810200000000593",
        "address": "Москва, ул. Новая, 1"}));
    assert_eq!(Reply::read(req.send().await.unwrap()).await.status, 200);
    ok(
        app.patch(
            &format!("/api/v1/clients/{}", s.client_id),
            &s.ivan,
            &json!({"address": "Казань, Баумана, 2"}),
        )
        .await,
        200,
    )
    .await;
    let after = invoice(oid.clone()).await;
    assert!(
        after.contains("ПАО Сбербанк") && after.contains("Тверская"),
        "the issued invoice is unchanged: {after}"
    );
    assert!(!after.contains("Альфа") && !after.contains("Казань"), "{after}");
    let next =
        ok(app.post(&orders, Some(&s.ivan), &json!({"lines": [free_line("50", "1")]})).await, 201).await;
    ok(app.post(&format!("/api/v1/orders/{}/confirm", id(&next)), Some(&s.ivan), &json!({})).await, 200)
        .await;
    let fresh = invoice(id(&next)).await;
    assert!(
        fresh.contains("Альфа") && fresh.contains("Казань"),
        "a new invoice has today's details: {fresh}"
    );

    // The buyer of confirmed orders stays the interest's client.
    let other = ok(
        app.post("/api/v1/clients", Some(&s.ivan), &json!({"name": "ИП Иванов", "kind": "person"})).await,
        201,
    )
    .await;
    let moved =
        app.patch(&format!("/api/v1/interests/{}", s.iid), &s.ivan, &json!({"client_id": other["id"]})).await;
    moved.problem(422);
    assert_eq!(moved.unmet_checks(), vec!["client_fixed_by_orders"]);
}

#[tokio::test]
async fn a_quote_order_stays_within_its_quote_and_bank_documents_and_shipments_hold() {
    let app = spawn_app().await;
    let s = sale(&app).await;
    let q = ok(
        app.post(
            &format!("/api/v1/interests/{}/quotes", s.iid),
            Some(&s.ivan),
            &json!({"variants": [{"name": "A", "lines": [free_line("100", "2")]}]}),
        )
        .await,
        201,
    )
    .await;
    let qpath = format!("/api/v1/quotes/{}", id(&q));
    ok(app.patch(&qpath, &s.ivan, &json!({"status": "sent"})).await, 200).await;
    let variant = q["variants"][0]["id"].clone();
    let qline = q["variants"][0]["lines"][0]["id"].clone();
    ok(app.post(&format!("{qpath}/approve"), Some(&s.ivan), &json!({"variant_id": variant})).await, 200)
        .await;
    let made = ok(app.post(&format!("{qpath}/orders"), Some(&s.ivan), &json!({})).await, 201).await;
    let order = &made["items"].as_array().map_or(made.clone(), |a| a[0].clone());
    let opath = format!("/api/v1/orders/{}", id(order));
    // Free lines would cut the order loose from its quote.
    let loose = app.patch(&opath, &s.ivan, &json!({"lines": [free_line("1", "50")]})).await;
    assert_eq!(loose.unmet_checks(), vec!["quote_lines"]);
    let more =
        app.patch(&opath, &s.ivan, &json!({"lines": [{"quote_line_id": qline, "quantity": "3"}]})).await;
    assert_eq!(more.unmet_checks(), vec!["within_quoted"]);
    let priced = app
        .patch(
            &opath,
            &s.ivan,
            &json!({"lines": [{"quote_line_id": qline, "quantity": "1", "unit_price": "1"}]}),
        )
        .await;
    assert_eq!(priced.error_fields(), vec!["lines[0].unit_price"]);
    let less = ok(
        app.patch(&opath, &s.ivan, &json!({"lines": [{"quote_line_id": qline, "quantity": "1"}]})).await,
        200,
    )
    .await;
    assert_eq!(
        (less["lines"][0]["quote_line_id"].clone(), less["total"].as_str()),
        (qline.clone(), Some("100.00"))
    );
    // The quantity it gave up is free for another order of the quote.
    let second = ok(
        app.post(
            &format!("{qpath}/orders"),
            Some(&s.ivan),
            &json!({"orders": [{"lines": [{"quote_line_id": qline, "quantity": "1"}]}]}),
        )
        .await,
        201,
    )
    .await;
    assert!(second.to_string().contains("ORD-"));

    // A bank document is one payment: the same again is a repeat, anything else a conflict.
    ok(app.post(&format!("{opath}/confirm"), Some(&s.ivan), &json!({})).await, 200).await;
    let pay = |amount: &str| json!({"order_id": id(order), "amount": amount, "external_ref": "PP-77"});
    let first = ok(app.post("/api/v1/payments", Some(&s.olga), &pay("50")).await, 201).await;
    let repeat = app.post("/api/v1/payments", Some(&s.olga), &pay("50")).await;
    assert_eq!((repeat.status.as_u16(), repeat.body["id"].clone()), (200, first["id"].clone()));
    let other_amount = app.post("/api/v1/payments", Some(&s.olga), &pay("60")).await;
    other_amount.problem(409);
    assert_eq!(other_amount.body["errors"][0]["field"], "external_ref");

    // Shipped goods hold the order: cancel the shipment first.
    let line = app.get(&opath, &s.ivan).await.body["lines"][0]["id"].clone();
    let shipment = ok(
        app.post(
            &format!("{opath}/shipments"),
            Some(&s.ivan),
            &json!({"kind": "sales_document", "lines": [{"order_line_id": line, "quantity": "1"}]}),
        )
        .await,
        201,
    )
    .await;
    ok(app.post(&format!("/api/v1/payments/{}/cancel", id(&first)), Some(&s.olga), &json!({})).await, 200)
        .await;
    let cancel = app.post(&format!("{opath}/cancel"), Some(&s.ivan), &json!({})).await;
    assert_eq!(cancel.unmet_checks(), vec!["order_status"]);
    assert!(cancel.text.contains("shipments"), "{}", cancel.text);
    ok(
        app.post(&format!("/api/v1/shipments/{}/cancel", id(&shipment)), Some(&s.ivan), &json!({})).await,
        200,
    )
    .await;
    ok(app.post(&format!("{opath}/cancel"), Some(&s.ivan), &json!({})).await, 200).await;
}

// --- 9. every messenger message --------------------------------------------

#[tokio::test]
async fn every_telegram_and_vk_message_makes_or_joins_a_lead() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    channel_secret(&app, &admin, json!({"kind": "telegram", "name": "Bot", "secret": "tg-secret"})).await;
    let mut n = 100;
    let mut send = |chat: i64, message: Value, edited: bool| {
        n += 1;
        let key = if edited { "edited_message" } else { "message" };
        let mut m = message;
        m["chat"] = json!({"id": chat, "type": "private"});
        m["from"] = json!({"id": chat, "first_name": "Anna"});
        m["date"] = json!(1764583200);
        let body = serde_json::to_vec(&json!({"update_id": n, key: m})).unwrap();
        let app = &app;
        async move {
            let r = post_raw(
                app,
                "/api/v1/intake/telegram",
                &[("content-type", "application/json"), ("x-telegram-bot-api-secret-token", "tg-secret")],
                body,
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.text);
            r.body["lead_id"].as_str().unwrap().to_owned()
        }
    };
    let lead = send(1, json!({"message_id": 1, "photo": [{"file_id": "small"}, {"file_id": "AgACbig"}], "caption": "Такой диван есть?"}), false).await;
    for m in [
        json!({"message_id": 2, "voice": {"file_id": "AwACvoice", "duration": 12}}),
        json!({"message_id": 3, "location": {"latitude": 55.7539, "longitude": 37.6208}}),
        json!({"message_id": 4, "sticker": {"file_id": "CAACst", "emoji": "👍"}}),
        json!({"message_id": 5, "document": {"file_id": "BQACdoc", "file_name": "ТЗ.pdf"}}),
        json!({"message_id": 6, "contact": {"phone_number": "+79161234567", "first_name": "Анна", "last_name": "Смирнова"}}),
    ] {
        assert_eq!(send(1, m, false).await, lead, "joins the chat's open lead");
    }
    assert_eq!(
        send(1, json!({"message_id": 1, "text": "Такой диван есть? Синий", "edit_date": 1764583300}), true)
            .await,
        lead
    );
    let l = app.get(&format!("/api/v1/leads/{lead}"), &admin).await.body;
    let body = l["body"].as_str().unwrap();
    for part in [
        "Такой диван есть?\n[photo file_id=AgACbig]",
        "[voice 0:12 file_id=AwACvoice]",
        "[location 55.75390,37.62080]",
        "[sticker 👍 file_id=CAACst]",
        "[document ТЗ.pdf file_id=BQACdoc]",
        "[contact Анна Смирнова, shared phone +79161234567]",
        "[edited] Такой диван есть? Синий",
    ] {
        assert!(body.contains(part), "{part:?} missing from {body:?}");
    }
    assert_eq!(l["phone"], "+79161234567");
    assert_eq!(l["name"], "Anna", "the chat's first message named the lead");
    // A contact card opening a chat names the lead with the full name.
    let card = send(2, json!({"message_id": 1, "contact": {"phone_number": "79031112233", "first_name": "Пётр", "last_name": "Иванов"}}), false).await;
    let c = app.get(&format!("/api/v1/leads/{card}"), &admin).await.body;
    assert_eq!((c["name"].as_str(), c["phone"].as_str()), (Some("Пётр Иванов"), Some("+79031112233")));

    channel_secret(
        &app,
        &admin,
        json!({"kind": "vk", "name": "VK", "address": "777", "secret": "vk-s", "confirmation": "c0nf"}),
    )
    .await;
    let vk = |event: Value| {
        let app = &app;
        async move {
            let r = post_raw(
                app,
                "/api/v1/intake/vk",
                &[("content-type", "application/json")],
                serde_json::to_vec(&event).unwrap(),
            )
            .await;
            assert_eq!((r.status.as_u16(), r.text.as_str()), (200, "ok"));
        }
    };
    vk(json!({"type": "message_new", "group_id": 777, "event_id": "e1", "secret": "vk-s", "object": {"message": {
        "from_id": 42, "peer_id": 42, "date": 1764583200, "text": "",
        "attachments": [{"type": "photo", "photo": {"owner_id": 42, "id": 9}}, {"type": "audio_message", "audio_message": {"owner_id": 42, "id": 3, "duration": 7}}],
        "geo": {"coordinates": {"latitude": 59.93, "longitude": 30.31}}}}})).await;
    vk(json!({"type": "message_edit", "group_id": 777, "event_id": "e2", "secret": "vk-s", "object": {
        "from_id": 42, "peer_id": 42, "date": 1764583300, "text": "Нужна доставка"}}))
    .await;
    let leads = app.get("/api/v1/leads?channel=vk", &admin).await.body;
    assert_eq!(leads["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        leads["items"][0]["body"],
        "[photo photo42_9]\n[voice 0:07 audio_message42_3]\n[location 59.93000,30.31000]\n\n[edited] Нужна доставка"
    );
}

// --- 10. input the spec calls invalid -------------------------------------

#[tokio::test]
async fn input_the_spec_calls_invalid_is_refused_naming_the_field() {
    let app = spawn_app().await;
    let s = sale(&app).await;
    let orders = format!("/api/v1/interests/{}/orders", s.iid);
    let spaced = app.post(&orders, Some(&s.ivan), &json!({"lines": [{"description": "x", "quantity": " 1", "unit_price": "10 ", "vat_rate": "22"}]})).await;
    spaced.problem(422);
    assert_eq!(spaced.error_fields(), vec!["lines[0].quantity", "lines[0].unit_price"]);
    let rate = app
        .post(
            &orders,
            Some(&s.ivan),
            &json!({"lines": [{"description": "x", "quantity": "1", "unit_price": "10", "vat_rate": "7"}]}),
        )
        .await;
    assert_eq!(rate.error_fields(), vec!["lines[0].vat_rate"]);
    assert_eq!(rate.body["errors"][0]["code"], "vat_rate_not_charged");
    let product = app
        .post(
            "/api/v1/products",
            Some(&s.admin),
            &json!({"sku": "X", "name": "X", "unit": "шт", "price": "1", "vat_rate": "18"}),
        )
        .await;
    assert_eq!(product.error_fields(), vec!["vat_rate"]);
    let old = app.post(&format!("/api/v1/interests/{}/quotes", s.iid), Some(&s.ivan), &json!({"valid_until": "1899-12-31", "variants": [{"name": "A", "lines": [free_line("1", "1")]}]})).await;
    assert_eq!(old.error_fields(), vec!["valid_until"]);
    assert_eq!(old.body["errors"][0]["code"], "date_out_of_range");
    let far = app.get("/api/v1/orders?updated_since=2201-01-01T00:00:00Z", &s.ivan).await;
    assert_eq!(far.error_fields(), vec!["updated_since"]);

    let oid = confirmed_order(&app, &s, json!([free_line("100", "1")])).await;
    let ahead = app
        .post(
            "/api/v1/payments",
            Some(&s.olga),
            &json!({"order_id": oid, "amount": "1", "paid_on": app.clock_now() + Duration::days(2)}),
        )
        .await;
    assert_eq!(ahead.error_fields(), vec!["paid_on"]);
    let tomorrow = app
        .post(
            "/api/v1/payments",
            Some(&s.olga),
            &json!({"order_id": oid, "amount": "1", "paid_on": app.clock_now() + Duration::hours(20)}),
        )
        .await;
    assert_eq!(tomorrow.status, 201, "a clock a little ahead is fine: {}", tomorrow.text);
    let line = app.get(&format!("/api/v1/orders/{oid}"), &s.ivan).await.body["lines"][0]["id"].clone();
    let shipped = app.post(&format!("/api/v1/orders/{oid}/shipments"), Some(&s.ivan), &json!({"kind": "sales_document", "shipped_on": app.clock_now() + Duration::days(3), "lines": [{"order_line_id": line, "quantity": "1"}]})).await;
    assert_eq!(shipped.error_fields(), vec!["shipped_on"]);

    // If-Match: malformed is 400; a well-formed tag that is not current is 412.
    let client = format!("/api/v1/clients/{}", s.client_id);
    let patch = |tag: &'static str| {
        let app = &app;
        let client = client.clone();
        let ivan = s.ivan.clone();
        async move {
            Reply::read(
                app.request(Method::PATCH, &client, Some(&ivan))
                    .header("if-match", tag)
                    .json(&json!({"address": "Тула"}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    patch("3").await.problem(400);
    patch("\"1").await.problem(400);
    patch("W/\"1\"").await.problem(412);
    // An empty list of tags is well formed and matches nothing.
    patch("").await.problem(412);
    patch("\"99\"").await.problem(412);
    assert_eq!(patch("\"1\", W/\"7\"").await.status, 200, "a list is read by its strong tag");
}
