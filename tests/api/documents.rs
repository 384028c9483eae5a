//! The whole typical sale over HTTP — lead, quote with variants, orders on an
//! agreement's 50/50 schedule, invoice PDF e-mailed, payments, shipments, won
//! — and the documents around it: quotes, agreements, invoices, purchase
//! documents, the document tree, and who sees what.

use crm_app::clock::Clock;
use mail_parser::MimeHeaders;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

async fn ok(r: Reply, status: u16) -> Value {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    r.body
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

async fn bytes(app: &TestApp, path: &str, token: &str) -> (u16, Option<String>, Vec<u8>) {
    let res = app.request(Method::GET, path, Some(token)).send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    (status, ct, res.bytes().await.unwrap().to_vec())
}

/// The PDF's text with runs of whitespace made single spaces.
fn pdf_text(pdf: &[u8]) -> String {
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    let doc = lopdf::Document::load_mem(pdf).expect("the PDF opens");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let text = doc.extract_text(&pages).expect("its text extracts");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn tasks(v: &Value) -> Vec<(String, String, String)> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["title"].as_str().unwrap().to_owned(),
                t["status"].as_str().unwrap().to_owned(),
                t["due_at"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

async fn set_organization(app: &TestApp, admin: &str) {
    let req = app.request(Method::PUT, "/api/v1/organization", Some(admin)).json(&json!({
        "name": "ООО «Мебель-Сервис»", "tax_id": "7707083893", "kpp": "770701001", "bank": "ПАО Сбербанк",
        "bik": "044525225", "account": "40702810938000012345", "correspondent_account": "30101810400000000225",
        "address": "Москва, ул. Лесная, 5"}));
    assert_eq!(Reply::read(req.send().await.unwrap()).await.status, 200);
}

#[tokio::test]
async fn the_whole_typical_sale_runs_from_a_lead_to_won_with_every_document_in_the_tree() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    set_organization(&app, &admin).await;
    app.create_user(&admin, "ivan@test.crm", "manager", None).await;
    app.create_user(&admin, "olga@test.crm", "accountant", None).await;
    let ivan = app.token("ivan@test.crm", PASSWORD).await;
    let olga = app.token("olga@test.crm", PASSWORD).await;
    let chair = ok(
        app.post(
            "/api/v1/products",
            Some(&admin),
            &json!({"sku": "CH-1", "name": "Кресло офисное «Престиж»", "unit": "шт", "price": "12990", "vat_rate": "22"}),
        )
        .await,
        201,
    )
    .await;

    // 1. A lead arrives and is accepted into an interest with a new client and contact.
    let lead = ok(
        app.post(
            "/api/v1/leads",
            Some(&ivan),
            &json!({"channel": "email", "name": "Анна Смирнова", "email": "anna@romashka.ru",
                "subject": "40 офисных кресел"}),
        )
        .await,
        201,
    )
    .await;
    let accepted = ok(
        app.post(
            &format!("/api/v1/leads/{}/accept", id(&lead)),
            Some(&ivan),
            &json!({"mode": "new_interest",
            "client": {"use": "new", "name": "ООО «Ромашка»", "kind": "company", "tax_id": "7736207543",
                "address": "Москва, Тверская, 1", "confirm_new": true},
            "contact": {"use": "new", "name": "Анна Смирнова"}}),
        )
        .await,
        200,
    )
    .await;
    let interest = accepted["interest"].clone();
    let iid = id(&interest);
    assert_eq!(interest["stage"], "request");
    let client_id = interest["client_id"].as_str().unwrap().to_owned();
    let transitions = format!("/api/v1/interests/{iid}/transitions");
    ok(app.post(&transitions, Some(&ivan), &json!({"to_stage": "proposal"})).await, 200).await;

    // 2. A quote with two variants; the client approves the first.
    let quote = ok(
        app.post(
            &format!("/api/v1/interests/{iid}/quotes"),
            Some(&ivan),
            &json!({"comment": "Доставка по Москве", "variants": [
                {"name": "Стандарт", "lines": [
                    {"product_id": chair["id"], "quantity": "40"},
                    {"description": "Доставка", "quantity": "1", "unit_price": "5000", "vat_rate": "without"}]},
                {"name": "Эконом", "lines": [
                    {"description": "Кресло «Базовое»", "quantity": "40", "unit_price": "7990", "vat_rate": "22"}]}]}),
        )
        .await,
        201,
    )
    .await;
    assert!(quote["number"].as_str().unwrap().starts_with("QUO-"));
    assert_eq!(quote["status"], "draft");
    assert_eq!(quote["variants"][0]["total"], "524600.00");
    assert_eq!(quote["variants"][1]["total"], "319600.00");
    let qid = id(&quote);
    let (status, ct, pdf) = bytes(&app, &format!("/api/v1/quotes/{qid}/pdf"), &ivan).await;
    assert_eq!((status, ct.as_deref()), (200, Some("application/pdf")));
    let text = pdf_text(&pdf);
    assert!(text.contains("Коммерческое предложение"), "{text}");
    assert!(text.contains("Стандарт") && text.contains("Эконом"), "{text}");
    let sent =
        ok(app.patch(&format!("/api/v1/quotes/{qid}"), &ivan, &json!({"status": "sent"})).await, 200).await;
    assert_eq!(sent["status"], "sent");
    let standard = sent["variants"][0].clone();
    let approved = ok(
        app.post(
            &format!("/api/v1/quotes/{qid}/approve"),
            Some(&ivan),
            &json!({"variant_id": standard["id"]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["approved_variant_id"], standard["id"]);

    // 3. The client's agreement pays 50% on confirmation, 50% five days before shipment.
    let agreement = ok(
        app.post(
            &format!("/api/v1/clients/{client_id}/agreements"),
            Some(&ivan),
            &json!({"title": "Договор поставки", "signed_on": "2026-01-15", "payment_terms": [
                {"percent": "50", "trigger": "on_confirmation", "days_offset": 0},
                {"percent": "50", "trigger": "before_shipment", "days_offset": 5}]}),
        )
        .await,
        201,
    )
    .await;

    // 4. Two orders from the approved variant: the chairs split 20/20, delivery with the first.
    let chairs_line = standard["lines"][0]["id"].clone();
    let delivery_line = standard["lines"][1]["id"].clone();
    let orders = ok(
        app.post(
            &format!("/api/v1/quotes/{qid}/orders"),
            Some(&ivan),
            &json!({"agreement_id": agreement["id"], "orders": [
                {"lines": [{"quote_line_id": chairs_line, "quantity": "20"}, {"quote_line_id": delivery_line}]},
                {"lines": [{"quote_line_id": chairs_line, "quantity": "20"}]}]}),
        )
        .await,
        201,
    )
    .await;
    let (a, b) = (orders["items"][0].clone(), orders["items"][1].clone());
    assert_eq!(a["total"], "264800.00");
    assert_eq!(b["total"], "259800.00");
    assert_eq!(a["quote_id"].as_str(), Some(qid.as_str()));
    let amounts: Vec<&str> =
        b["schedule"].as_array().unwrap().iter().map(|i| i["amount"].as_str().unwrap()).collect();
    assert_eq!(amounts, ["129900.00", "129900.00"], "50/50, adding up to the total");
    let (aid, bid) = (id(&a), id(&b));
    // Nothing more of the quote can be ordered.
    let more = app
        .post(
            &format!("/api/v1/quotes/{qid}/orders"),
            Some(&ivan),
            &json!({"orders": [{"lines": [{"quote_line_id": chairs_line, "quantity": "1"}]}]}),
        )
        .await;
    assert_eq!(more.unmet_checks(), vec!["within_quoted"]);
    for o in [&aid, &bid] {
        let c =
            ok(app.post(&format!("/api/v1/orders/{o}/confirm"), Some(&ivan), &json!({})).await, 200).await;
        assert_eq!(c["schedule"][0]["status"], "due");
        assert!(c["schedule"][0]["due_on"].is_string(), "due on confirmation: {}", c["schedule"]);
    }
    let frozen = app
        .patch(
            &format!("/api/v1/orders/{aid}"),
            &ivan,
            &json!({"lines": [
        {"description": "Скидка", "quantity": "1", "unit_price": "1"}]}),
        )
        .await;
    assert_eq!(frozen.unmet_checks(), vec!["order_draft"], "a posted order's lines do not change");

    // 5. The invoice: a PDF with Cyrillic text, the lines and the total in words; e-mailed as .eml.
    let (status, ct, pdf) = bytes(&app, &format!("/api/v1/orders/{aid}/invoice.pdf"), &olga).await;
    assert_eq!((status, ct.as_deref()), (200, Some("application/pdf")));
    let text = pdf_text(&pdf);
    for needle in [
        "Счёт на оплату",
        a["number"].as_str().unwrap(),
        "ООО «Мебель-Сервис»",
        "ООО «Ромашка»",
        "044525225",
        "Кресло офисное «Престиж»",
        "Доставка",
        "264 800,00",
        "Двести шестьдесят четыре тысячи восемьсот рублей 00 копеек",
        "Договор поставки".split(' ').next().unwrap(),
    ] {
        assert!(text.contains(needle), "{needle:?} missing from the invoice: {text}");
    }
    let mailed = ok(
        app.post(
            &format!("/api/v1/orders/{aid}/invoice/send"),
            Some(&ivan),
            &json!({"to": "anna@romashka.ru"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(mailed["status"], "sent");
    let eml: Vec<_> = std::fs::read_dir(app.data_dir.path().join("mail"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(eml.len(), 1, "one .eml file");
    let raw = std::fs::read(&eml[0]).unwrap();
    let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(message.to().unwrap().first().unwrap().address().unwrap(), "anna@romashka.ru");
    assert!(message.subject().unwrap().contains(a["number"].as_str().unwrap()));
    let attachment = message.attachments().next().expect("the PDF is attached");
    assert_eq!(
        attachment.attachment_name().unwrap(),
        format!("invoice-{}.pdf", a["number"].as_str().unwrap())
    );
    assert!(pdf_text(attachment.contents()).contains("Двести шестьдесят четыре тысячи восемьсот рублей"));

    // 6. To payment: "What about the payment?" due in 3 days; won refused with every unmet check.
    ok(app.post(&transitions, Some(&ivan), &json!({"to_stage": "payment"})).await, 200).await;
    let open = tasks(&app.get(&format!("/api/v1/tasks?interest_id={iid}"), &ivan).await.body);
    let pay_task = open.iter().find(|t| t.0 == "What about the payment?").expect("payment task");
    let due: chrono::DateTime<chrono::Utc> = pay_task.2.parse().unwrap();
    let now: chrono::DateTime<chrono::Utc> = app.clock.now();
    assert_eq!((due - now).num_hours() / 24, 3, "{pay_task:?}");
    let won = app.post(&transitions, Some(&ivan), &json!({"to_stage": "won"})).await;
    assert_eq!(won.unmet_checks(), vec!["orders_fully_paid", "orders_fully_shipped"]);

    // 7. Part paid: no move; the schedule shows which instalment is covered.
    let pay = |order: &str, amount: &str, doc: &str| json!({"order_id": order, "amount": amount, "external_ref": doc});
    ok(app.post("/api/v1/payments", Some(&olga), &pay(&aid, "264800", "PP-1")).await, 201).await;
    ok(app.post("/api/v1/payments", Some(&olga), &pay(&bid, "129900", "PP-2")).await, 201).await;
    assert_eq!(app.get(&format!("/api/v1/interests/{iid}"), &ivan).await.body["stage"], "payment");
    let b_now = app.get(&format!("/api/v1/orders/{bid}"), &olga).await.body;
    let statuses: Vec<&str> =
        b_now["schedule"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["paid", "due"]);
    assert_eq!(b_now["paid_percent"], 50);

    // 8. The rest paid: to shipment by itself, with its tasks.
    ok(app.post("/api/v1/payments", Some(&olga), &pay(&bid, "129900", "PP-3")).await, 201).await;
    assert_eq!(app.get(&format!("/api/v1/interests/{iid}"), &ivan).await.body["stage"], "shipment");
    let now_tasks = tasks(&app.get(&format!("/api/v1/tasks?interest_id={iid}&status=all"), &ivan).await.body);
    assert!(now_tasks.iter().any(|t| t.0 == "What about the payment?" && t.1 == "done"), "{now_tasks:?}");
    assert!(now_tasks.iter().any(|t| t.0 == "Ship the goods" && t.1 == "open"), "{now_tasks:?}");

    // 9. Partial shipment: a delivery check, no move. 10. The rest: won, potential = revenue.
    let a_lines = app.get(&format!("/api/v1/orders/{aid}"), &ivan).await.body["lines"].clone();
    let b_lines = app.get(&format!("/api/v1/orders/{bid}"), &ivan).await.body["lines"].clone();
    let app_ref = &app;
    let ship = |order: &str, lines: Value| {
        let path = format!("/api/v1/orders/{order}/shipments");
        let body = json!({"kind": "sales_document", "lines": lines});
        let token = ivan.clone();
        async move { app_ref.post(&path, Some(&token), &body).await }
    };
    ok(ship(&aid, json!([{"order_line_id": a_lines[0]["id"], "quantity": "10"}])).await, 201).await;
    let after_first = tasks(&app.get(&format!("/api/v1/tasks?interest_id={iid}"), &ivan).await.body);
    assert!(after_first.iter().any(|t| t.0 == "Check the delivery"), "{after_first:?}");
    assert_eq!(app.get(&format!("/api/v1/interests/{iid}"), &ivan).await.body["stage"], "shipment");
    ok(ship(&aid, json!([{"order_line_id": a_lines[0]["id"], "quantity": "10"}, {"order_line_id": a_lines[1]["id"], "quantity": "1"}])).await, 201).await;
    ok(ship(&bid, json!([{"order_line_id": b_lines[0]["id"], "quantity": "20"}])).await, 201).await;
    let done = app.get(&format!("/api/v1/interests/{iid}"), &ivan).await.body;
    assert_eq!((done["stage"].as_str(), done["state"].as_str()), (Some("won"), Some("won")));
    assert_eq!(done["potential_amount"], "524600.00", "the potential becomes the orders' revenue");

    // 11. The timeline and the document tree show all of it.
    let timeline = app.get(&format!("/api/v1/interests/{iid}/timeline?limit=200"), &ivan).await.body;
    let kinds: Vec<&str> =
        timeline["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for k in [
        "lead_accepted",
        "quote_created",
        "quote_sent",
        "quote_approved",
        "order_created",
        "order_confirmed",
        "invoice_sent",
        "interaction_completed",
        "payment_registered",
        "shipment_made",
        "stage_changed",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let emails = app.get(&format!("/api/v1/interests/{iid}/interactions"), &ivan).await.body;
    assert!(
        emails["items"].as_array().unwrap().iter().any(|i| i["type"] == "email" && i["status"] == "done"),
        "{emails}"
    );
    let tree = ok(app.get(&format!("/api/v1/interests/{iid}/documents"), &ivan).await, 200).await;
    assert_eq!(tree["kind"], "interest");
    assert_eq!(tree["status"], "won");
    let quote_node = &tree["children"][0];
    assert_eq!(
        (quote_node["kind"].as_str(), quote_node["status"].as_str()),
        (Some("quote"), Some("approved"))
    );
    assert_eq!(quote_node["link"], format!("/api/v1/quotes/{qid}"));
    let order_nodes = quote_node["children"].as_array().unwrap();
    assert_eq!(order_nodes.len(), 2);
    let kinds_under_a: Vec<&str> =
        order_nodes[0]["children"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds_under_a, ["invoice", "payment", "shipment", "shipment"]);
    assert_eq!(order_nodes[0]["number"], a["number"]);
    assert_eq!(order_nodes[0]["amount"], "264800.00");
}
