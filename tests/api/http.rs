//! HTTP as browsers and integrators expect it: CORS for configured origins,
//! per-caller rate limits with their headers, 405 with `Allow`, 415 for
//! bodies that are not `application/json`, 400 for unknown query parameters
//! and for unknown values of closed filters, 414 and 431 as problems.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

const SPA: &str = "https://crm.example.com";

#[tokio::test]
async fn a_configured_origin_gets_cors_answers_and_others_get_none() {
    let app = spawn_app_with(&[("CRM_CORS_ORIGINS", "https://crm.example.com")]).await;
    let admin = app.admin_token().await;

    let preflight = Reply::read(
        app.request(Method::OPTIONS, "/api/v1/clients", None)
            .header("origin", SPA)
            .header("access-control-request-method", "PATCH")
            .header("access-control-request-headers", "authorization, if-match, content-type")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(preflight.status.is_success(), "{}: {}", preflight.status, preflight.text);
    assert_eq!(preflight.header("access-control-allow-origin"), Some(SPA));
    assert_eq!(preflight.header("access-control-allow-credentials"), Some("true"));
    let methods = preflight.header("access-control-allow-methods").unwrap().to_ascii_uppercase();
    assert!(methods.contains("PATCH"), "{methods}");
    let headers = preflight.header("access-control-allow-headers").unwrap().to_ascii_lowercase();
    assert!(headers.contains("if-match") && headers.contains("authorization"), "{headers}");

    let read = Reply::read(
        app.request(Method::GET, "/api/v1/me", Some(&admin)).header("origin", SPA).send().await.unwrap(),
    )
    .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.header("access-control-allow-origin"), Some(SPA));
    let exposed = read.header("access-control-expose-headers").unwrap().to_ascii_lowercase();
    for h in [
        "etag",
        "location",
        "x-request-id",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "retry-after",
    ] {
        assert!(exposed.contains(h), "{h} is not exposed: {exposed}");
    }

    // Another site: no CORS answer, so the browser keeps the reply from it.
    let other = Reply::read(
        app.request(Method::OPTIONS, "/api/v1/clients", None)
            .header("origin", "https://evil.example")
            .header("access-control-request-method", "GET")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(other.header("access-control-allow-origin"), None);

    // Without CRM_CORS_ORIGINS nobody gets a CORS header.
    let closed = spawn_app().await;
    let token = closed.admin_token().await;
    let read = Reply::read(
        closed.request(Method::GET, "/api/v1/me", Some(&token)).header("origin", SPA).send().await.unwrap(),
    )
    .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn each_caller_has_its_own_budget_and_past_it_gets_429_with_retry_after() {
    let app = spawn_app_with(&[("CRM_RATE_LIMIT", "5/h")]).await;
    // Signing in spends the address's budget, not the user's.
    let admin = app.admin_token().await;
    let mut remaining = Vec::new();
    for _ in 0..5 {
        let r = app.get("/api/v1/me", &admin).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("ratelimit-limit"), Some("5"));
        remaining.push(r.header("ratelimit-remaining").unwrap().parse::<u32>().unwrap());
    }
    assert_eq!(remaining, [4, 3, 2, 1, 0]);
    let over = app.get("/api/v1/me", &admin).await;
    over.problem(429);
    assert_eq!(over.body["type"], "urn:crm:problem:rate_limited");
    assert_eq!(over.header("ratelimit-remaining"), Some("0"));
    // One request's worth comes back after an hour / 5 = 720 s.
    let retry: u64 = over.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=720).contains(&retry), "{retry}");
    let reset: u64 = over.header("ratelimit-reset").unwrap().parse().unwrap();
    assert!(reset >= retry && reset <= 3600, "{reset}");

    // The address has its own budget: the first sign-in spent one of its 5.
    let login = app
        .post("/api/v1/auth/login", None, &json!({"email": ADMIN_EMAIL, "password": "wrong-password"}))
        .await;
    assert_eq!(login.status, 401, "{}", login.text);
    assert_eq!(login.header("ratelimit-remaining"), Some("3"));

    // Time refills it, on the server's clock.
    app.advance(chrono::Duration::seconds(i64::try_from(retry).unwrap()));
    assert_eq!(app.get("/api/v1/me", &admin).await.status, 200);
    app.get("/api/v1/me", &admin).await.problem(429);
    // Probes are not the API's budget.
    for _ in 0..10 {
        let r = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers().get("ratelimit-limit").is_none());
    }
}

#[tokio::test]
async fn keys_and_signed_out_tokens_spend_their_own_budgets_and_are_still_checked_in_full() {
    let app = spawn_app_with(&[("CRM_RATE_LIMIT", "5/h")]).await;
    let admin = app.admin_token().await;
    let key =
        app.post("/api/v1/api-keys", Some(&admin), &json!({"name": "PBX", "scopes": ["users:read"]})).await;
    assert_eq!(key.status, 201, "{}", key.text);
    let secret = key.body["secret"].as_str().unwrap().to_owned();

    // The first request looks the key up; the next are charged to it by the
    // secret's digest, without a lookup, and still checked in full.
    for left in ["4", "3", "2"] {
        let r = app.get("/api/v1/users", &secret).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("ratelimit-remaining"), Some(left));
    }
    let path = format!("/api/v1/api-keys/{}", key.body["id"].as_str().unwrap());
    assert_eq!(app.request(Method::DELETE, &path, Some(&admin)).send().await.unwrap().status(), 204);
    let revoked = app.get("/api/v1/users", &secret).await;
    revoked.problem(401);
    assert_eq!(revoked.header("ratelimit-remaining"), Some("1"), "the revoked key's own budget");

    // A key that was never issued spends the address's budget (the sign-in spent one).
    let never = app.get("/api/v1/users", "crm_abcdefabcdef_never-issued").await;
    never.problem(401);
    assert_eq!(never.header("ratelimit-remaining"), Some("3"));

    // A signed-out token still names its user: their budget, and a 401.
    app.create_user(&admin, "leaver@test.crm", "manager", None).await;
    let login = app.login("leaver@test.crm", PASSWORD).await;
    assert_eq!(login.header("ratelimit-remaining"), Some("2"), "the address's");
    let access = login.body["access_token"].as_str().unwrap().to_owned();
    let out = app.request(Method::POST, "/api/v1/auth/logout", Some(&access)).send().await.unwrap();
    assert_eq!(out.status(), 204);
    let after = app.get("/api/v1/me", &access).await;
    after.problem(401);
    assert_eq!(after.header("ratelimit-remaining"), Some("3"), "the user's budget, not the address's");
    let me = app.get("/api/v1/me", &app.admin_token().await).await;
    assert_eq!(me.status, 200, "{}", me.text);
}

