//! Leads from the real channels, in each provider's own format, each
//! delivered twice: one correct lead each time.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

struct Setup {
    admin: String,
    ivan_id: String,
    ivan: String,
    key: String,
}

async fn setup(app: &TestApp) -> Setup {
    let admin = app.admin_token().await;
    let ivan = app.create_user(&admin, "ivan@test.crm", "manager", None).await;
    let key = app
        .post("/api/v1/api-keys", Some(&admin), &json!({"name": "PBX and mail", "scopes": ["leads:write"]}))
        .await;
    Setup {
        ivan: app.token("ivan@test.crm", PASSWORD).await,
        ivan_id: ivan["id"].as_str().unwrap().to_owned(),
        key: key.body["secret"].as_str().unwrap().to_owned(),
        admin,
    }
}

async fn channel(app: &TestApp, admin: &str, body: Value) -> Value {
    let r = app.post("/api/v1/channels", Some(admin), &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(!r.text.contains("\"secret\""), "secrets are never returned");
    r.body
}

async fn lead(app: &TestApp, token: &str, id: &Value) -> Value {
    let r = app.get(&format!("/api/v1/leads/{}", id.as_str().unwrap()), token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

async fn count(app: &TestApp, token: &str, channel: &str) -> usize {
    app.get(&format!("/api/v1/leads?channel={channel}&limit=200"), token).await.body["items"]
        .as_array()
        .unwrap()
        .len()
}

pub(crate) async fn post_raw(app: &TestApp, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
    let mut req = app.client.request(Method::POST, app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    Reply::read(req.body(body).send().await.unwrap()).await
}

#[tokio::test]
async fn telegram_updates_make_one_lead_per_chat_and_redeliveries_change_nothing() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    channel(&app, &s.admin, json!({"kind": "telegram", "name": "Sales bot", "address": "acme_sales_bot", "secret": "tg-secret_123", "assignee_id": s.ivan_id})).await;
    let update = json!({"update_id": 10000, "message": {"message_id": 1365, "date": 1764583200, "text": "Hello, I need 40 chairs",
        "from": {"id": 1111111, "is_bot": false, "first_name": "Ivan", "last_name": "Petrov", "username": "ivanp", "language_code": "ru"},
        "chat": {"id": 1111111, "first_name": "Ivan", "last_name": "Petrov", "username": "ivanp", "type": "private"}}});
    let send = |u: &Value, secret: &str| {
        let body = serde_json::to_vec(u).unwrap();
        let secret = secret.to_owned();
        let app = &app;
        async move {
            post_raw(
                app,
                "/api/v1/intake/telegram",
                &[("content-type", "application/json"), ("x-telegram-bot-api-secret-token", &secret)],
                body,
            )
            .await
        }
    };
    let first = send(&update, "tg-secret_123").await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["first_time"], true);
    let again = send(&update, "tg-secret_123").await;
    assert_eq!(again.body["lead_id"], first.body["lead_id"]);
    assert_eq!(again.body["first_time"], false);

    let l = lead(&app, &s.ivan, &first.body["lead_id"]).await;
    assert_eq!(l["channel"], "telegram");
    assert_eq!(l["name"], "Ivan Petrov (@ivanp)");
    assert_eq!(l["body"], "Hello, I need 40 chairs");
    assert_eq!(l["assignee_id"], s.ivan_id.as_str(), "the bot routes to its manager");
    assert_eq!(l["source"], "Sales bot");

    // The same chat writes again and shares the phone: it joins the open lead.
    let with_contact = json!({"update_id": 10001, "message": {"message_id": 1366, "date": 1764583260,
        "from": {"id": 1111111, "is_bot": false, "first_name": "Ivan"}, "chat": {"id": 1111111, "type": "private"},
        "contact": {"phone_number": "79161234567", "first_name": "Ivan", "user_id": 1111111}}});
    for _ in 0..2 {
        let r = send(&with_contact, "tg-secret_123").await;
        assert_eq!(r.body["lead_id"], first.body["lead_id"]);
    }
    let l = lead(&app, &s.ivan, &first.body["lead_id"]).await;
    assert_eq!(l["phone"], "+79161234567");
    assert_eq!(
        l["body"].as_str().unwrap().matches("shared phone").count(),
        1,
        "a redelivery appends nothing"
    );
    assert_eq!(count(&app, &s.ivan, "telegram").await, 1);

    // An edit joins the open lead, marked; other kinds of update are
    // acknowledged and make no lead; a wrong secret is refused.
    let edited = json!({"update_id": 10002, "edited_message": {"message_id": 1365, "date": 1764583300, "text": "typo",
        "chat": {"id": 1111111, "type": "private"}}});
    let r = send(&edited, "tg-secret_123").await;
    assert_eq!(r.body["lead_id"], first.body["lead_id"]);
    assert!(lead(&app, &s.ivan, &first.body["lead_id"]).await["body"]
        .as_str()
        .unwrap()
        .ends_with("[edited] typo"));
    let member = json!({"update_id": 10003, "my_chat_member": {"chat": {"id": 1111111, "type": "private"}, "date": 1764583300}});
    let r = send(&member, "tg-secret_123").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["lead_id"], Value::Null);
    send(&update, "wrong").await.problem(401);
    post_raw(&app, "/api/v1/intake/telegram", &[("content-type", "application/json")], b"{}".to_vec())
        .await
        .problem(401);
    assert_eq!(count(&app, &s.ivan, "telegram").await, 1);
}

#[tokio::test]
async fn vk_confirms_the_server_checks_the_secret_and_makes_leads_from_new_messages() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    channel(&app, &s.admin, json!({"kind": "vk", "name": "VK page", "address": "12345", "confirmation": "a1b2c3d4", "secret": "vk-secret"})).await;
    let send = |v: Value| {
        let app = &app;
        async move {
            post_raw(
                app,
                "/api/v1/intake/vk",
                &[("content-type", "application/json")],
                serde_json::to_vec(&v).unwrap(),
            )
            .await
        }
    };
    let confirm = send(json!({"type": "confirmation", "group_id": 12345})).await;
    assert_eq!(confirm.status, 200);
    assert_eq!(confirm.text, "a1b2c3d4");
    assert!(confirm.header("content-type").unwrap().starts_with("text/plain"));

    let message = json!({"type": "message_new", "group_id": 12345, "event_id": "5b7a3f4d6c1e2a9b", "v": "5.199", "secret": "vk-secret",
        "object": {"message": {"date": 1764583200, "from_id": 777, "id": 1, "out": 0, "peer_id": 777, "text": "Здравствуйте, сколько стоит доставка?",
            "conversation_message_id": 1}, "client_info": {"keyboard": true}}});
    for _ in 0..2 {
        let r = send(message.clone()).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.text, "ok");
    }
    let listed = app.get("/api/v1/leads?channel=vk", &s.ivan).await;
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["body"], "Здравствуйте, сколько стоит доставка?");
    assert_eq!(items[0]["name"], "VK user id777");

    let other = send(json!({"type": "wall_post_new", "group_id": 12345, "event_id": "x1", "secret": "vk-secret", "object": {}})).await;
    assert_eq!(other.text, "ok");
    let mut wrong = message.clone();
    wrong["secret"] = json!("nope");
    wrong["event_id"] = json!("other-event");
    send(wrong).await.problem(403);
    send(json!({"type": "message_new", "group_id": 999, "event_id": "y"})).await.problem(403);
    assert_eq!(count(&app, &s.ivan, "vk").await, 1);
}

