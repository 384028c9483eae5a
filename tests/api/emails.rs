//! E-mail from an interest and the replies that come back: one thread on the
//! interest's timeline, never a new lead; a reply to a lead's own message
//! joins the lead.

use serde_json::{json, Value};

use crate::documents::{free_line, id, ok, sale, smtp_once, Sale};
use crate::helpers::*;
use crate::intake::post_raw;

async fn intake_key(app: &TestApp, admin: &str) -> String {
    let key = app
        .post("/api/v1/api-keys", Some(admin), &json!({"name": "Mail fetcher", "scopes": ["leads:write"]}))
        .await;
    key.body["secret"].as_str().unwrap().to_owned()
}

async fn deliver(app: &TestApp, key: &str, raw: &str) -> Value {
    let r = post_raw(
        app,
        "/api/v1/intake/email",
        &[("content-type", "message/rfc822"), ("x-api-key", key)],
        raw.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

/// A confirmed order of the sale's interest, whose invoice can be attached.
async fn confirmed_order(app: &TestApp, s: &Sale) -> String {
    let order = ok(
        app.post(
            &format!("/api/v1/interests/{}/orders", s.iid),
            Some(&s.ivan),
            &json!({"lines": [free_line("1200", "2")]}),
        )
        .await,
        201,
    )
    .await;
    let oid = id(&order);
    ok(app.post(&format!("/api/v1/orders/{oid}/confirm"), Some(&s.ivan), &json!({})).await, 200).await;
    oid
}

/// The `.eml` files the server wrote (no SMTP server is configured), parsed.
fn written_mail(app: &TestApp) -> Vec<String> {
    let dir = app.data_dir.path().join("mail");
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).map(|d| d.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
    files.sort();
    files.into_iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
}

fn kinds(items: &Value) -> Vec<String> {
    items["items"].as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn an_email_sent_from_an_interest_and_its_reply_end_on_the_same_timeline() {
    let app = spawn_app().await;
    let s = sale(&app).await;
    let key = intake_key(&app, &s.admin).await;
    let oid = confirmed_order(&app, &s).await;
    let emails = format!("/api/v1/interests/{}/emails", s.iid);

    let letter = json!({"subject": "Стулья: счёт", "body": "Добрый день!\n\nСчёт во вложении.\n\nИван",
        "cc": ["director@romashka.ru"], "attachments": [{"kind": "invoice", "id": oid}]});
    let sent = app.post(&emails, Some(&s.ivan), &letter).await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    let sent = sent.body;
    assert_eq!(
        sent["to"],
        json!(["buh@romashka.ru"]),
        "the client's address when the interest has no contact"
    );
    assert_eq!((sent["direction"].as_str(), sent["status"].as_str()), (Some("outgoing"), Some("sent")));
    let message_id = sent["message_id"].as_str().unwrap().to_owned();
    assert!(message_id.starts_with("<email.") && message_id.ends_with('>'), "{message_id}");

    // What went out: to, cc, the Message-ID, the text and the invoice PDF.
    let mail = written_mail(&app);
    assert_eq!(mail.len(), 1);
    let parsed = mail_parser::MessageParser::default().parse(mail[0].as_bytes()).unwrap();
    assert_eq!(parsed.message_id(), Some(message_id.trim_matches(|c| c == '<' || c == '>')));
    assert_eq!(parsed.to().unwrap().first().unwrap().address(), Some("buh@romashka.ru"));
    assert_eq!(parsed.cc().unwrap().first().unwrap().address(), Some("director@romashka.ru"));
    assert_eq!(parsed.subject(), Some("Стулья: счёт"));
    assert!(parsed.body_text(0).unwrap().contains("Счёт во вложении."));
    let pdf = parsed.attachment(0).expect("the invoice is attached");
    assert!(pdf.contents().starts_with(b"%PDF"));

    // The client answers: a raw message naming ours in In-Reply-To.
    let reply = format!(
        "From: Buh <buh@romashka.ru>\r\nTo: crm@localhost\r\nSubject: Re: =?utf-8?B?{}?=\r\n\
         Message-ID: <reply-1@romashka.ru>\r\nIn-Reply-To: {message_id}\r\nReferences: {message_id}\r\n\
         Date: Tue, 1 Dec 2026 15:00:00 +0300\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Спасибо, оплатим в пятницу.\r\n",
        base64_utf8("Стулья: счёт")
    );
    let got = deliver(&app, &key, &reply).await;
    assert_eq!(got, json!({"lead_id": null, "interest_id": s.iid, "first_time": true}));
    let again = deliver(&app, &key, &reply).await;
    assert_eq!(
        again,
        json!({"lead_id": null, "interest_id": s.iid, "first_time": false}),
        "a redelivery changes nothing"
    );

    // One thread: ours, then theirs.
    let thread = ok(app.get(&emails, &s.ivan).await, 200).await;
    let items = thread["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{thread}");
    assert_eq!(items[0]["id"], sent["id"]);
    assert_eq!(
        (items[1]["direction"].as_str(), items[1]["status"].as_str(), items[1]["from"].as_str()),
        (Some("incoming"), Some("received"), Some("buh@romashka.ru"))
    );
    assert_eq!(items[1]["subject"], "Re: Стулья: счёт");
    assert_eq!(items[1]["body"], "Спасибо, оплатим в пятницу.");
    assert_eq!(items[1]["in_reply_to"], message_id.as_str());
    assert_eq!(items[1]["message_id"], "<reply-1@romashka.ru>");

    // Both are done e-mail interactions on the interest's timeline.
    let interactions =
        ok(app.get(&format!("/api/v1/interests/{}/interactions", s.iid), &s.ivan).await, 200).await;
    let done: Vec<(&str, &str)> = interactions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["type"].as_str().unwrap(), i["status"].as_str().unwrap()))
        .collect();
    assert_eq!(done, [("email", "done"), ("email", "done")]);
    assert_eq!(items[1]["interaction_id"], interactions["items"][1]["id"]);
    assert!(interactions["items"][0]["result"].as_str().unwrap().contains(&message_id));
    let timeline =
        ok(app.get(&format!("/api/v1/interests/{}/timeline?limit=200", s.iid), &s.ivan).await, 200).await;
    let k = kinds(&timeline);
    assert!(k.contains(&"email_sent".to_owned()) && k.contains(&"email_received".to_owned()), "{k:?}");

    // The responsible hears of it; no lead was made.
    let notes = ok(app.get("/api/v1/notifications", &s.ivan).await, 200).await;
    assert!(
        notes["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["text"].as_str().unwrap().contains("buh@romashka.ru replied")),
        "{notes}"
    );
    let leads = ok(app.get("/api/v1/leads", &s.admin).await, 200).await;
    assert_eq!(leads["items"].as_array().unwrap().len(), 0, "a reply is not a lead");

    // A reply naming an e-mailed invoice (in References only) joins too.
    let invoice =
        ok(app.post(&format!("/api/v1/orders/{oid}/invoice/send"), Some(&s.ivan), &json!({})).await, 201)
            .await;
    let invoice_id = invoice["message_id"].as_str().unwrap();
    let late = format!(
        "From: buh@romashka.ru\r\nTo: crm@localhost\r\nSubject: Paid\r\nMessage-ID: <reply-2@romashka.ru>\r\n\
         References: <unknown@elsewhere> {invoice_id}\r\n\r\nPaid today.\r\n"
    );
    assert_eq!(deliver(&app, &key, &late).await["interest_id"], s.iid);
    assert_eq!(ok(app.get(&emails, &s.ivan).await, 200).await["items"].as_array().unwrap().len(), 3);

    // Another manager learns nothing of the thread.
    app.get(&emails, &s.maria).await.problem(404);
    app.get(&format!("/api/v1/interest-emails/{}", id(&sent)), &s.maria).await.problem(404);
    let mine = ok(app.get(&format!("/api/v1/interest-emails/{}", id(&sent)), &s.ivan).await, 200).await;
    assert_eq!(mine["attachments"], json!([{"kind": "invoice", "id": oid}]));

    // The manager answers the reply: In-Reply-To names the client's message.
    let answer = ok(
        app.post(
            &emails,
            Some(&s.ivan),
            &json!({"to": ["buh@romashka.ru"], "subject": "Re: Стулья", "body": "Ждём.", "reply_to": items[1]["id"]}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(answer["in_reply_to"], "<reply-1@romashka.ru>");
    let last = written_mail(&app).into_iter().find(|m| m.contains("In-Reply-To")).unwrap();
    let last = mail_parser::MessageParser::default().parse(last.as_bytes()).unwrap();
    assert_eq!(last.in_reply_to().as_text(), Some("reply-1@romashka.ru"));
}

fn base64_utf8(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

#[tokio::test]
async fn a_bad_letter_is_refused_with_every_reason_and_nothing_is_kept() {
    let app = spawn_app().await;
    let s = sale(&app).await;
    let emails = format!("/api/v1/interests/{}/emails", s.iid);
    // A document of another interest, and a quote id nobody has.
    let other = ok(
        app.post("/api/v1/interests", Some(&s.ivan), &json!({"title": "Столы", "client_id": s.client_id}))
            .await,
        201,
    )
    .await;
    let foreign = ok(
        app.post(
            &format!("/api/v1/interests/{}/orders", id(&other)),
            Some(&s.ivan),
            &json!({"lines": [free_line("10", "1")]}),
        )
        .await,
        201,
    )
    .await;
    let bad = app
        .post(
            &emails,
            Some(&s.ivan),
            &json!({"to": ["not an address", "a@b.ru", "a@b.ru"], "cc": ["x@"], "subject": "  ", "body": "Hi",
                "attachments": [{"kind": "invoice", "id": foreign["id"]}, {"kind": "quote", "id": foreign["id"]}]}),
        )
        .await;
    bad.problem(422);
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, ["cc[0]", "subject", "to[0]", "to[2]"], "{}", bad.text);
    let bad = app
        .post(
            &emails,
            Some(&s.ivan),
            &json!({"subject": "Hi", "body": "Hi", "reply_to": foreign["id"],
                "attachments": [{"kind": "invoice", "id": foreign["id"]}, {"kind": "quote", "id": foreign["id"]}]}),
        )
        .await;
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, ["attachments[0]", "attachments[1]", "reply_to"], "{}", bad.text);

    // No address known: the interest's client has none once it is removed.
    let bare = ok(
        app.post("/api/v1/clients", Some(&s.ivan), &json!({"name": "ИП Кузнецов", "kind": "person"})).await,
        201,
    )
    .await;
    let quiet = ok(
        app.post("/api/v1/interests", Some(&s.ivan), &json!({"title": "Шкаф", "client_id": bare["id"]}))
            .await,
        201,
    )
    .await;
    let path = format!("/api/v1/interests/{}/emails", id(&quiet));
    let none = app.post(&path, Some(&s.ivan), &json!({"subject": "Hi", "body": "Hi"})).await;
    assert_eq!(none.unmet_checks(), vec!["recipient_known"], "{}", none.text);

    // Others' interests, accountants without interests: refused; nothing kept.
    app.post(&emails, Some(&s.maria), &json!({"subject": "Hi", "body": "Hi"})).await.problem(404);
    app.post(&emails, Some(&s.olga), &json!({"subject": "Hi", "body": "Hi"})).await.problem(403);
    for p in [&emails, &path] {
        assert_eq!(ok(app.get(p, &s.ivan).await, 200).await["items"], json!([]));
    }
    assert!(written_mail(&app).is_empty());
}

#[tokio::test]
async fn a_failed_letter_is_kept_and_a_retry_sends_it_with_the_same_message_id() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("smtp://127.0.0.1:{port}");
    let app =
        spawn_app_with(&[("CRM_SMTP_URL", url.as_str()), ("CRM_MAIL_FROM", "Продажи <sales@mebel.test>")])
            .await;
    let s = sale(&app).await;
    let emails = format!("/api/v1/interests/{}/emails", s.iid);
    let failed = app.post(&emails, Some(&s.ivan), &json!({"subject": "Offer", "body": "See you."})).await;
    assert_eq!(failed.problem(502)["type"], "urn:crm:problem:delivery_failed");
    let at = failed.header("location").unwrap().to_owned();
    assert!(at.starts_with("/api/v1/interest-emails/"), "{at}");
    let kept = ok(app.get(&at, &s.ivan).await, 200).await;
    assert_eq!((kept["status"].as_str(), kept["attempts"].as_i64()), (Some("failed"), Some(1)));
    assert!(kept["last_error"].as_str().unwrap().contains("SMTP"), "{kept}");
    assert!(kept["interaction_id"].is_null(), "nothing done yet");
    let message_id = kept["message_id"].as_str().unwrap().to_owned();
    assert!(message_id.ends_with("@mebel.test>"), "our Message-IDs carry the From: domain: {message_id}");
    let timeline = ok(app.get(&format!("/api/v1/interests/{}/timeline", s.iid), &s.ivan).await, 200).await;
    assert_eq!(timeline["items"][0]["kind"], "email_send_failed");
    app.post(&format!("{at}/retry"), Some(&s.maria), &json!({})).await.problem(404);

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let server = tokio::spawn(smtp_once(listener));
    let sent = ok(app.post(&format!("{at}/retry"), Some(&s.ivan), &json!({})).await, 200).await;
    assert_eq!((sent["status"].as_str(), sent["attempts"].as_i64()), (Some("sent"), Some(2)));
    assert_eq!(sent["message_id"], message_id.as_str());
    assert!(sent["interaction_id"].is_string());
    let data = server.await.unwrap();
    assert!(data.contains(&message_id) && data.contains("See you."), "{data}");
    app.post(&format!("{at}/retry"), Some(&s.ivan), &json!({})).await.problem(409);
}

#[tokio::test]
async fn a_reply_to_a_leads_own_message_joins_the_open_lead() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let key = intake_key(&app, &admin).await;
    let first = "From: Anna <anna@romashka.ru>\r\nTo: sales@example.com\r\nSubject: Chairs\r\n\
        Message-ID: <first@romashka.ru>\r\n\r\nWe need 40 chairs.\r\n";
    let made = deliver(&app, &key, first).await;
    let lead_id = made["lead_id"].as_str().unwrap().to_owned();
    let follow = "From: Anna <anna@romashka.ru>\r\nTo: sales@example.com\r\nSubject: Re: Chairs\r\n\
        Message-ID: <second@romashka.ru>\r\nIn-Reply-To: <first@romashka.ru>\r\n\r\nAnd 4 tables.\r\n";
    let joined = deliver(&app, &key, follow).await;
    assert_eq!(joined, json!({"lead_id": lead_id, "interest_id": null, "first_time": true}));
    let lead = ok(app.get(&format!("/api/v1/leads/{lead_id}"), &admin).await, 200).await;
    let body = lead["body"].as_str().unwrap();
    assert!(body.starts_with("We need 40 chairs.") && body.ends_with("And 4 tables."), "{body}");
    assert_eq!(ok(app.get("/api/v1/leads", &admin).await, 200).await["items"].as_array().unwrap().len(), 1);
}
