//! The catalogue and the organisation's details.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn heads_keep_the_catalogue_and_everyone_reads_it() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_user(&admin, "head@test.crm", "head", None).await;
    app.create_user(&admin, "m@test.crm", "manager", None).await;
    let head = app.token("head@test.crm", PASSWORD).await;
    let manager = app.token("m@test.crm", PASSWORD).await;

    let chair = app
        .post(
            "/api/v1/products",
            Some(&head),
            &json!({"sku": "CHAIR-01", "name": "Office chair", "price": "12990", "vat_rate": "22"}),
        )
        .await;
    assert_eq!(chair.status, 201, "{}", chair.text);
    assert_eq!(chair.body["price"], "12990.00");
    assert_eq!(chair.body["unit"], "шт");
    assert_eq!(chair.body["price_includes_vat"], true);
    app.post("/api/v1/products", Some(&manager), &json!({"sku": "X", "name": "X", "price": "1"}))
        .await
        .problem(403);
    let dup = app
        .post("/api/v1/products", Some(&head), &json!({"sku": "CHAIR-01", "name": "Other", "price": "1"}))
        .await;
    assert_eq!(dup.problem(409)["errors"][0]["field"], "sku");
    let bad = app
        .post("/api/v1/products", Some(&head), &json!({"sku": "D-1", "name": "Desk", "price": "12.345", "vat_rate": "220", "currency": "rubles"}))
        .await;
    bad.problem(422);
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["currency", "price", "vat_rate"]);

    let path = format!("/api/v1/products/{}", chair.body["id"].as_str().unwrap());
    let patched = Reply::read(
        app.request(Method::PATCH, &path, Some(&head))
            .header("if-match", "\"1\"")
            .json(&json!({"price": "11990.50", "vat_rate": "without"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["price"], "11990.50");
    assert_eq!(patched.body["vat_rate"], "without");
    let stale = Reply::read(
        app.request(Method::PATCH, &path, Some(&head))
            .header("if-match", "\"1\"")
            .json(&json!({"price": "1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    stale.problem(412);
    let list = app.get("/api/v1/products", &manager).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);

    let key = app
        .post("/api/v1/api-keys", Some(&admin), &json!({"name": "ERP", "scopes": ["orders:read"]}))
        .await
        .body;
    let key = key["secret"].as_str().unwrap();
    assert_eq!(app.get(&path, key).await.status, 200);
    app.post("/api/v1/products", Some(key), &json!({"sku": "K", "name": "K", "price": "1"}))
        .await
        .problem(403);
}

#[tokio::test]
async fn the_organisations_details_are_checked_and_versioned() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_user(&admin, "m@test.crm", "manager", None).await;
    let manager = app.token("m@test.crm", PASSWORD).await;
    let empty = app.get("/api/v1/organization", &manager).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body["name"], "");

    let put = |token: String, body: serde_json::Value, if_match: Option<&'static str>| {
        let mut req = app.request(Method::PUT, "/api/v1/organization", Some(&token)).json(&body);
        if let Some(m) = if_match {
            req = req.header("if-match", m);
        }
        async move { Reply::read(req.send().await.unwrap()).await }
    };
    let details = json!({"name": "ООО «Мебель-Сервис»", "tax_id": "7707083893", "kpp": "770701001", "bank": "ПАО Сбербанк",
        "bik": "044525225", "account": "40702810938000012345", "correspondent_account": "30101810400000000225", "address": "Москва"});
    put(manager.clone(), details.clone(), None).await.problem(403);
    let bad = put(
        admin.clone(),
        json!({"name": "X", "tax_id": "7707083894", "kpp": "77", "bik": "abc", "account": "1"}),
        None,
    )
    .await;
    bad.problem(422);
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["account", "bik", "kpp", "tax_id"]);
    let saved = put(admin.clone(), details.clone(), None).await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(saved.body["version"], 1);
    let again = put(admin.clone(), details.clone(), Some("\"1\"")).await;
    assert_eq!(again.body["version"], 2);
    put(admin.clone(), details, Some("\"1\"")).await.problem(412);
    assert_eq!(app.get("/api/v1/organization", &manager).await.body["bik"], "044525225");

    // What GET returns, `version` included, may be sent back as it is.
    let read = app.get("/api/v1/organization", &admin).await;
    assert_eq!(read.body["version"], 2);
    let tag = read.header("etag").unwrap().to_owned();
    let mut req = app.request(Method::PUT, "/api/v1/organization", Some(&admin)).json(&read.body);
    req = req.header("if-match", tag);
    let round_trip = Reply::read(req.send().await.unwrap()).await;
    assert_eq!(round_trip.status, 200, "{}", round_trip.text);
    assert_eq!(round_trip.body["version"], 3);
}