#[tokio::test]
async fn calls_from_unknown_numbers_and_missed_calls_make_leads_routed_by_the_line() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    channel(&app, &s.admin, json!({"kind": "phone", "name": "Ivan's line", "address": "+7 495 000-00-01", "assignee_id": s.ivan_id})).await;
    app.post(
        "/api/v1/clients",
        Some(&s.ivan),
        &json!({"name": "Known", "kind": "company", "phones": ["+79160000002"]}),
    )
    .await;
    let call = |id: &str, from: &str, to: &str, direction: &str, status: &str| {
        json!({"call_id": id, "from": from, "to": to, "direction": direction, "started_at": "2026-12-01T07:00:00Z",
            "duration_seconds": if status == "answered" { 95 } else { 0 }, "status": status, "recording_url": "https://pbx.example/rec/1.mp3"})
    };
    let push = |body: Value| {
        let app = &app;
        let key = s.key.clone();
        async move {
            Reply::read(
                app.request(Method::POST, "/api/v1/intake/calls", None)
                    .header("x-api-key", key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let unknown = push(call("c-1", "8 (916) 000-00-01", "+74950000001", "inbound", "answered")).await;
    assert_eq!(unknown.status, 200, "{}", unknown.text);
    let again = push(call("c-1", "8 (916) 000-00-01", "+74950000001", "inbound", "answered")).await;
    assert_eq!(again.body["lead_id"], unknown.body["lead_id"]);
    let l = lead(&app, &s.ivan, &unknown.body["lead_id"]).await;
    assert_eq!(l["phone"], "+79160000001");
    assert_eq!(l["assignee_id"], s.ivan_id.as_str());
    assert_eq!(l["external_id"], "c-1");

    let missed_known = push(call("c-2", "+79160000002", "+74950000009", "inbound", "missed")).await;
    let l = lead(&app, &s.ivan, &missed_known.body["lead_id"]).await;
    assert_eq!(l["subject"], "Missed call");
    assert!(l["client_id"].is_string(), "a known number is identified");
    assert_eq!(l["assignee_id"], Value::Null, "an unknown line goes to the shared inbox");

    let answered_known = push(call("c-3", "+79160000002", "+74950000001", "inbound", "answered")).await;
    assert_eq!(answered_known.body["lead_id"], Value::Null);
    let outbound = push(call("c-4", "+74950000001", "+79160000005", "outbound", "answered")).await;
    assert_eq!(outbound.body["lead_id"], Value::Null);
    push(call("c-5", "x", "y", "sideways", "answered")).await.problem(422);
    assert_eq!(count(&app, &s.admin, "phone").await, 2);
    // A manager's token is not an integration key.
    app.post(
        "/api/v1/intake/calls",
        Some(&s.ivan),
        &call("c-6", "+79160000007", "+74950000001", "inbound", "missed"),
    )
    .await
    .problem(403);
}

#[tokio::test]
async fn website_forms_take_json_and_urlencoded_posts_from_their_own_site() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let form = app
        .post(
            "/api/v1/forms",
            Some(&s.admin),
            &json!({"name": "Contact us", "allowed_origins": ["https://shop.example"]}),
        )
        .await;
    assert_eq!(form.status, 201, "{}", form.text);
    let key = form.body["address"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/intake/forms/{key}");

    let json_post = post_raw(
        &app,
        &path,
        &[("content-type", "application/json"), ("origin", "https://shop.example")],
        serde_json::to_vec(&json!({"name": "Мария", "phone": "8 903 111-22-33", "message": "Нужен диван"}))
            .unwrap(),
    )
    .await;
    assert_eq!(json_post.status, 200, "{}", json_post.text);
    assert_eq!(json_post.header("access-control-allow-origin"), Some("https://shop.example"));
    let double_submit = post_raw(
        &app,
        &path,
        &[("content-type", "application/json"), ("origin", "https://shop.example")],
        serde_json::to_vec(&json!({"name": "Мария", "phone": "8 903 111-22-33", "message": "Нужен диван"}))
            .unwrap(),
    )
    .await;
    assert_eq!(double_submit.status, 200, "{}", double_submit.text);
    let urlencoded = post_raw(
        &app,
        &path,
        &[("content-type", "application/x-www-form-urlencoded")],
        b"name=%D0%9F%D1%91%D1%82%D1%80&email=petr%40example.com&message=Hello+there".to_vec(),
    )
    .await;
    assert_eq!(urlencoded.status, 200, "{}", urlencoded.text);
    let leads = app.get("/api/v1/leads?channel=form", &s.ivan).await;
    let items = leads.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["phone"], "+79031112233");
    assert_eq!(items[1]["name"], "Пётр");
    assert_eq!(items[1]["body"], "Hello there");

    // A bot fills the honeypot: answered as received, nothing stored.
    let bot = post_raw(
        &app,
        &path,
        &[("content-type", "application/json")],
        serde_json::to_vec(
            &json!({"name": "Bot", "email": "bot@spam.example", "website": "http://spam.example"}),
        )
        .unwrap(),
    )
    .await;
    assert_eq!(bot.body["received"], true);
    // Another site may not post, nor preflight.
    post_raw(
        &app,
        &path,
        &[("content-type", "application/json"), ("origin", "https://evil.example")],
        serde_json::to_vec(&json!({"email": "x@example.com"})).unwrap(),
    )
    .await
    .problem(403);
    let preflight = Reply::read(
        app.client
            .request(Method::OPTIONS, app.url(&path))
            .header("origin", "https://shop.example")
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("https://shop.example"));
    // Nothing to answer to; an unknown form; the wrong content type.
    let empty = post_raw(
        &app,
        &path,
        &[("content-type", "application/json")],
        serde_json::to_vec(&json!({"name": "X"})).unwrap(),
    )
    .await;
    assert_eq!(empty.problem(422)["errors"][0]["field"], "phone");
    post_raw(
        &app,
        "/api/v1/intake/forms/no-such-form",
        &[("content-type", "application/json")],
        b"{}".to_vec(),
    )
    .await
    .problem(404);
    post_raw(&app, &path, &[("content-type", "text/plain")], b"hi".to_vec()).await.problem(415);
    assert_eq!(count(&app, &s.ivan, "form").await, 2);

    // Each address may post a few times in ten minutes.
    let mut last = None;
    for i in 0..5 {
        let r = post_raw(
            &app,
            &path,
            &[("content-type", "application/json")],
            serde_json::to_vec(&json!({"email": format!("p{i}@example.com")})).unwrap(),
        )
        .await;
        last = Some(r.status);
    }
    assert_eq!(last.map(|s| s.as_u16()), Some(429));
}

const UTF8_QP: &str = "From: =?UTF-8?B?0JjQstCw0L0g0J/QtdGC0YDQvtCy?= <Ivan.Petrov@Example.RU>\r\n\
To: sales@acme.example\r\n\
Subject: =?UTF-8?B?0JfQsNC60LDQtyDRgdGC0YPQu9GM0LXQsg==?=\r\n\
Message-ID: <utf8-1@example.ru>\r\n\
Date: Tue, 1 Dec 2026 10:00:00 +0300\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=UTF-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
=D0=94=D0=BE=D0=B1=D1=80=D1=8B=D0=B9 =D0=B4=D0=B5=D0=BD=D1=8C! =D0=9D=D1=83=\r\n\
=D0=B6=D0=BD=D0=BE 40 =D1=81=D1=82=D1=83=D0=BB=D1=8C=D0=B5=D0=B2.\r\n";

const KOI8_B64: &str = "From: buyer@example.org\r\n\
To: ivan@acme.example\r\n\
Subject: =?KOI8-R?B?896j1CDOwSDP0MzB1NU=?=\r\n\
Message-ID: <koi8-1@example.org>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=KOI8-R\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
8NLJ28zJ1MUsINDP1sHM1crT1MEsINPeo9Qu\r\n";

const CP1251_HTML: &str = "From: =?windows-1251?B?zuv84+A=?= <olga@example.com>\r\n\
To: sales@acme.example\r\n\
Subject: Delivery\r\n\
Message-ID: <cp1251-1@example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/html; charset=windows-1251\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
<html><body><p>=C8=ED=F2=E5=F0=E5=F1=F3=E5=F2 <b>=E4=EE=F1=F2=E0=E2=EA=E0</=\r\n\
b> =E2 =CA=E0=E7=E0=ED=FC</p></body></html>\r\n";

const UTF8_MULTIPART_B64: &str = "From: Anna <anna@example.net>\r\n\
To: sales@acme.example\r\n\
Subject: =?utf-8?Q?=D0=94=D0=B8=D0=B2=D0=B0=D0=BD?=\r\n\
Message-ID: <multi-1@example.net>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
0J3Rg9C20LXQvSDQtNC40LLQsNC9\r\n\
--b1\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<p>HTML version</p>\r\n\
--b1--\r\n";

const CP1251_B64: &str = "From: client@example.com\r\n\
To: sales@acme.example\r\n\
Subject: =?windows-1251?Q?=D1=F7=E5=F2?=\r\n\
Message-ID: <cp1251-2@example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=windows-1251\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
z/Do+Ovo8uUg8ffl8i4=\r\n";

const KOI8_QP: &str = "From: shop@example.org\r\n\
To: sales@acme.example\r\n\
Subject: =?koi8-r?B?68HUwczPxw==?=\r\n\
Message-ID: <koi8-2@example.org>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=koi8-r\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
=E4=CF=C2=D2=D9=CA =D7=C5=DE=C5=D2, =CE=D5=D6=C5=CE =CB=C1=D4=C1=CC=CF=C7\r\n";

#[tokio::test]
async fn e_mails_in_any_charset_and_encoding_become_one_lead_each() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    channel(&app, &s.admin, json!({"kind": "email", "name": "Ivan's mailbox", "address": "Ivan@Acme.example", "assignee_id": s.ivan_id})).await;
    channel(
        &app,
        &s.admin,
        json!({"kind": "email", "name": "Sales mailbox", "address": "sales@acme.example"}),
    )
    .await;
    let send = |raw: &str| {
        let app = &app;
        let key = s.key.clone();
        let body = raw.as_bytes().to_vec();
        async move {
            post_raw(
                app,
                "/api/v1/intake/email",
                &[("content-type", "message/rfc822"), ("x-api-key", &key)],
                body,
            )
            .await
        }
    };
    let mut ids = Vec::new();
    for raw in [UTF8_QP, KOI8_B64, CP1251_HTML, UTF8_MULTIPART_B64, CP1251_B64, KOI8_QP] {
        let first = send(raw).await;
        assert_eq!(first.status, 200, "{}", first.text);
        let again = send(raw).await;
        assert_eq!(again.body["lead_id"], first.body["lead_id"]);
        assert_eq!(again.body["first_time"], false);
        ids.push(first.body["lead_id"].clone());
    }
    let utf8 = lead(&app, &s.admin, &ids[0]).await;
    assert_eq!(utf8["name"], "Иван Петров");
    assert_eq!(utf8["email"], "ivan.petrov@example.ru");
    assert_eq!(utf8["subject"], "Заказ стульев");
    assert_eq!(utf8["body"], "Добрый день! Нужно 40 стульев.");
    assert_eq!(utf8["external_id"], "utf8-1@example.ru");
    assert_eq!(utf8["source"], "Sales mailbox");
    assert_eq!(utf8["assignee_id"], Value::Null, "a shared mailbox goes to the shared inbox");

    let koi = lead(&app, &s.admin, &ids[1]).await;
    assert_eq!(koi["subject"], "Счёт на оплату");
    assert_eq!(koi["body"], "Пришлите, пожалуйста, счёт.");
    assert_eq!(koi["assignee_id"], s.ivan_id.as_str(), "a personal mailbox goes to its manager");

    let html = lead(&app, &s.admin, &ids[2]).await;
    assert_eq!(html["name"], "Ольга");
    assert!(html["body"].as_str().unwrap().contains("Интересует доставка в Казань"), "{}", html["body"]);
    let multi = lead(&app, &s.admin, &ids[3]).await;
    assert_eq!(multi["subject"], "Диван");
    assert_eq!(multi["body"], "Нужен диван", "the plain part wins over HTML");
    let b64 = lead(&app, &s.admin, &ids[4]).await;
    assert_eq!(b64["subject"], "Счет");
    assert_eq!(b64["body"], "Пришлите счет.");
    let koi_qp = lead(&app, &s.admin, &ids[5]).await;
    assert_eq!(koi_qp["subject"], "Каталог");
    assert_eq!(koi_qp["body"], "Добрый вечер, нужен каталог");
    assert_eq!(count(&app, &s.admin, "email").await, 6);

    // Not MIME at all: kept as given with a note, not dropped.
    let junk = send("this is not an e-mail at all").await;
    assert_eq!(junk.status, 200, "{}", junk.text);
    let junk = lead(&app, &s.admin, &junk.body["lead_id"]).await;
    assert!(junk["parse_note"].is_string(), "{junk}");
    post_raw(
        &app,
        "/api/v1/intake/email",
        &[("content-type", "text/plain"), ("x-api-key", &s.key)],
        b"x".to_vec(),
    )
    .await
    .problem(415);
}

#[tokio::test]
async fn oversize_deliveries_are_refused_with_413_and_store_nothing() {
    let app = spawn_app_with(&[("CRM_MAX_BODY_BYTES", "2048")]).await;
    let s = setup(&app).await;
    channel(&app, &s.admin, json!({"kind": "telegram", "name": "Bot", "secret": "tg-secret"})).await;
    let big = json!({"update_id": 1, "message": {"message_id": 1, "date": 1764583200, "text": "x".repeat(4000),
        "chat": {"id": 5, "type": "private"}, "from": {"id": 5, "first_name": "A"}}});
    let r = post_raw(
        &app,
        "/api/v1/intake/telegram",
        &[("content-type", "application/json"), ("x-telegram-bot-api-secret-token", "tg-secret")],
        serde_json::to_vec(&big).unwrap(),
    )
    .await;
    r.problem(413);
    let mail =
        format!("From: a@example.com\r\nSubject: big\r\nMessage-ID: <big@x>\r\n\r\n{}", "y".repeat(4000));
    post_raw(
        &app,
        "/api/v1/intake/email",
        &[("content-type", "message/rfc822"), ("x-api-key", &s.key)],
        mail.into_bytes(),
    )
    .await
    .problem(413);
    assert_eq!(app.get("/api/v1/leads", &s.admin).await.body["items"], json!([]));
}
