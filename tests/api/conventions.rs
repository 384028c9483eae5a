//! The conventions every endpoint shares: problem+json for bad input,
//! pagination, ETags and If-Match, Idempotency-Key, 503 on pool exhaustion.

use reqwest::Method;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::*;

async fn raw_post(app: &TestApp, path: &str, token: &str, content_type: &str, body: Vec<u8>) -> Reply {
    Reply::read(
        app.request(Method::POST, path, Some(token))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn malformed_bodies_get_problems_and_change_nothing() {
    let app = spawn_app_with(&[("CRM_MAX_BODY_BYTES", "4096")]).await;
    let admin = app.admin_token().await;
    let before = app.user_count(&admin).await;

    let syntax = raw_post(&app, "/api/v1/users", &admin, "application/json", b"{\"email\": ".to_vec()).await;
    assert!(syntax.problem(400)["detail"].as_str().unwrap().contains("not valid JSON"));

    let types = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({"email": 42, "name": "X", "role": "manager", "password": PASSWORD}),
        )
        .await;
    types.problem(400);

    let unknown = app
        .post("/api/v1/users", Some(&admin), &json!({"email": "u@test.crm", "name": "X", "role": "manager", "password": PASSWORD, "is_god": true}))
        .await;
    assert_eq!(unknown.error_fields(), vec!["is_god"]);
    assert_eq!(unknown.body["errors"][0]["code"], "unknown_field");

    let missing = app.post("/api/v1/users", Some(&admin), &json!({"name": "X"})).await;
    assert_eq!(missing.problem(400)["errors"][0]["code"], "required");

    let big = format!("{{\"email\": \"a@test.crm\", \"name\": \"{}\"}}", "x".repeat(5000));
    raw_post(&app, "/api/v1/users", &admin, "application/json", big.into_bytes()).await.problem(413);

    raw_post(&app, "/api/v1/users", &admin, "text/plain", b"{}".to_vec()).await.problem(415);

    assert_eq!(app.user_count(&admin).await, before);
}

#[tokio::test]
async fn bad_ids_limits_cursors_and_routes_get_problems() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    // An id that is not a UUID names nothing: 404, like one that does not exist.
    let not_an_id = app.get("/api/v1/users/not-a-uuid", &admin).await;
    assert_eq!(not_an_id.problem(404)["type"], "urn:crm:problem:not_found");
    app.get(&format!("/api/v1/users/{}", uuid::Uuid::now_v7()), &admin).await.problem(404);
    for bad in ["limit=0", "limit=201", "limit=abc", "limit=-1", "cursor=bogus", "updated_since=yesterday"] {
        let r = app.get(&format!("/api/v1/users?{bad}"), &admin).await;
        r.problem(400);
    }
    assert_eq!(app.get("/api/v1/users?limit=201", &admin).await.body["errors"][0]["field"], "limit");
    assert_eq!(app.get("/api/v1/users?cursor=bogus", &admin).await.body["errors"][0]["field"], "cursor");
    app.get("/api/v1/nothing-here", &admin).await.problem(404);
    let wrong_method =
        Reply::read(app.request(Method::PUT, "/api/v1/users", Some(&admin)).send().await.unwrap()).await;
    wrong_method.problem(405);
}

#[tokio::test]
async fn a_client_request_id_is_echoed_and_one_is_made_otherwise() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/healthz")).header("x-request-id", "trace-42.a").send().await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-42.a");
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    let made = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&made).is_ok());
}

#[tokio::test]
async fn pages_follow_cursors_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for i in 0..6 {
        app.create_user(&admin, &format!("p{i}@test.crm"), "manager", None).await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/users?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let page = app.get(&path, &admin).await;
        assert_eq!(page.status, 200, "{}", page.text);
        pages += 1;
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        // A user added mid-way shows up at the end, never shifting what was read.
        if pages == 1 {
            app.create_user(&admin, "late@test.crm", "manager", None).await;
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/users?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8, "admin + 6 + late");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len());
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn updated_since_returns_only_later_changes() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_user(&admin, "old@test.crm", "manager", None).await;
    app.advance(chrono::Duration::hours(1));
    use crm_app::Clock;
    let mark = app.clock.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let admin = app.admin_token().await;
    let fresh = app.create_user(&admin, "new@test.crm", "manager", None).await;
    let r = app.get(&format!("/api/v1/users?updated_since={mark}"), &admin).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ids: Vec<_> = r.body["items"].as_array().unwrap().iter().map(|u| u["id"].clone()).collect();
    assert_eq!(ids, vec![fresh["id"].clone()]);
}

