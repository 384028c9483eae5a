//! The spec's request examples are bodies the server accepts: each is read
//! from the served spec and sent, on a sale built along the way, as a
//! front-end developer copying it from the reference would send it.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// The example of an operation's JSON body, from the served spec.
fn example(spec: &Value, operation_id: &str) -> Value {
    for item in spec["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            if op["operationId"] != operation_id {
                continue;
            }
            let content = &op["requestBody"]["content"]["application/json"];
            if let Some(e) = content.get("example") {
                return e.clone();
            }
            let name = content["schema"]["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
            return spec["components"]["schemas"][name]["example"].clone();
        }
    }
    panic!("no operation {operation_id}");
}

/// Sends the example (with `fields` put over it: ids of this run) and expects `status`.
async fn send(
    app: &TestApp,
    spec: &Value,
    token: &str,
    op: &str,
    method: Method,
    path: &str,
    fields: Value,
) -> Value {
    let mut body = example(spec, op);
    assert!(body.is_object(), "{op} has no example");
    for (k, v) in fields.as_object().unwrap() {
        body[k] = v.clone();
    }
    let mut req = app.request(method, path, Some(token)).json(&body);
    let current = app.get(path, token).await;
    if let Some(tag) = current.header("etag") {
        req = req.header("if-match", tag);
    }
    let reply = Reply::read(req.send().await.unwrap()).await;
    assert!(reply.status.is_success(), "{op}: its example {body} answered {}: {}", reply.status, reply.text);
    reply.body
}

#[tokio::test]
async fn the_request_examples_of_the_spec_are_accepted() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let spec = app.get("/api-docs/openapi.json", &admin).await.body;

    // Sign-in as the reference shows it (with this run's admin).
    let login = example(&spec, "login");
    assert_eq!(login["email"], "admin@example.com");

    let department =
        send(&app, &spec, &admin, "createDepartment", Method::POST, "/api/v1/departments", json!({})).await;
    let user = send(
        &app,
        &spec,
        &admin,
        "createUser",
        Method::POST,
        "/api/v1/users",
        json!({"department_id": department["id"]}),
    )
    .await;
    let manager = app.token("ivan.petrov@example.ru", "correct horse battery staple").await;
    let uid = user["id"].as_str().unwrap();
    send(&app, &spec, &admin, "updateUser", Method::PATCH, &format!("/api/v1/users/{uid}"), json!({})).await;

    let client =
        send(&app, &spec, &manager, "createClient", Method::POST, "/api/v1/clients", json!({})).await;
    let cid = client["id"].as_str().unwrap();
    send(&app, &spec, &manager, "updateClient", Method::PATCH, &format!("/api/v1/clients/{cid}"), json!({}))
        .await;
    let contact = send(
        &app,
        &spec,
        &manager,
        "createClientContact",
        Method::POST,
        &format!("/api/v1/clients/{cid}/contacts"),
        json!({}),
    )
    .await;
    let kid = contact["id"].as_str().unwrap();
    send(
        &app,
        &spec,
        &manager,
        "updateContact",
        Method::PATCH,
        &format!("/api/v1/contacts/{kid}"),
        json!({}),
    )
    .await;
    send(&app, &spec, &manager, "searchDuplicates", Method::POST, "/api/v1/duplicates/search", json!({}))
        .await;

    let product =
        send(&app, &spec, &admin, "createProduct", Method::POST, "/api/v1/products", json!({})).await;
    let pid = product["id"].as_str().unwrap();
    send(&app, &spec, &admin, "updateProduct", Method::PATCH, &format!("/api/v1/products/{pid}"), json!({}))
        .await;
    send(&app, &spec, &admin, "createLossReason", Method::POST, "/api/v1/loss-reasons", json!({})).await;
    send(&app, &spec, &admin, "createApiKey", Method::POST, "/api/v1/api-keys", json!({})).await;
    send(&app, &spec, &admin, "createForm", Method::POST, "/api/v1/forms", json!({})).await;
    send(&app, &spec, &admin, "createScenario", Method::POST, "/api/v1/scenarios", json!({})).await;

    let interest = send(
        &app,
        &spec,
        &manager,
        "createInterest",
        Method::POST,
        "/api/v1/interests",
        json!({"client_id": cid}),
    )
    .await;
    let iid = interest["id"].as_str().unwrap();
    send(
        &app,
        &spec,
        &manager,
        "updateInterest",
        Method::PATCH,
        &format!("/api/v1/interests/{iid}"),
        json!({}),
    )
    .await;
    let interaction = send(
        &app,
        &spec,
        &manager,
        "createInteraction",
        Method::POST,
        &format!("/api/v1/interests/{iid}/interactions"),
        json!({}),
    )
    .await;
    let xid = interaction["id"].as_str().unwrap();
    send(
        &app,
        &spec,
        &manager,
        "updateInteraction",
        Method::PATCH,
        &format!("/api/v1/interactions/{xid}"),
        json!({}),
    )
    .await;
    send(
        &app,
        &spec,
        &manager,
        "completeInteraction",
        Method::POST,
        &format!("/api/v1/interactions/{xid}/complete"),
        json!({}),
    )
    .await;
    send(
        &app,
        &spec,
        &manager,
        "moveInterest",
        Method::POST,
        &format!("/api/v1/interests/{iid}/transitions"),
        json!({}),
    )
    .await;

    let task =
        send(&app, &spec, &manager, "createTask", Method::POST, "/api/v1/tasks", json!({"interest_id": iid}))
            .await;
    let tid = task["id"].as_str().unwrap();
    send(&app, &spec, &manager, "updateTask", Method::PATCH, &format!("/api/v1/tasks/{tid}"), json!({}))
        .await;
    send(
        &app,
        &spec,
        &manager,
        "completeTask",
        Method::POST,
        &format!("/api/v1/tasks/{tid}/complete"),
        json!({}),
    )
    .await;

    let quote = send(
        &app,
        &spec,
        &manager,
        "createQuote",
        Method::POST,
        &format!("/api/v1/interests/{iid}/quotes"),
        json!({}),
    )
    .await;
    let qid = quote["id"].as_str().unwrap();
    send(&app, &spec, &manager, "updateQuote", Method::PATCH, &format!("/api/v1/quotes/{qid}"), json!({}))
        .await;
    let order = send(
        &app,
        &spec,
        &manager,
        "createOrder",
        Method::POST,
        &format!("/api/v1/interests/{iid}/orders"),
        json!({}),
    )
    .await;
    let oid = order["id"].as_str().unwrap();
    send(&app, &spec, &manager, "updateOrder", Method::PATCH, &format!("/api/v1/orders/{oid}"), json!({}))
        .await;

    let lead = send(&app, &spec, &manager, "createLead", Method::POST, "/api/v1/leads", json!({})).await;
    assert!(lead["id"].is_string());
}
