//! What the areas issue changed at the API: every list, including the lists
//! of one interest's or one order's documents, pages with `limit`/`cursor`
//! and answers `{items, next_cursor}`.

use serde_json::{json, Value};

use crate::documents::{free_line, id, ok, sale};
use crate::helpers::spawn_app;

/// Follows `next_cursor` from the first page at `limit`, returning each page's ids.
async fn pages(app: &crate::helpers::TestApp, path: &str, token: &str, limit: u32) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            None => format!("{path}?limit={limit}"),
            Some(c) => format!("{path}?limit={limit}&cursor={c}"),
        };
        let page: Value = ok(app.get(&url, token).await, 200).await;
        let keys: Vec<&str> = page.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["items", "next_cursor"], "{url}");
        out.push(page["items"].as_array().unwrap().iter().map(id).collect());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
        assert!(out.len() < 10, "{url} does not end");
    }
}

#[tokio::test]
async fn an_interests_orders_and_quotes_page_like_every_other_list() {
    let app = spawn_app().await;
    let s = sale(&app).await;
    let orders = format!("/api/v1/interests/{}/orders", s.iid);
    let quotes = format!("/api/v1/interests/{}/quotes", s.iid);
    let mut made_orders = Vec::new();
    let mut made_quotes = Vec::new();
    for price in ["100", "200", "300"] {
        let o =
            ok(app.post(&orders, Some(&s.ivan), &json!({"lines": [free_line(price, "1")]})).await, 201).await;
        made_orders.push(id(&o));
        let q = ok(
            app.post(
                &quotes,
                Some(&s.ivan),
                &json!({"variants": [{"name": "A", "lines": [free_line(price, "1")]}]}),
            )
            .await,
            201,
        )
        .await;
        made_quotes.push(id(&q));
    }
    let order_pages = pages(&app, &orders, &s.ivan, 2).await;
    assert_eq!(order_pages, vec![made_orders[..2].to_vec(), made_orders[2..].to_vec()]);
    let quote_pages = pages(&app, &quotes, &s.ivan, 2).await;
    assert_eq!(quote_pages, vec![made_quotes[..2].to_vec(), made_quotes[2..].to_vec()]);
    // One page holds them all when the limit allows.
    assert_eq!(pages(&app, &orders, &s.ivan, 3).await, vec![made_orders.clone()]);

    // The same rules as every list: a limit out of range or a foreign cursor is a 400 naming it.
    let bad = app.get(&format!("{orders}?limit=0"), &s.ivan).await;
    bad.problem(400);
    assert_eq!(bad.error_fields(), vec!["limit"]);
    let bad = app.get(&format!("{quotes}?cursor=not-ours"), &s.ivan).await;
    bad.problem(400);
    assert_eq!(bad.error_fields(), vec!["cursor"]);
    // Paging does not widen what a user sees: Maria does not see Ivan's interest.
    app.get(&format!("{orders}?limit=1"), &s.maria).await.problem(404);
}

#[tokio::test]
async fn an_orders_payments_shipments_sendings_and_purchase_documents_page_too() {
    let app = spawn_app().await;
    let s = sale(&app).await;
    let orders = format!("/api/v1/interests/{}/orders", s.iid);
    let o =
        ok(app.post(&orders, Some(&s.ivan), &json!({"lines": [free_line("1000", "3")]})).await, 201).await;
    let oid = id(&o);
    ok(app.post(&format!("/api/v1/orders/{oid}/confirm"), Some(&s.ivan), &json!({})).await, 200).await;
    let mut payments = Vec::new();
    let mut shipments = Vec::new();
    for n in 0..3 {
        let p = ok(
            app.post(
                "/api/v1/payments",
                Some(&s.olga),
                &json!({"order_id": oid, "amount": "100.00", "external_ref": format!("PP-{n}")}),
            )
            .await,
            201,
        )
        .await;
        payments.push(id(&p));
        let lines = o["lines"].as_array().unwrap();
        let sh = ok(
            app.post(
                &format!("/api/v1/orders/{oid}/shipments"),
                Some(&s.ivan),
                &json!({"kind": "sales_document", "lines": [{"order_line_id": lines[0]["id"], "quantity": "1"}]}),
            )
            .await,
            201,
        )
        .await;
        shipments.push(id(&sh));
    }
    let paged = pages(&app, &format!("/api/v1/orders/{oid}/payments"), &s.olga, 2).await;
    assert_eq!(paged, vec![payments[..2].to_vec(), payments[2..].to_vec()]);
    let paged = pages(&app, &format!("/api/v1/orders/{oid}/shipments"), &s.ivan, 2).await;
    assert_eq!(paged, vec![shipments[..2].to_vec(), shipments[2..].to_vec()]);
    // Lists with nothing in them are one empty page.
    assert_eq!(
        pages(&app, &format!("/api/v1/orders/{oid}/invoice/sendings"), &s.ivan, 2).await,
        vec![Vec::<String>::new()]
    );
    assert_eq!(
        pages(&app, &format!("/api/v1/orders/{oid}/related-documents"), &s.petr, 2).await,
        vec![Vec::<String>::new()]
    );
}

#[tokio::test]
async fn a_board_column_never_adds_two_currencies() {
    let app = spawn_app().await;
    let o = crate::sales::org(&app).await;
    for (title, amount, currency) in
        [("Chairs", "100.50", "RUB"), ("Desks", "200", "RUB"), ("Lamps", "40", "USD"), ("Beds", "7", "EUR")]
    {
        crate::sales::new_interest(
            &app,
            &o.manager,
            json!({"title": title, "potential_amount": amount, "currency": currency}),
        )
        .await;
    }
    let board = app.get("/api/v1/board?responsible=me", &o.manager).await;
    assert_eq!(board.status, 200, "{}", board.text);
    let request = &board.body["columns"][0];
    assert_eq!(request["count"], 4);
    // The organisation's currency alone, not 347.50 of mixed money.
    assert_eq!(request["potential_sum"], "300.50");
    assert_eq!(
        request["potential_by_currency"],
        json!([
            {"currency": "EUR", "sum": "7.00"},
            {"currency": "RUB", "sum": "300.50"},
            {"currency": "USD", "sum": "40.00"},
        ])
    );
    // A column with nothing in it sums to zero in no currency.
    let empty = &board.body["columns"][1];
    assert_eq!((empty["count"].clone(), empty["potential_sum"].clone()), (json!(0), json!("0.00")));
    assert_eq!(empty["potential_by_currency"], json!([]));
}