#[tokio::test]
async fn an_overlong_uri_is_414_and_oversized_headers_431_as_problems_that_change_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let before = app.get("/api/v1/departments", &admin).await.body["items"].as_array().unwrap().len();

    // Just inside the limit the request is read (and its unknown parameter named).
    let path = "/api/v1/departments?x=";
    let fits = app.get(&format!("{path}{}", "a".repeat(8 * 1024 - path.len() - 1)), &admin).await;
    assert_eq!(fits.problem(400)["errors"][0]["code"], "unknown_parameter");
    let long = format!("/api/v1/departments?name={}", "a".repeat(8 * 1024));
    let r = Reply::read(
        app.request(Method::POST, &long, Some(&admin)).json(&json!({"name": "Sales"})).send().await.unwrap(),
    )
    .await;
    assert_eq!(r.problem(414)["type"], "urn:crm:problem:uri_too_long");
    assert!(r.body["detail"].as_str().unwrap().contains("8192"), "{}", r.text);

    let mut req =
        app.request(Method::POST, "/api/v1/departments", Some(&admin)).json(&json!({"name": "Sales"}));
    for i in 0..5 {
        req = req.header(format!("x-note-{i}"), "n".repeat(7 * 1024));
    }
    let r = Reply::read(req.send().await.unwrap()).await;
    assert_eq!(r.problem(431)["type"], "urn:crm:problem:headers_too_large");
    let after = app.get("/api/v1/departments", &admin).await.body["items"].as_array().unwrap().len();
    assert_eq!(after, before, "neither request created anything");
}

#[tokio::test]
async fn a_method_a_path_does_not_have_is_405_naming_those_it_has() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let put_me =
        Reply::read(app.request(Method::PUT, "/api/v1/me", Some(&admin)).send().await.unwrap()).await;
    put_me.problem(405);
    assert_eq!(put_me.header("allow"), Some("GET"));
    let trace = Reply::read(app.request(Method::TRACE, "/healthz", None).send().await.unwrap()).await;
    trace.problem(405);
    let delete =
        Reply::read(app.request(Method::DELETE, "/api/v1/clients", Some(&admin)).send().await.unwrap()).await;
    delete.problem(405);
    let allow = delete.header("allow").unwrap();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    // A path that is not there at all stays 404.
    app.get("/api/v1/nothing-here", &admin).await.problem(404);
}

#[tokio::test]
async fn json_bodies_must_be_application_json() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = serde_json::to_vec(&json!({"name": "ООО «Ромашка»", "kind": "company"})).unwrap();
    for ct in ["text/json", "application/merge-patch+json", "text/plain", "application/x-www-form-urlencoded"]
    {
        let r = Reply::read(
            app.request(Method::POST, "/api/v1/clients", Some(&admin))
                .header("content-type", ct)
                .body(body.clone())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.problem(415)["type"], "urn:crm:problem:unsupported_media_type", "{ct}");
    }
    let list = app.get("/api/v1/clients", &admin).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 0, "nothing was created");
    let ok = Reply::read(
        app.request(Method::POST, "/api/v1/clients", Some(&admin))
            .header("content-type", "application/json; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
}

#[tokio::test]
async fn unknown_query_parameters_and_filter_values_are_400_naming_them() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let r = app.get("/api/v1/notifications?updated_since=garbage", &admin).await;
    assert_eq!(r.error_fields(), ["updated_since"]);
    assert_eq!(r.body["errors"][0]["code"], "unknown_parameter");
    let r = app.get("/api/v1/clients?limit=5&colour=red&size=xl", &admin).await;
    assert_eq!(r.error_fields(), ["colour", "size"]);
    let r = app.get("/api/v1/me?verbose=1", &admin).await;
    assert_eq!(r.error_fields(), ["verbose"]);
    // Closed filters take only their enum's values.
    for path in [
        "/api/v1/clients?status=nonsense",
        "/api/v1/clients?kind=compnay",
        "/api/v1/leads?channel=fax",
        "/api/v1/orders?status=paid",
        "/api/v1/tasks?status=later",
        "/api/v1/interests?state=maybe",
        "/api/v1/channels?kind=pigeon",
    ] {
        app.get(path, &admin).await.problem(400);
    }
    // The declared ones still work.
    assert_eq!(app.get("/api/v1/clients?status=active&kind=company&limit=5", &admin).await.status, 200);
    assert_eq!(app.get("/api/v1/tasks?status=all", &admin).await.status, 200);
    assert_eq!(app.get("/api/v1/interests?state=open", &admin).await.status, 200);
}
