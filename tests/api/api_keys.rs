//! API keys: scoped, shown once, revocable, expiring.

use chrono::Duration;
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

async fn make_key(app: &TestApp, admin: &str, body: serde_json::Value) -> serde_json::Value {
    let r = app.post("/api/v1/api-keys", Some(admin), &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

async fn with_key_header(app: &TestApp, method: Method, path: &str, key: &str) -> Reply {
    Reply::read(app.client.request(method, app.url(path)).header("x-api-key", key).send().await.unwrap())
        .await
}

#[tokio::test]
async fn a_key_acts_within_its_scopes_and_nowhere_else() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let key =
        make_key(&app, &admin, json!({"name": "ERP sync", "scopes": ["users:read", "orders:read"]})).await;
    let secret = key["secret"].as_str().unwrap();
    assert!(secret.starts_with(key["prefix"].as_str().unwrap()));
    assert_eq!(key["scopes"], json!(["users:read", "orders:read"]));
    assert_eq!(key["status"], "active");

    // Within scope, by either header.
    assert_eq!(app.get("/api/v1/users", secret).await.status, 200);
    assert_eq!(with_key_header(&app, Method::GET, "/api/v1/users", secret).await.status, 200);

    // Outside scope: a read it lacks, a write of any kind, user-only operations.
    app.get("/api/v1/departments", secret).await.problem(403);
    let create = app
        .post(
            "/api/v1/users",
            Some(secret),
            &json!({"email": "k@test.crm", "name": "K", "role": "manager", "password": PASSWORD}),
        )
        .await;
    create.problem(403);
    app.get("/api/v1/api-keys", secret).await.problem(403);
    app.get("/api/v1/me", secret).await.problem(403);

    // The secret is never shown again.
    let list = app.get("/api/v1/api-keys", &admin).await;
    assert_eq!(list.status, 200);
    assert!(!list.text.contains(secret));
    assert!(list.body["items"][0].get("secret").is_none());
}

#[tokio::test]
async fn a_revoked_key_gets_401() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let key = make_key(&app, &admin, json!({"name": "PBX", "scopes": ["users:read"]})).await;
    let secret = key["secret"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/users", secret).await.status, 200);

    let path = format!("/api/v1/api-keys/{}", key["id"].as_str().unwrap());
    let del = app.request(Method::DELETE, &path, Some(&admin)).send().await.unwrap();
    assert_eq!(del.status(), 204);
    app.get("/api/v1/users", secret).await.problem(401);
    with_key_header(&app, Method::GET, "/api/v1/users", secret).await.problem(401);
    let again = app.request(Method::DELETE, &path, Some(&admin)).send().await.unwrap();
    assert_eq!(again.status(), 204, "revoking twice is harmless");

    let list = app.get("/api/v1/api-keys", &admin).await;
    assert_eq!(list.body["items"][0]["status"], "revoked");
}

#[tokio::test]
async fn an_expired_key_gets_401() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let expires = app_now(&app) + Duration::hours(1);
    let key = make_key(
        &app,
        &admin,
        json!({"name": "Mail fetcher", "scopes": ["users:read"], "expires_at": expires}),
    )
    .await;
    let secret = key["secret"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/users", secret).await.status, 200);
    app.advance(Duration::hours(2));
    app.get("/api/v1/users", secret).await.problem(401);
    let admin = app.admin_token().await;
    assert_eq!(app.get("/api/v1/api-keys", &admin).await.body["items"][0]["status"], "expired");
}

#[tokio::test]
async fn a_tampered_or_unknown_key_gets_401() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let key = make_key(&app, &admin, json!({"name": "ERP", "scopes": ["users:read"]})).await;
    let secret = key["secret"].as_str().unwrap();
    let tampered = format!("{}x", &secret[..secret.len() - 1]);
    app.get("/api/v1/users", &tampered).await.problem(401);
    app.get("/api/v1/users", "crm_000000000000_nothing").await.problem(401);
    with_key_header(&app, Method::GET, "/api/v1/users", "not-a-key").await.problem(401);
}

#[tokio::test]
async fn only_admins_manage_keys_and_bad_requests_name_the_field() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_user(&admin, "m@test.crm", "manager", None).await;
    let manager = app.token("m@test.crm", PASSWORD).await;
    app.post("/api/v1/api-keys", Some(&manager), &json!({"name": "x", "scopes": ["users:read"]}))
        .await
        .problem(403);
    app.get("/api/v1/api-keys", &manager).await.problem(403);

    let bad = app
        .post(
            "/api/v1/api-keys",
            Some(&admin),
            &json!({"name": "x", "scopes": ["users:read", "orders:delete"]}),
        )
        .await;
    bad.problem(422);
    assert_eq!(bad.error_fields(), vec!["scopes[1]"]);
    let empty = app.post("/api/v1/api-keys", Some(&admin), &json!({"name": "x", "scopes": []})).await;
    assert_eq!(empty.problem(400)["errors"][0]["field"], "scopes");
    let past = app
        .post(
            "/api/v1/api-keys",
            Some(&admin),
            &json!({"name": "x", "scopes": ["users:read"], "expires_at": "2001-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(past.problem(422)["errors"][0]["field"], "expires_at");
    assert_eq!(app.get("/api/v1/api-keys", &admin).await.body["items"], json!([]), "nothing was written");
}

fn app_now(app: &TestApp) -> chrono::DateTime<chrono::Utc> {
    use crm_app::Clock;
    app.clock.now()
}
