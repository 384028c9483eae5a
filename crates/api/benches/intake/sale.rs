//! The whole typical sale over HTTP, one request at a time: a lead accepted
//! into an interest with a new client, a quote approved, two orders under an
//! agreement, confirmed, paid (the last payment moves the interest to
//! shipment by itself) and shipped (the last shipment wins it). No PDF is
//! drawn. Its cost is the sum of its requests' times; the payment that moves
//! the interest is also reported by itself.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::load::Stats;

/// Sales run one after another (after one to warm up).
const SALES: usize = 30;

/// The people and the product every sale uses.
pub struct Fixture {
    manager: String,
    accountant: String,
    product_id: String,
}

/// The sales' figures.
pub struct Figures {
    /// Each sale's summed request time.
    pub sale: Stats,
    /// The requests one sale takes.
    pub requests: usize,
    /// The payment that completes the payments and moves the interest.
    pub payment_move: Stats,
}

struct Client<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
    spent: Duration,
    requests: usize,
}

impl Client<'_> {
    /// One request; it must succeed. Its time is added to the sale's.
    async fn call(&mut self, method: Method, path: &str, token: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let started = Instant::now();
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        self.spent += started.elapsed();
        self.requests += 1;
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

impl Fixture {
    /// The organisation's details, a manager, an accountant and a product.
    pub async fn new(http: &reqwest::Client, base: &str, admin: &str) -> Fixture {
        let mut c = Client { http, base, spent: Duration::ZERO, requests: 0 };
        c.call(Method::PUT, "/api/v1/organization", admin, Some(json!({
            "name": "ООО «Мебель-Сервис»", "tax_id": "7707083893", "kpp": "770701001", "bank": "ПАО Сбербанк",
            "bik": "044525225", "account": "40702810938000012345", "correspondent_account": "30101810400000000225",
            "address": "Москва, ул. Лесная, 5"})))
        .await;
        let mut tokens = Vec::new();
        for (email, role) in [("ivan@sale.bench", "manager"), ("olga@sale.bench", "accountant")] {
            let password = "bench-sale-password";
            c.call(
                Method::POST,
                "/api/v1/users",
                admin,
                Some(json!({"email": email, "name": "Сотрудник", "role": role, "password": password})),
            )
            .await;
            let t = crate::post(
                http,
                base,
                "/api/v1/auth/login",
                None,
                json!({"email": email, "password": password}),
            )
            .await;
            tokens.push(t["access_token"].as_str().unwrap().to_owned());
        }
        let product = c
            .call(Method::POST, "/api/v1/products", admin, Some(json!({
                "sku": "CH-1", "name": "Кресло офисное «Престиж»", "unit": "шт", "price": "12990", "vat_rate": "22"})))
            .await;
        let accountant = tokens.pop().unwrap();
        let manager = tokens.pop().unwrap();
        Fixture { manager, accountant, product_id: id(&product) }
    }

    /// Runs `SALES` sales one after another and times them.
    pub async fn measure(&self, http: &reqwest::Client, base: &str) -> Figures {
        self.one(http, base, 0).await;
        let started = Instant::now();
        let (mut sales, mut moves, mut requests) = (Vec::new(), Vec::new(), 0);
        for n in 1..=SALES {
            let (spent, payment_move, count) = self.one(http, base, n).await;
            sales.push(spent);
            moves.push(payment_move);
            requests = count;
        }
        let elapsed = started.elapsed();
        Figures {
            sale: Stats::from_latencies(sales, elapsed),
            requests,
            payment_move: Stats::from_latencies(moves, elapsed),
        }
    }

    /// One sale, from the lead to won: its summed request time, the time of
    /// the payment that moved the interest, and how many requests it took.
    async fn one(&self, http: &reqwest::Client, base: &str, n: usize) -> (Duration, Duration, usize) {
        let (ivan, olga) = (self.manager.as_str(), self.accountant.as_str());
        let mut c = Client { http, base, spent: Duration::ZERO, requests: 0 };
        let lead = c
            .call(
                Method::POST,
                "/api/v1/leads",
                ivan,
                Some(json!({
                "channel": "email", "name": "Анна Смирнова", "email": format!("anna{n}@romashka.ru"),
                "subject": "40 офисных кресел"})),
            )
            .await;
        let accepted = c
            .call(Method::POST, &format!("/api/v1/leads/{}/accept", id(&lead)), ivan, Some(json!({
                "mode": "new_interest",
                "client": {"use": "new", "name": format!("ООО «Ромашка-{n}»"), "kind": "company", "confirm_new": true},
                "contact": {"use": "new", "name": "Анна Смирнова"}})))
            .await;
        let iid = id(&accepted["interest"]);
        let client_id = accepted["interest"]["client_id"].as_str().unwrap().to_owned();
        let transitions = format!("/api/v1/interests/{iid}/transitions");
        c.call(Method::POST, &transitions, ivan, Some(json!({"to_stage": "proposal"}))).await;
        let quote = c
            .call(Method::POST, &format!("/api/v1/interests/{iid}/quotes"), ivan, Some(json!({"variants": [
                {"name": "Стандарт", "lines": [
                    {"product_id": self.product_id, "quantity": "40"},
                    {"description": "Доставка", "quantity": "1", "unit_price": "5000", "vat_rate": "without"}]}]})))
            .await;
        let qid = id(&quote);
        let sent = c
            .call(Method::PATCH, &format!("/api/v1/quotes/{qid}"), ivan, Some(json!({"status": "sent"})))
            .await;
        let variant = sent["variants"][0].clone();
        c.call(
            Method::POST,
            &format!("/api/v1/quotes/{qid}/approve"),
            ivan,
            Some(json!({"variant_id": variant["id"]})),
        )
        .await;
        let agreement = c
            .call(
                Method::POST,
                &format!("/api/v1/clients/{client_id}/agreements"),
                ivan,
                Some(json!({
                "title": "Договор поставки", "signed_on": "2026-01-15", "payment_terms": [
                    {"percent": "50", "trigger": "on_confirmation", "days_offset": 0},
                    {"percent": "50", "trigger": "before_shipment", "days_offset": 5}]})),
            )
            .await;
        let (chairs, delivery) = (variant["lines"][0]["id"].clone(), variant["lines"][1]["id"].clone());
        let orders = c
            .call(
                Method::POST,
                &format!("/api/v1/quotes/{qid}/orders"),
                ivan,
                Some(json!({
                "agreement_id": agreement["id"], "orders": [
                    {"lines": [{"quote_line_id": chairs, "quantity": "20"}, {"quote_line_id": delivery}]},
                    {"lines": [{"quote_line_id": chairs, "quantity": "20"}]}]})),
            )
            .await;
        let (a, b) = (id(&orders["items"][0]), id(&orders["items"][1]));
        for o in [&a, &b] {
            c.call(Method::POST, &format!("/api/v1/orders/{o}/confirm"), ivan, Some(json!({}))).await;
        }
        c.call(Method::POST, &transitions, ivan, Some(json!({"to_stage": "payment"}))).await;
        c.call(Method::GET, &format!("/api/v1/tasks?interest_id={iid}"), ivan, None).await;
        let pay = |order: &str, amount: &str| json!({"order_id": order, "amount": amount});
        c.call(Method::POST, "/api/v1/payments", olga, Some(pay(&a, "264800"))).await;
        c.call(Method::POST, "/api/v1/payments", olga, Some(pay(&b, "129900"))).await;
        let before = c.spent;
        c.call(Method::POST, "/api/v1/payments", olga, Some(pay(&b, "129900"))).await;
        let payment_move = c.spent - before;
        let moved = c.call(Method::GET, &format!("/api/v1/interests/{iid}"), ivan, None).await;
        assert_eq!(moved["stage"], "shipment", "paid in full: the interest moved by itself");
        let a_lines = c.call(Method::GET, &format!("/api/v1/orders/{a}"), ivan, None).await["lines"].clone();
        let b_lines = c.call(Method::GET, &format!("/api/v1/orders/{b}"), ivan, None).await["lines"].clone();
        for (order, lines) in [
            (
                &a,
                json!([{"order_line_id": a_lines[0]["id"], "quantity": "20"}, {"order_line_id": a_lines[1]["id"], "quantity": "1"}]),
            ),
            (&b, json!([{"order_line_id": b_lines[0]["id"], "quantity": "20"}])),
        ] {
            c.call(
                Method::POST,
                &format!("/api/v1/orders/{order}/shipments"),
                ivan,
                Some(json!({"kind": "sales_document", "lines": lines})),
            )
            .await;
        }
        let done = c.call(Method::GET, &format!("/api/v1/interests/{iid}"), ivan, None).await;
        assert_eq!(done["state"], "won", "paid and shipped in full: won");
        c.call(Method::GET, &format!("/api/v1/interests/{iid}/timeline?limit=200"), ivan, None).await;
        (c.spent, payment_move, c.requests)
    }
}
