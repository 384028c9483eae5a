//! Sign-in, tokens and the tokens' failure modes.

use base64::Engine;
use chrono::Duration;
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn the_admin_sets_up_a_department_and_its_manager_reads_their_profile() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;

    let dept = app.post("/api/v1/departments", Some(&admin), &json!({"name": "Отдел продаж"})).await;
    assert_eq!(dept.status, 201, "{}", dept.text);
    let dept_id = dept.body["id"].as_str().unwrap().to_owned();
    assert_eq!(dept.header("location"), Some(format!("/api/v1/departments/{dept_id}").as_str()));

    let head = app.create_user(&admin, "head@test.crm", "head", Some(&dept_id)).await;
    let set_head =
        app.patch(&format!("/api/v1/departments/{dept_id}"), &admin, &json!({"head_id": head["id"]})).await;
    assert_eq!(set_head.status, 200, "{}", set_head.text);
    assert_eq!(set_head.body["head_id"], head["id"]);
    assert_eq!(set_head.body["version"], 2);

    let manager = app.create_user(&admin, "Manager@Test.CRM", "manager", Some(&dept_id)).await;
    assert_eq!(manager["email"], "manager@test.crm", "e-mails are stored lower-cased");

    let token = app.token("manager@test.crm", PASSWORD).await;
    let me = app.get("/api/v1/me", &token).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["id"], manager["id"]);
    assert_eq!(me.body["role"], "manager");
    assert_eq!(me.body["department_id"], dept_id.as_str());
    assert_eq!(me.body["time_zone"], "Europe/Moscow");
    assert!(me.body.get("password_hash").is_none());

    let before = app.user_count(&admin).await;
    let refused = app
        .post(
            "/api/v1/users",
            Some(&token),
            &json!({"email": "new@test.crm", "name": "New", "role": "manager", "password": PASSWORD}),
        )
        .await;
    refused.problem(403);
    assert_eq!(app.user_count(&admin).await, before, "a refused create changes nothing");
}

#[tokio::test]
async fn wrong_passwords_and_unknown_accounts_get_the_same_401() {
    let app = spawn_app().await;
    let wrong = app.login(ADMIN_EMAIL, "not-the-password").await;
    let unknown = app.login("nobody@test.crm", "not-the-password").await;
    assert_eq!(wrong.problem(401)["detail"], unknown.problem(401)["detail"]);
    assert!(wrong.body.get("access_token").is_none());
}