#[tokio::test]
async fn etags_guard_against_lost_updates() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let dept = app.post("/api/v1/departments", Some(&admin), &json!({"name": "Sales"})).await;
    assert_eq!(dept.header("etag"), Some("\"1\""));
    let path = format!("/api/v1/departments/{}", dept.body["id"].as_str().unwrap());

    let read = app.get(&path, &admin).await;
    assert_eq!(read.header("etag"), Some("\"1\""));
    let cached =
        app.request(Method::GET, &path, Some(&admin)).header("if-none-match", "\"1\"").send().await.unwrap();
    assert_eq!(cached.status(), 304);

    let first = app
        .request(Method::PATCH, &path, Some(&admin))
        .header("if-match", "\"1\"")
        .json(&json!({"name": "Sales East"}))
        .send()
        .await
        .unwrap();
    let first = Reply::read(first).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.header("etag"), Some("\"2\""));

    // A second writer still holding version 1 is refused and changes nothing.
    let stale = Reply::read(
        app.request(Method::PATCH, &path, Some(&admin))
            .header("if-match", "\"1\"")
            .json(&json!({"name": "Sales West"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    stale.problem(412);
    let now = app.get(&path, &admin).await;
    assert_eq!(now.body["name"], "Sales East");
    assert_eq!(now.body["version"], 2);
    let refetch =
        app.request(Method::GET, &path, Some(&admin)).header("if-none-match", "\"1\"").send().await.unwrap();
    assert_eq!(refetch.status(), 200, "an old ETag no longer matches");

    let weak = Reply::read(
        app.request(Method::PATCH, &path, Some(&admin))
            .header("if-match", "W/\"2\"")
            .json(&json!({"name": "X"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    weak.problem(412);
    let any = app
        .request(Method::PATCH, &path, Some(&admin))
        .header("if-match", "*")
        .json(&json!({"name": "Sales"}))
        .send()
        .await
        .unwrap();
    assert_eq!(any.status(), 200);
}

fn request_hash(method: &str, uri: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method);
    h.update([0]);
    h.update(uri);
    h.update([0]);
    h.update(body);
    hex::encode(h.finalize())
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_response() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = json!({"email": "once@test.crm", "name": "Once", "role": "manager", "password": PASSWORD});
    let send = |key: &'static str, body: serde_json::Value| {
        let req = app
            .request(Method::POST, "/api/v1/users", Some(&admin))
            .header("idempotency-key", key)
            .json(&body);
        async move { Reply::read(req.send().await.unwrap()).await }
    };
    let first = send("create-once-1", body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert!(first.header("idempotent-replayed").is_none());

    let retry = send("create-once-1", body.clone()).await;
    assert_eq!(retry.status, 201, "the retry gets the first answer, not a 409");
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.header("location"), first.header("location"));
    assert_eq!(retry.header("etag"), first.header("etag"));
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    let users = app.get("/api/v1/users?role=manager", &admin).await;
    assert_eq!(users.body["items"].as_array().unwrap().len(), 1, "created once");

    let mut other = body.clone();
    other["name"] = json!("Twice");
    let mismatch = send("create-once-1", other).await;
    mismatch.problem(422);

    // After the retention period the key is free again.
    app.advance(chrono::Duration::hours(25));
    let admin = app.admin_token().await;
    let mut later = body.clone();
    later["email"] = json!("later@test.crm");
    let reused = Reply::read(
        app.request(Method::POST, "/api/v1/users", Some(&admin))
            .header("idempotency-key", "create-once-1")
            .json(&later)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reused.status, 201, "{}", reused.text);
    assert!(reused.header("idempotent-replayed").is_none());
}

#[tokio::test]
async fn a_retry_while_the_first_request_runs_is_409() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let me = app.get("/api/v1/me", &admin).await;
    let body = json!({"name": "Sales"});
    let bytes = serde_json::to_vec(&body).unwrap();
    // The first request is mid-flight: its key is recorded but not completed.
    let scope = format!("user:{}", me.body["id"].as_str().unwrap());
    let hash = request_hash("POST", "/api/v1/departments", &bytes);
    let begun = crm_app::platform::idempotency::begin(&app.app, &scope, "dept-1", &hash).unwrap();
    assert!(matches!(begun, crm_app::platform::idempotency::Begin::Proceed(_)));

    let r = Reply::read(
        app.request(Method::POST, "/api/v1/departments", Some(&admin))
            .header("idempotency-key", "dept-1")
            .header("content-type", "application/json")
            .body(bytes.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.problem(409);
    assert_eq!(app.get("/api/v1/departments", &admin).await.body["items"], json!([]));

    // A first attempt that died long ago no longer blocks the retry.
    app.advance(chrono::Duration::minutes(2));
    let admin = app.admin_token().await;
    let r = Reply::read(
        app.request(Method::POST, "/api/v1/departments", Some(&admin))
            .header("idempotency-key", "dept-1")
            .header("content-type", "application/json")
            .body(bytes)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn an_exhausted_pool_answers_503_not_a_hang() {
    let app = spawn_app_with(&[("CRM_DB_POOL_SIZE", "1"), ("CRM_DB_POOL_TIMEOUT", "1")]).await;
    let admin = app.admin_token().await;
    let held = app.app.pool().get().unwrap();
    let r = app.get("/api/v1/users", &admin).await;
    let p = r.problem(503);
    assert!(!p["detail"].as_str().unwrap().to_lowercase().contains("r2d2"));
    assert!(r.header("retry-after").is_some());
    drop(held);
    assert_eq!(app.get("/api/v1/users", &admin).await.status, 200);
}
