//! The whole typical sale over HTTP — lead, quote with variants, orders on an
//! agreement's 50/50 schedule, invoice PDF e-mailed, payments, shipments, won
//! — and the documents around it: quotes, agreements, invoices, purchase
//! documents, the document tree, and who sees what.

use std::collections::HashMap;

use crm_app::platform::clock::Clock;
use mail_parser::MimeHeaders;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

pub(crate) async fn ok(r: Reply, status: u16) -> Value {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    r.body
}

pub(crate) fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn bytes(app: &TestApp, path: &str, token: &str) -> (u16, Option<String>, Vec<u8>) {
    let res = app.request(Method::GET, path, Some(token)).send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    (status, ct, res.bytes().await.unwrap().to_vec())
}

/// The PDF's text with runs of whitespace made single spaces, read with the
/// lopdf the server draws with: each shown string is decoded through its
/// font's ToUnicode map (lopdf 0.31's own `extract_text` ignores those maps
/// and garbles Cyrillic), which is also what a reader's copy and search use.
pub(crate) fn pdf_text(pdf: &[u8]) -> String {
    use lopdf::Object;
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    let doc = lopdf::Document::load_mem(pdf).expect("the PDF opens");
    let mut text = String::new();
    for page in doc.get_pages().values() {
        // printpdf refers to the font dictionary indirectly, which lopdf
        // 0.31's `get_page_fonts` does not follow; so the fonts are found here.
        let (own, inherited) = doc.get_page_resources(*page);
        let resources = own.into_iter().chain(inherited.iter().filter_map(|id| doc.get_dictionary(*id).ok()));
        let fonts = resources.filter_map(|r| r.get(b"Font").and_then(|f| doc.dereference(f)).ok());
        let fonts = fonts.filter_map(|(_, f)| f.as_dict().ok()).flat_map(|f| f.iter());
        let maps: HashMap<Vec<u8>, HashMap<u16, String>> = fonts
            .filter_map(|(name, font)| Some((name.clone(), doc.dereference(font).ok()?.1.as_dict().ok()?)))
            .map(|(name, font)| {
                let map = font
                    .get(b"ToUnicode")
                    .and_then(|o| doc.dereference(o))
                    .and_then(|(_, o)| o.as_stream())
                    .map(|s| to_unicode(&s.decompressed_content().unwrap_or_else(|_| s.content.clone())))
                    .unwrap_or_default();
                (name, map)
            })
            .collect();
        let content = doc.get_and_decode_page_content(*page).expect("the page's content decodes");
        let mut font: Vec<u8> = Vec::new();
        let show = |bytes: &[u8], font: &[u8], out: &mut String| match maps.get(font) {
            Some(map) if !map.is_empty() => {
                for code in bytes.chunks(2) {
                    let code = u16::from_be_bytes([code[0], *code.get(1).unwrap_or(&0)]);
                    out.push_str(map.get(&code).map_or("\u{fffd}", String::as_str));
                }
            }
            _ => out.extend(bytes.iter().map(|b| char::from(*b))),
        };
        for op in &content.operations {
            match op.operator.as_str() {
                "Tf" => font = op.operands[0].as_name().expect("a font name").to_vec(),
                "Tj" | "'" | "\"" => {
                    if let Some(Object::String(bytes, _)) = op.operands.last() {
                        show(bytes, &font, &mut text);
                    }
                }
                "TJ" => {
                    for part in op.operands[0].as_array().expect("TJ takes an array") {
                        if let Object::String(bytes, _) = part {
                            show(bytes, &font, &mut text);
                        }
                    }
                }
                "BT" | "ET" | "Td" | "TD" | "Tm" | "T*" => text.push(' '),
                _ => {}
            }
        }
        text.push(' ');
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A ToUnicode CMap's `bfchar` and `bfrange` entries: code → text.
fn to_unicode(cmap: &[u8]) -> HashMap<u16, String> {
    let text = String::from_utf8_lossy(cmap);
    let hex = |t: &str| -> Vec<u8> {
        let t = t.trim_matches(|c| c == '<' || c == '>');
        (0..t.len() / 2).map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16).unwrap()).collect()
    };
    let utf16 = |b: Vec<u8>| {
        let units: Vec<u16> =
            b.chunks(2).map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])).collect();
        String::from_utf16_lossy(&units)
    };
    let code = |t: &str| hex(t).iter().fold(0u16, |acc, b| (acc << 8) | u16::from(*b));
    let mut map = HashMap::new();
    let mut section = "";
    for line in text.lines() {
        let line = line.trim();
        if line.ends_with("beginbfchar") || line.ends_with("beginbfrange") {
            section = if line.ends_with("beginbfchar") { "char" } else { "range" };
            continue;
        }
        if line == "endbfchar" || line == "endbfrange" {
            section = "";
            continue;
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        match (section, tokens.as_slice()) {
            ("char", [from, to, ..]) => {
                map.insert(code(from), utf16(hex(to)));
            }
            ("range", [lo, hi, to]) if to.starts_with('<') => {
                let start = hex(to);
                for (i, c) in (code(lo)..=code(hi)).enumerate() {
                    let mut dst = start.clone();
                    let last = dst.len() - 1;
                    dst[last] = dst[last].wrapping_add(u8::try_from(i).unwrap());
                    map.insert(c, utf16(dst));
                }
            }
            _ => {}
        }
    }
    map
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

pub(crate) async fn set_organization(app: &TestApp, admin: &str) {
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
    let shipped_a = app.get(&format!("/api/v1/orders/{aid}/shipments"), &olga).await.body;
    assert_eq!(shipped_a["items"].as_array().unwrap().len(), 2, "accounting lists an order's shipments");
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

/// A department (head, two managers), an accountant, a procurement user, and
/// Ivan's interest with a client at the proposal stage.
pub(crate) struct Sale {
    pub admin: String,
    pub head: String,
    pub ivan: String,
    pub maria: String,
    pub olga: String,
    pub petr: String,
    pub client_id: String,
    pub iid: String,
}

pub(crate) async fn sale(app: &TestApp) -> Sale {
    let admin = app.admin_token().await;
    set_organization(app, &admin).await;
    let dept = app.post("/api/v1/departments", Some(&admin), &json!({"name": "Sales"})).await.body;
    let d = dept["id"].as_str().unwrap();
    let head = app.create_user(&admin, "head@test.crm", "head", Some(d)).await;
    ok(app.patch(&format!("/api/v1/departments/{d}"), &admin, &json!({"head_id": head["id"]})).await, 200)
        .await;
    app.create_user(&admin, "ivan@test.crm", "manager", Some(d)).await;
    app.create_user(&admin, "maria@test.crm", "manager", Some(d)).await;
    app.create_user(&admin, "olga@test.crm", "accountant", None).await;
    app.create_user(&admin, "petr@test.crm", "procurement", None).await;
    let ivan = app.token("ivan@test.crm", PASSWORD).await;
    let client = ok(
        app.post(
            "/api/v1/clients",
            Some(&ivan),
            &json!({"name": "ООО «Ромашка»", "kind": "company", "emails": ["buh@romashka.ru"]}),
        )
        .await,
        201,
    )
    .await;
    let interest = ok(
        app.post("/api/v1/interests", Some(&ivan), &json!({"title": "Стулья", "client_id": client["id"]}))
            .await,
        201,
    )
    .await;
    Sale {
        head: app.token("head@test.crm", PASSWORD).await,
        maria: app.token("maria@test.crm", PASSWORD).await,
        olga: app.token("olga@test.crm", PASSWORD).await,
        petr: app.token("petr@test.crm", PASSWORD).await,
        admin,
        ivan,
        client_id: id(&client),
        iid: id(&interest),
    }
}

pub(crate) fn free_line(price: &str, qty: &str) -> Value {
    json!({"description": "Стул", "quantity": qty, "unit_price": price, "vat_rate": "22"})
}

#[tokio::test]
async fn a_quote_goes_draft_sent_approved_and_refuses_what_does_not_fit() {
    let app = spawn_app().await;
    let s = sale(&app).await;
    let quotes = format!("/api/v1/interests/{}/quotes", s.iid);

    // Bad input names each field and stores nothing.
    let bad = app
        .post(
            &quotes,
            Some(&s.ivan),
            &json!({"valid_until": "2000-01-01", "variants": [
            {"name": "", "lines": [{"description": "Стул", "quantity": "-1", "unit_price": "x"}]}]}),
        )
        .await;
    bad.problem(422);
    let fields = bad.error_fields();
    for f in [
        "valid_until",
        "variants[0].name",
        "variants[0].lines[0].quantity",
        "variants[0].lines[0].unit_price",
    ] {
        assert!(fields.contains(&f.to_owned()), "{f} not in {fields:?}");
    }
    app.post(&quotes, Some(&s.ivan), &json!({"variants": []})).await.problem(422);
    assert_eq!(app.get(&quotes, &s.ivan).await.body["items"], json!([]));
    let unknown = app
        .post(
            &quotes,
            Some(&s.ivan),
            &json!({"variants": [{"name": "A", "lines": [{"product_id": s.client_id, "quantity": "1"}]}]}),
        )
        .await;
    assert_eq!(unknown.unmet_checks(), vec!["product_exists"]);

    let q = ok(
        app.post(&quotes, Some(&s.ivan), &json!({"variants": [
            {"name": "A", "lines": [free_line("100", "2")]}, {"name": "B", "lines": [free_line("90", "2")]}]}))
        .await,
        201,
    )
    .await;
    let path = format!("/api/v1/quotes/{}", id(&q));
    assert_eq!(q["valid_until"], app.day(14));
    // Orders come only from an approved variant.
    let early = app.post(&format!("{path}/orders"), Some(&s.ivan), &json!({})).await;
    assert_eq!(early.unmet_checks(), vec!["quote_approved"]);
    // A draft's variants change; a sent quote's do not.
    let edited = ok(
        app.patch(&path, &s.ivan, &json!({"variants": [{"name": "A", "lines": [free_line("100", "3")]}]}))
            .await,
        200,
    )
    .await;
    assert_eq!(edited["variants"].as_array().unwrap().len(), 1);
    assert_eq!(edited["variants"][0]["total"], "300.00");
    ok(app.patch(&path, &s.ivan, &json!({"status": "sent"})).await, 200).await;
    let frozen = app
        .patch(&path, &s.ivan, &json!({"variants": [{"name": "A", "lines": [free_line("1", "1")]}]}))
        .await;
    assert_eq!(frozen.unmet_checks(), vec!["quote_draft"]);
    app.patch(&path, &s.ivan, &json!({"status": "approved"})).await.problem(422);
    let foreign = app.post(&format!("{path}/approve"), Some(&s.ivan), &json!({"variant_id": s.iid})).await;
    assert_eq!(foreign.error_fields(), vec!["variant_id"]);

    // Past its date it reads expired and cannot be approved, until given a new date.
    app.advance(chrono::Duration::days(15));
    let ivan = app.token("ivan@test.crm", PASSWORD).await;
    let stale = app.get(&path, &ivan).await.body;
    assert_eq!(stale["status"], "expired");
    let variant = stale["variants"][0]["id"].clone();
    let late = app.post(&format!("{path}/approve"), Some(&ivan), &json!({"variant_id": variant})).await;
    assert_eq!(late.unmet_checks(), vec!["quote_valid"]);
    let renewed_on = app.day(7);
    let renewed = ok(app.patch(&path, &ivan, &json!({"valid_until": renewed_on})).await, 200).await;
    assert_eq!(renewed["status"], "sent");
    let approved =
        ok(app.post(&format!("{path}/approve"), Some(&ivan), &json!({"variant_id": variant})).await, 200)
            .await;
    assert_eq!(approved["status"], "approved");
    app.post(&format!("{path}/approve"), Some(&ivan), &json!({"variant_id": variant})).await.problem(409);
    let changed = app.patch(&path, &ivan, &json!({"comment": "late"})).await;
    assert_eq!(changed.unmet_checks(), vec!["quote_open"]);

    // One order by default, with every line; a cancelled order frees its quantities.
    let made = ok(app.post(&format!("{path}/orders"), Some(&ivan), &json!({})).await, 201).await;
    let order = &made["items"][0];
    assert_eq!(order["total"], "300.00");
    assert_eq!(order["lines"][0]["quantity"], "3");
    let again = app.post(&format!("{path}/orders"), Some(&ivan), &json!({})).await;
    assert_eq!(again.unmet_checks(), vec!["within_quoted"]);
    ok(app.post(&format!("/api/v1/orders/{}/cancel", id(order)), Some(&ivan), &json!({})).await, 200).await;
    ok(app.post(&format!("{path}/orders"), Some(&ivan), &json!({})).await, 201).await;
    assert_eq!(app.get(&path, &ivan).await.body["order_ids"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn agreements_make_schedules_that_add_up_and_instalments_show_paid_due_and_overdue() {
    let app = spawn_app().await;
    let s = sale(&app).await;
    let agreements = format!("/api/v1/clients/{}/agreements", s.client_id);
    let term = |p: &str, t: &str, d: i32| json!({"percent": p, "trigger": t, "days_offset": d});

    // Terms must add up to 100% with known triggers.
    let bad = app
        .post(
            &agreements,
            Some(&s.ivan),
            &json!({"title": "Д", "signed_on": "2026-01-01",
            "payment_terms": [term("30", "on_confirmation", 0), term("60", "someday", 400)]}),
        )
        .await;
    bad.problem(422);
    assert_eq!(
        bad.error_fields(),
        vec!["payment_terms[1].trigger", "payment_terms[1].days_offset", "payment_terms"]
    );
    let short = app
        .post(
            &agreements,
            Some(&s.ivan),
            &json!({"title": "Д", "signed_on": "2026-01-01",
            "payment_terms": [term("30", "on_confirmation", 0), term("60", "after_shipment", 10)]}),
        )
        .await;
    assert_eq!(short.error_fields(), vec!["payment_terms"]);
    let thirds = ok(
        app.post(&agreements, Some(&s.ivan), &json!({"number": "17/26", "title": "Договор", "signed_on": "2026-01-01",
            "payment_terms": [term("33.33", "on_confirmation", 3), term("33.33", "before_shipment", 10), term("33.34", "after_shipment", 5)]}))
        .await,
        201,
    )
    .await;
    assert_eq!(thirds["payment_terms"][2]["percent"], "33.34");
    let dup = app
        .post(
            &agreements,
            Some(&s.ivan),
            &json!({"number": "17/26", "title": "Копия", "signed_on": "2026-01-01",
            "payment_terms": [term("100", "on_confirmation", 0)]}),
        )
        .await;
    dup.problem(409);
    // Another manager does not see this client's agreements.
    app.get(&agreements, &s.maria).await.problem(404);
    app.get(&format!("/api/v1/agreements/{}", id(&thirds)), &s.maria).await.problem(404);
    assert_eq!(
        app.get(&agreements, &s.olga).await.body["items"].as_array().unwrap().len(),
        1,
        "accounting reads them"
    );

    // An order under it: thirds that add up to the total to the kopeck.
    let orders = format!("/api/v1/interests/{}/orders", s.iid);
    let order = ok(
        app.post(
            &orders,
            Some(&s.ivan),
            &json!({"agreement_id": thirds["id"], "lines": [free_line("100.01", "1")]}),
        )
        .await,
        201,
    )
    .await;
    let amounts: Vec<&str> =
        order["schedule"].as_array().unwrap().iter().map(|i| i["amount"].as_str().unwrap()).collect();
    assert_eq!(amounts, ["33.33", "33.33", "33.35"]);
    assert!(
        order["schedule"].as_array().unwrap().iter().all(|i| i["due_on"].is_null()),
        "nothing triggered yet"
    );
    // A draft's lines change and the schedule follows the new total.
    let oid = id(&order);
    let bigger = ok(
        app.patch(&format!("/api/v1/orders/{oid}"), &s.ivan, &json!({"lines": [free_line("300", "1")]}))
            .await,
        200,
    )
    .await;
    let amounts: Vec<&str> =
        bigger["schedule"].as_array().unwrap().iter().map(|i| i["amount"].as_str().unwrap()).collect();
    assert_eq!(amounts, ["99.99", "99.99", "100.02"]);
    let confirmed =
        ok(app.post(&format!("/api/v1/orders/{oid}/confirm"), Some(&s.ivan), &json!({})).await, 200).await;
    let dues: Vec<Value> =
        confirmed["schedule"].as_array().unwrap().iter().map(|i| i["due_on"].clone()).collect();
    assert_eq!(dues, [json!(app.day(3)), json!(app.day(10)), Value::Null]);

    // Paid in part; then time passes and the unpaid rest is overdue.
    ok(app.post("/api/v1/payments", Some(&s.olga), &json!({"order_id": oid, "amount": "150"})).await, 201)
        .await;
    let read = |token: String| {
        let path = format!("/api/v1/orders/{oid}");
        let app = &app;
        async move { app.get(&path, &token).await.body }
    };
    let statuses = |o: &Value| -> Vec<String> {
        o["schedule"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap().to_owned()).collect()
    };
    let now = read(s.olga.clone()).await;
    assert_eq!(statuses(&now), ["paid", "partially_paid", "due"]);
    assert_eq!(now["schedule"][1]["paid"], "50.01");
    app.advance(chrono::Duration::days(11));
    let olga = app.token("olga@test.crm", PASSWORD).await;
    assert_eq!(statuses(&read(olga.clone()).await), ["paid", "overdue", "due"]);
    // Nothing ships while the before-shipment prepayment is short; paid, it
    // ships, and shipping sets the after-shipment instalment's date.
    let ivan = app.token("ivan@test.crm", PASSWORD).await;
    let line = read(ivan.clone()).await["lines"][0]["id"].clone();
    let shipment = json!({"kind": "sales_document", "lines": [{"order_line_id": line, "quantity": "1"}]});
    let early = app.post(&format!("/api/v1/orders/{oid}/shipments"), Some(&ivan), &shipment).await;
    assert_eq!(early.unmet_checks(), vec!["prepayment_received"]);
    ok(app.post("/api/v1/payments", Some(&olga), &json!({"order_id": oid, "amount": "49.98"})).await, 201)
        .await;
    assert_eq!(statuses(&read(olga.clone()).await), ["paid", "paid", "due"]);
    ok(app.post(&format!("/api/v1/orders/{oid}/shipments"), Some(&ivan), &shipment).await, 201).await;
    let shipped = read(olga.clone()).await;
    assert_eq!(shipped["schedule"][2]["due_on"], app.day(5));

    // By hand: must add up; an agreement of another client or a closed one is refused.
    let manual = app
        .post(
            &orders,
            Some(&ivan),
            &json!({"lines": [free_line("100", "1")], "schedule": [
            {"amount": "40", "due_on": "2027-01-10"}, {"amount": "50", "due_on": "2027-02-10"}]}),
        )
        .await;
    assert_eq!(manual.unmet_checks(), vec!["schedule_total"]);
    let fine = ok(
        app.post(
            &orders,
            Some(&ivan),
            &json!({"lines": [free_line("100", "1")], "schedule": [
            {"amount": "40", "due_on": "2027-01-10"}, {"amount": "60", "due_on": "2027-02-10"}]}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(fine["schedule"][1]["trigger"], "fixed_date");
    assert_eq!(fine["schedule"][1]["due_on"], "2027-02-10");
    let other_client = ok(
        app.post("/api/v1/clients", Some(&ivan), &json!({"name": "ООО «Василёк»", "kind": "company"})).await,
        201,
    )
    .await;
    let foreign = ok(
        app.post(
            &format!("/api/v1/clients/{}/agreements", id(&other_client)),
            Some(&ivan),
            &json!({"title": "Д",
            "signed_on": "2026-01-01", "payment_terms": [term("100", "on_confirmation", 0)]}),
        )
        .await,
        201,
    )
    .await;
    let wrong = app
        .post(&orders, Some(&ivan), &json!({"agreement_id": foreign["id"], "lines": [free_line("1", "1")]}))
        .await;
    assert_eq!(wrong.unmet_checks(), vec!["agreement_of_client"]);
    ok(
        app.patch(&format!("/api/v1/agreements/{}", id(&thirds)), &ivan, &json!({"status": "closed"})).await,
        200,
    )
    .await;
    let closed = app
        .post(&orders, Some(&ivan), &json!({"agreement_id": thirds["id"], "lines": [free_line("1", "1")]}))
        .await;
    assert_eq!(closed.unmet_checks(), vec!["agreement_active"]);
}

/// A minimal SMTP server: accepts one session, answers every command, and
/// hands back what was sent between DATA and the final dot.
pub(crate) async fn smtp_once(listener: tokio::net::TcpListener) -> String {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (socket, _) = listener.accept().await.unwrap();
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 test ESMTP\r\n").await.unwrap();
    let mut data = String::new();
    let mut in_data = false;
    while let Some(line) = lines.next_line().await.unwrap() {
        if in_data {
            if line == "." {
                in_data = false;
                write.write_all(b"250 queued\r\n").await.unwrap();
            } else {
                data.push_str(&line);
                data.push('\n');
            }
            continue;
        }
        let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250 test\r\n",
            "DATA" => {
                in_data = true;
                b"354 go ahead\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await.unwrap();
                break;
            }
            _ => b"250 ok\r\n",
        };
        write.write_all(answer).await.unwrap();
    }
    data
}

#[tokio::test]
async fn a_failed_invoice_email_is_recorded_and_a_retry_sends_it_over_smtp() {
    // A port nothing listens on yet: the first attempt is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("smtp://127.0.0.1:{port}");
    let app =
        spawn_app_with(&[("CRM_SMTP_URL", url.as_str()), ("CRM_MAIL_FROM", "Продажи <sales@mebel.test>")])
            .await;
    let s = sale(&app).await;
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
    let send = format!("/api/v1/orders/{oid}/invoice/send");
    let draft = app.post(&send, Some(&s.ivan), &json!({})).await;
    assert_eq!(draft.unmet_checks(), vec!["order_confirmed"], "invoices go out for confirmed orders");
    ok(app.post(&format!("/api/v1/orders/{oid}/confirm"), Some(&s.ivan), &json!({})).await, 200).await;
    app.post(&send, Some(&s.ivan), &json!({"to": "not an address"})).await.problem(422);

    let failed = app.post(&send, Some(&s.olga), &json!({})).await;
    assert_eq!(failed.problem(502)["type"], "urn:crm:problem:delivery_failed");
    let attempt = failed.header("location").unwrap().to_owned();
    let recorded = app.get(&attempt, &s.olga).await.body;
    assert_eq!(recorded["status"], "failed");
    assert_eq!(recorded["attempts"], 1);
    assert_eq!(
        recorded["recipient"], "buh@romashka.ru",
        "the client's e-mail when the interest has no contact"
    );
    assert!(recorded["last_error"].as_str().unwrap().contains("SMTP"), "{recorded}");
    let timeline = app.get(&format!("/api/v1/interests/{}/timeline", s.iid), &s.ivan).await.body;
    assert_eq!(timeline["items"][0]["kind"], "invoice_send_failed");

    // An attempt in flight (here: one left by a crash a moment ago) is not
    // taken over; after two quiet minutes it is.
    let sending_id = attempt.rsplit('/').next().unwrap().to_owned();
    let at = app.clock_now().naive_utc().format("%Y-%m-%d %H:%M:%S").to_string();
    app.app
        .write(move |conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query(format!(
                "UPDATE invoice_sendings SET status = 'pending', updated_at = '{at}' WHERE id = '{sending_id}'"
            ))
            .execute(conn)
            .map_err(crm_app::AppError::internal)
        })
        .unwrap();
    app.post(&format!("{attempt}/retry"), Some(&s.olga), &json!({})).await.problem(409);
    app.advance(chrono::Duration::minutes(3));
    let olga = app.token("olga@test.crm", PASSWORD).await;

    // The mail server comes up; the retry goes through it.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let server = tokio::spawn(smtp_once(listener));
    let sent = ok(app.post(&format!("{attempt}/retry"), Some(&olga), &json!({})).await, 200).await;
    assert_eq!((sent["status"].as_str(), sent["attempts"].as_i64()), (Some("sent"), Some(2)));
    let data = server.await.unwrap();
    assert!(data.contains("application/pdf"), "the PDF is attached");
    assert!(data.contains("sales@mebel.test"));
    app.post(&format!("{attempt}/retry"), Some(&olga), &json!({})).await.problem(409);
    let list = app.get(&format!("/api/v1/orders/{oid}/invoice/sendings"), &s.ivan).await.body;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    app.get(&attempt, &s.maria).await.problem(404);
}

#[tokio::test]
async fn each_role_sees_its_part_of_the_documents() {
    let app = spawn_app().await;
    let s = sale(&app).await;
    let q = ok(
        app.post(
            &format!("/api/v1/interests/{}/quotes", s.iid),
            Some(&s.ivan),
            &json!({"variants": [
            {"name": "A", "lines": [free_line("500", "4")]}]}),
        )
        .await,
        201,
    )
    .await;
    let qpath = format!("/api/v1/quotes/{}", id(&q));
    let v = q["variants"][0]["id"].clone();
    ok(app.post(&format!("{qpath}/approve"), Some(&s.ivan), &json!({"variant_id": v})).await, 200).await;
    let made = ok(app.post(&format!("{qpath}/orders"), Some(&s.ivan), &json!({})).await, 201).await;
    let oid = id(&made["items"][0]);
    ok(app.post(&format!("/api/v1/orders/{oid}/confirm"), Some(&s.ivan), &json!({})).await, 200).await;
    ok(
        app.post(
            "/api/v1/payments",
            Some(&s.olga),
            &json!({"order_id": oid, "amount": "1000", "external_ref": "PP-7"}),
        )
        .await,
        201,
    )
    .await;

    // Procurement records purchase documents; the same external id updates one.
    let related = format!("/api/v1/orders/{oid}/related-documents");
    let doc = json!({"kind": "supplier_order", "number": "ЗП-311", "document_date": "2026-11-20",
        "status": "in_progress", "amount": "1500", "external_id": "po-311"});
    let first = ok(app.post(&related, Some(&s.petr), &doc).await, 201).await;
    let mut changed = doc.clone();
    changed["status"] = json!("completed");
    let second = ok(app.post(&related, Some(&s.petr), &changed).await, 200).await;
    assert_eq!((second["id"].clone(), second["status"].as_str()), (first["id"].clone(), Some("completed")));
    let mut bad = doc.clone();
    bad["kind"] = json!("invoice");
    assert_eq!(app.post(&related, Some(&s.petr), &bad).await.error_fields(), vec!["kind"]);
    app.post(&related, Some(&s.ivan), &doc).await.problem(403);
    app.post("/api/v1/payments", Some(&s.petr), &json!({"order_id": oid, "amount": "1"})).await.problem(403);

    let tree = |token: String| {
        let path = format!("/api/v1/interests/{}/documents", s.iid);
        let app = &app;
        async move { app.get(&path, &token).await }
    };
    fn kinds(node: &Value, out: &mut Vec<String>) {
        out.push(node["kind"].as_str().unwrap().to_owned());
        for c in node["children"].as_array().unwrap() {
            kinds(c, out);
        }
    }
    let seen = |v: &Value| {
        let mut out = Vec::new();
        kinds(v, &mut out);
        out
    };
    // The manager and the department head: everything.
    for token in [s.ivan.clone(), s.head.clone()] {
        let all = tree(token).await;
        assert_eq!(
            seen(&all.body),
            ["interest", "quote", "order", "invoice", "payment", "supplier_order"],
            "{}",
            all.text
        );
    }
    // Accounting: orders, invoices and payments, not the quote or purchases; no interest internals.
    let books = tree(s.olga.clone()).await.body;
    assert_eq!(seen(&books), ["interest", "order", "invoice", "payment"]);
    assert!(books["status"].is_null() && books["amount"].is_null());
    app.get(&qpath, &s.olga).await.problem(403);
    app.get(&format!("/api/v1/interests/{}", s.iid), &s.olga).await.problem(403);
    assert_eq!(app.get(&format!("/api/v1/orders/{oid}/invoice.pdf"), &s.olga).await.status, 200);
    app.get(&related, &s.olga).await.problem(403);
    // Procurement: orders and their purchase documents only.
    assert_eq!(seen(&tree(s.petr.clone()).await.body), ["interest", "order", "supplier_order"]);
    app.get(&format!("/api/v1/orders/{oid}/invoice.pdf"), &s.petr).await.problem(403);
    // Another manager: nothing of it.
    tree(s.maria.clone()).await.problem(404);
    app.get(&qpath, &s.maria).await.problem(404);
    app.get(&format!("/api/v1/orders/{oid}"), &s.maria).await.problem(404);
    app.get(&format!("/api/v1/orders/{oid}/invoice.pdf"), &s.maria).await.problem(404);
    app.get(&format!("{qpath}/pdf"), &s.maria).await.problem(404);
    // Every node's link reads that document.
    let full = tree(s.ivan.clone()).await.body;
    let order_node = &full["children"][0]["children"][0];
    for node in
        order_node["children"].as_array().unwrap().iter().chain([order_node, &full["children"][0], &full])
    {
        let link = node["link"].as_str().unwrap();
        let res = app.request(Method::GET, link, Some(&s.ivan)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{link}");
    }
    // The manager reads the purchase documents of his order.
    assert_eq!(app.get(&related, &s.ivan).await.body["items"][0]["number"], "ЗП-311");

    // Keys act within their scopes.
    let key = |scopes: Value| {
        let app = &app;
        let admin = s.admin.clone();
        async move {
            let r =
                app.post("/api/v1/api-keys", Some(&admin), &json!({"name": "1C", "scopes": scopes})).await;
            r.body["secret"].as_str().unwrap().to_owned()
        }
    };
    let buying = key(json!(["purchasing:write"])).await;
    let mut from_key = doc.clone();
    from_key["external_id"] = json!("po-312");
    ok(app.post(&related, Some(&buying), &from_key).await, 201).await;
    let reader = key(json!(["orders:read"])).await;
    app.post(&related, Some(&reader), &from_key).await.problem(403);
    assert_eq!(app.get(&format!("/api/v1/orders/{oid}"), &reader).await.status, 200);
}

#[tokio::test]
async fn the_database_itself_keeps_posted_lines_frozen_and_cancelled_orders_unpaid() {
    use diesel::RunQueryDsl;
    let app = spawn_app().await;
    let s = sale(&app).await;
    let orders = format!("/api/v1/interests/{}/orders", s.iid);
    let posted =
        ok(app.post(&orders, Some(&s.ivan), &json!({"lines": [free_line("10", "1")]})).await, 201).await;
    let cancelled =
        ok(app.post(&orders, Some(&s.ivan), &json!({"lines": [free_line("10", "1")]})).await, 201).await;
    ok(app.post(&format!("/api/v1/orders/{}/confirm", id(&posted)), Some(&s.ivan), &json!({})).await, 200)
        .await;
    ok(app.post(&format!("/api/v1/orders/{}/cancel", id(&cancelled)), Some(&s.ivan), &json!({})).await, 200)
        .await;
    let run = |sql: String| {
        app.app.write(move |conn| {
            diesel::sql_query(sql.clone())
                .execute(conn)
                .map_err(|e| crm_app::AppError::internal(e.to_string()))
        })
    };
    let err = run(format!("UPDATE order_lines SET quantity = 5000 WHERE order_id = '{}'", id(&posted)))
        .unwrap_err();
    assert!(err.to_string().contains("order_lines_frozen"), "{err}");
    let err = run(format!("DELETE FROM order_lines WHERE order_id = '{}'", id(&posted))).unwrap_err();
    assert!(err.to_string().contains("order_lines_frozen"), "{err}");
    // Shipping still moves the shipped quantity.
    run(format!("UPDATE order_lines SET shipped_quantity = 1 WHERE order_id = '{}'", id(&posted))).unwrap();
    let now = "2026-11-29 10:00:00";
    let err = run(format!(
        "INSERT INTO payments (id, order_id, amount_minor, paid_on, status, overpaid, version, created_at, updated_at) \
         VALUES ('{}', '{}', 100, '{now}', 'posted', false, 1, '{now}', '{now}')",
        uuid::Uuid::now_v7(),
        id(&cancelled)
    ))
    .unwrap_err();
    assert!(err.to_string().contains("payments_need_confirmed_order"), "{err}");
    // Through the API the same is a clear 422.
    let api = app
        .post("/api/v1/payments", Some(&s.olga), &json!({"order_id": id(&cancelled), "amount": "1"}))
        .await;
    assert_eq!(api.unmet_checks(), vec!["order_confirmed"]);
}

#[tokio::test]
async fn an_instalment_unpaid_past_its_date_is_announced_once_and_runs_the_overdue_rules() {
    let app = spawn_app().await;
    let s = sale(&app).await;
    // The head adds a rule to the typical sale: an overdue payment sets a chase task.
    let scenario = app.get("/api/v1/scenarios", &s.head).await.body["items"][0].clone();
    let mut def = scenario["definition"].clone();
    let mut rule = def["event_rules"][0].clone();
    rule["event"] = json!("payment_overdue");
    rule["actions"][0]["title"] = json!("Chase the overdue payment");
    rule["actions"][0]["task_kind"] = json!("payment_chase");
    def["event_rules"].as_array_mut().unwrap().push(rule);
    let put = Reply::read(
        app.request(Method::PUT, &format!("/api/v1/scenarios/{}", id(&scenario)), Some(&s.head))
            .json(&json!({"name": scenario["name"], "definition": def}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text);

    let day = |n: i64| app.day(n);
    let order = ok(
        app.post(
            &format!("/api/v1/interests/{}/orders", s.iid),
            Some(&s.ivan),
            &json!({
            "lines": [free_line("100", "1")],
            "schedule": [{"amount": "50", "due_on": day(2)}, {"amount": "50", "due_on": day(20)}]}),
        )
        .await,
        201,
    )
    .await;
    let oid = id(&order);
    ok(app.post(&format!("/api/v1/orders/{oid}/confirm"), Some(&s.ivan), &json!({})).await, 200).await;
    ok(app.post("/api/v1/payments", Some(&s.olga), &json!({"order_id": oid, "amount": "20"})).await, 201)
        .await;

    app.advance(chrono::Duration::days(1));
    assert_eq!(
        crm_app::documents::schedule::announce_overdue_payments(&app.app).unwrap(),
        0,
        "nothing is late yet"
    );
    app.advance(chrono::Duration::days(2));
    assert_eq!(crm_app::documents::schedule::announce_overdue_payments(&app.app).unwrap(), 1);
    assert_eq!(
        crm_app::documents::schedule::announce_overdue_payments(&app.app).unwrap(),
        0,
        "announced once"
    );

    let ivan = app.token("ivan@test.crm", PASSWORD).await;
    let read = app.get(&format!("/api/v1/orders/{oid}"), &ivan).await.body;
    let statuses: Vec<&str> =
        read["schedule"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["overdue", "due"]);
    let timeline = app.get(&format!("/api/v1/interests/{}/timeline", s.iid), &ivan).await.body;
    let entry = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "payment_overdue")
        .expect("on the timeline");
    assert_eq!(entry["details"]["overdue"], "30.00");
    let notes = app.get("/api/v1/notifications", &ivan).await.body;
    assert!(
        notes["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["text"].as_str().unwrap().contains("30.00 overdue")),
        "{notes}"
    );
    let open = tasks(&app.get(&format!("/api/v1/tasks?interest_id={}", s.iid), &ivan).await.body);
    assert!(open.iter().any(|t| t.0 == "Chase the overdue payment"), "{open:?}");
}