#[tokio::test]
async fn repeated_failures_throttle_the_account_until_the_window_passes() {
    let app = spawn_app().await;
    for _ in 0..5 {
        app.login(ADMIN_EMAIL, "wrong-password").await.problem(401);
    }
    // Even the right password waits now: the limit protects the account.
    let limited = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    limited.problem(429);
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&retry), "Retry-After {retry}");

    app.advance(Duration::minutes(16));
    app.token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn a_successful_sign_in_forgets_the_accounts_earlier_failures() {
    let app = spawn_app().await;
    for _ in 0..4 {
        app.login(ADMIN_EMAIL, "wrong-password").await.problem(401);
    }
    app.token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    for _ in 0..4 {
        app.login(ADMIN_EMAIL, "wrong-password").await.problem(401);
    }
    app.token(ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn many_failures_from_one_address_throttle_that_address() {
    let app = spawn_app().await;
    for i in 0..20 {
        app.login(&format!("guess{i}@test.crm"), "wrong-password").await.problem(401);
    }
    app.login("another@test.crm", "wrong-password").await.problem(429);
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.problem(429);
}

#[tokio::test]
async fn a_refresh_token_works_once_and_its_reuse_signs_the_session_out() {
    let app = spawn_app().await;
    let first = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let refresh1 = first.body["refresh_token"].as_str().unwrap().to_owned();

    let second = app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": refresh1})).await;
    assert_eq!(second.status, 200, "{}", second.text);
    let refresh2 = second.body["refresh_token"].as_str().unwrap().to_owned();
    let access2 = second.body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh1, refresh2);
    assert_eq!(app.get("/api/v1/me", &access2).await.status, 200);

    // The spent token again: treated as stolen, the whole session ends.
    app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": refresh1})).await.problem(401);
    app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": refresh2})).await.problem(401);
    app.get("/api/v1/me", &access2).await.problem(401);
}

#[tokio::test]
async fn refresh_tokens_expire() {
    let app = spawn_app_with(&[("CRM_REFRESH_TOKEN_TTL", "1d")]).await;
    let login = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    app.advance(Duration::days(1) + Duration::seconds(1));
    app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": login.body["refresh_token"]}))
        .await
        .problem(401);
}

#[tokio::test]
async fn logout_ends_the_session_for_access_and_refresh_tokens() {
    let app = spawn_app().await;
    let login = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let access = login.body["access_token"].as_str().unwrap().to_owned();
    let other_session = app.admin_token().await;

    let out = app.request(Method::POST, "/api/v1/auth/logout", Some(&access)).send().await.unwrap();
    assert_eq!(out.status(), 204);
    app.get("/api/v1/me", &access).await.problem(401);
    app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": login.body["refresh_token"]}))
        .await
        .problem(401);
    assert_eq!(app.get("/api/v1/me", &other_session).await.status, 200, "other sessions stay");

    let typo = app
        .request(Method::POST, "/api/v1/auth/logout", Some(&other_session))
        .json(&json!({"all_sesions": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(Reply::read(typo).await.problem(400)["errors"][0]["field"], "all_sesions");
    assert_eq!(
        app.get("/api/v1/me", &other_session).await.status,
        200,
        "a refused sign-out signs nothing out"
    );

    let everywhere = app
        .request(Method::POST, "/api/v1/auth/logout", Some(&other_session))
        .json(&json!({"all_sessions": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(everywhere.status(), 204);
    app.get("/api/v1/me", &other_session).await.problem(401);
}

#[tokio::test]
async fn a_deactivated_users_tokens_stop_working_at_once() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let user = app.create_user(&admin, "leaver@test.crm", "manager", None).await;
    let login = app.login("leaver@test.crm", PASSWORD).await;
    let token = login.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/me", &token).await.status, 200);

    let off = app
        .patch(&format!("/api/v1/users/{}", user["id"].as_str().unwrap()), &admin, &json!({"active": false}))
        .await;
    assert_eq!(off.status, 200, "{}", off.text);
    app.get("/api/v1/me", &token).await.problem(401);
    app.post("/api/v1/auth/refresh", None, &json!({"refresh_token": login.body["refresh_token"]}))
        .await
        .problem(401);
    app.login("leaver@test.crm", PASSWORD).await.problem(401);
}

#[tokio::test]
async fn access_tokens_expire_by_the_servers_clock() {
    let app = spawn_app_with(&[("CRM_ACCESS_TOKEN_TTL", "15m")]).await;
    let login = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(login.body["expires_in"], 900);
    let token = login.body["access_token"].as_str().unwrap().to_owned();
    app.advance(Duration::minutes(14));
    assert_eq!(app.get("/api/v1/me", &token).await.status, 200);
    app.advance(Duration::minutes(2));
    let expired = app.get("/api/v1/me", &token).await;
    assert!(expired.problem(401)["detail"].as_str().unwrap().contains("expired"));
    assert!(expired.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")));
}

fn b64(value: &serde_json::Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

fn claims_for(user: &str, session: &str, now: i64) -> serde_json::Value {
    json!({"sub": user, "sid": session, "iss": "crm", "aud": "crm-api", "iat": now, "exp": now + 600})
}

fn sign(claims: &serde_json::Value, secret: &[u8], alg: jsonwebtoken::Algorithm) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

#[tokio::test]
async fn forged_tokens_are_refused() {
    let app = spawn_app().await;
    let login = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let real = login.body["access_token"].as_str().unwrap();
    let payload: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(real.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    let (user, session) = (payload["sub"].as_str().unwrap(), payload["sid"].as_str().unwrap());
    let now = app.clock.now_ts();
    let good = claims_for(user, session, now);

    // Control: the same claims signed with our secret are accepted.
    let ours = sign(&good, JWT_SECRET.as_bytes(), jsonwebtoken::Algorithm::HS256);
    assert_eq!(app.get("/api/v1/me", &ours).await.status, 200);

    let other_key = sign(&good, b"another-secret-another-secret-another", jsonwebtoken::Algorithm::HS256);
    let other_alg = sign(&good, JWT_SECRET.as_bytes(), jsonwebtoken::Algorithm::HS512);
    let alg_none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&good));
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("someone-else");
    let mut wrong_iss = good.clone();
    wrong_iss["iss"] = json!("evil");
    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut future = good.clone();
    future["iat"] = json!(now + 3600);
    future["exp"] = json!(now + 7200);
    let mut stranger = good.clone();
    stranger["sub"] = json!(uuid::Uuid::now_v7().to_string());

    for (what, token) in [
        ("another key", other_key),
        ("HS512", other_alg),
        ("alg none", alg_none),
        ("wrong audience", sign(&wrong_aud, JWT_SECRET.as_bytes(), jsonwebtoken::Algorithm::HS256)),
        ("wrong issuer", sign(&wrong_iss, JWT_SECRET.as_bytes(), jsonwebtoken::Algorithm::HS256)),
        ("no exp", sign(&no_exp, JWT_SECRET.as_bytes(), jsonwebtoken::Algorithm::HS256)),
        ("issued in the future", sign(&future, JWT_SECRET.as_bytes(), jsonwebtoken::Algorithm::HS256)),
        ("unknown user", sign(&stranger, JWT_SECRET.as_bytes(), jsonwebtoken::Algorithm::HS256)),
        ("garbage", "not.a.token".to_owned()),
    ] {
        let r = app.get("/api/v1/me", &token).await;
        assert_eq!(r.status, 401, "{what} was not refused: {}", r.text);
        r.problem(401);
    }
}

#[tokio::test]
async fn missing_or_malformed_credentials_are_401() {
    let app = spawn_app().await;
    let none = crate::helpers::Reply::read(app.client.get(app.url("/api/v1/me")).send().await.unwrap()).await;
    none.problem(401);
    assert!(none.header("www-authenticate").is_some());
    for header in ["Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer    ", "token-without-scheme"] {
        let r = crate::helpers::Reply::read(
            app.client.get(app.url("/api/v1/users")).header("authorization", header).send().await.unwrap(),
        )
        .await;
        r.problem(401);
    }
}

#[tokio::test]
async fn people_change_their_own_password_with_the_current_one() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let user = app.create_user(&admin, "ivan@test.crm", "manager", None).await;
    let path = format!("/api/v1/users/{}", user["id"].as_str().unwrap());
    let token = app.token("ivan@test.crm", PASSWORD).await;
    let elsewhere = app.token("ivan@test.crm", PASSWORD).await;

    let missing = app.patch(&path, &token, &json!({"password": "brand-new-password"})).await;
    assert_eq!(missing.problem(422)["errors"][0]["field"], "current_password");
    let wrong = app
        .patch(
            &path,
            &token,
            &json!({"password": "brand-new-password", "current_password": "nope-nope-nope"}),
        )
        .await;
    wrong.problem(422);
    let ok = app
        .patch(&path, &token, &json!({"password": "brand-new-password", "current_password": PASSWORD}))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);

    app.login("ivan@test.crm", PASSWORD).await.problem(401);
    app.token("ivan@test.crm", "brand-new-password").await;
    assert_eq!(app.get("/api/v1/me", &token).await.status, 200, "the session that changed it stays");
    app.get("/api/v1/me", &elsewhere).await.problem(401);
}

trait NowTs {
    fn now_ts(&self) -> i64;
}

impl NowTs for std::sync::Arc<crm_app::ManualClock> {
    fn now_ts(&self) -> i64 {
        use crm_app::Clock;
        self.now().timestamp()
    }
}
