//! Health, readiness, metrics, the API reference page and the spec.

use crate::helpers::*;

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let h = Reply::read(app.client.get(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(h.status, 200);
    assert_eq!(h.body["status"], "ok");
    let r = Reply::read(app.client.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["migrated"], true);
    assert_eq!(r.body["database"], if app.db.is_postgres() { "postgres" } else { "sqlite" });
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_show_the_pool() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.get("/api/v1/users", &admin).await;
    app.get(&format!("/api/v1/users/{}", uuid::Uuid::now_v7()), &admin).await;
    let m = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert!(m.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = m.text().await.unwrap();
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/api/v1/users",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/api/v1/users/{id}",status="404"} 1"#),
        "{text}"
    );
    assert!(text.contains("http_request_duration_seconds_bucket"));
    assert!(text.contains("db_pool_max_size 4"), "{text}");
    assert!(text.contains("db_pool_connections"));
}

#[tokio::test]
async fn the_reference_page_renders_from_assets_inside_the_binary() {
    let app = spawn_app().await;
    let redirect = app.client.get(app.url("/docs")).send().await.unwrap();
    assert!(redirect.status().is_redirection());
    let page = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    // Every script and stylesheet is served by us: nothing is fetched from elsewhere.
    let mut assets = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let url = part.split('"').next().unwrap();
            assert!(!url.starts_with("http") && !url.starts_with("//"), "external asset {url}");
            assets.push(url.trim_start_matches("./").to_owned());
        }
    }
    assert!(assets.iter().any(|a| a.ends_with(".js")));
    for asset in assets {
        let r = app.client.get(app.url(&format!("/docs/{asset}"))).send().await.unwrap();
        assert_eq!(r.status(), 200, "/docs/{asset}");
        let body = r.bytes().await.unwrap();
        assert!(!body.is_empty(), "/docs/{asset} is empty");
    }
    let init =
        app.client.get(app.url("/docs/swagger-initializer.js")).send().await.unwrap().text().await.unwrap();
    assert!(init.contains("/api-docs/openapi.json"), "{init}");
}

#[tokio::test]
async fn the_committed_spec_is_what_the_server_serves() {
    let generated = crm_api::openapi::spec_json().unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date; regenerate it with \
         `cargo run -p crm-api --bin crm-server -- openapi > openapi/openapi.json` \
         (or UPDATE_OPENAPI=1 cargo test --test api the_committed_spec)"
    );
    let app = spawn_app().await;
    let served: serde_json::Value =
        app.client.get(app.url("/api-docs/openapi.json")).send().await.unwrap().json().await.unwrap();
    let committed: serde_json::Value = serde_json::from_str(&committed).unwrap();
    assert_eq!(served, committed);
}

#[tokio::test]
async fn every_operation_is_documented_with_its_errors_and_security() {
    let spec: serde_json::Value = serde_json::from_str(&crm_api::openapi::spec_json().unwrap()).unwrap();
    let public = [
        "login",
        "refreshToken",
        "healthz",
        "readyz",
        "metrics",
        "intakeTelegram",
        "intakeVk",
        "intakeForm",
        "getCalendarFeed",
    ];
    let mut ids = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id =
                op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            ids.push(id.to_owned());
            assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{id} has no summary");
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.keys().any(|s| s.starts_with('2')), "{id} has no success response");
            assert!(responses.contains_key("500"), "{id} does not document 500");
            if public.contains(&id) {
                continue;
            }
            assert!(op["security"].as_array().is_some_and(|s| !s.is_empty()), "{id} declares no security");
            assert!(op["x-roles"].as_array().is_some_and(|r| !r.is_empty()), "{id} declares no roles");
            assert!(responses.contains_key("401") && responses.contains_key("403"), "{id} lacks 401/403");
            if method == "post" {
                let params = op["parameters"].as_array().unwrap();
                assert!(params.iter().any(|p| p["name"] == "Idempotency-Key"), "{id} lacks Idempotency-Key");
            }
        }
    }
    let links = &spec["paths"]["/api/v1/users"]["post"]["responses"]["201"]["links"]["getUser"];
    assert_eq!(links["operationId"], "getUser");
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "operationIds repeat");
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
}
