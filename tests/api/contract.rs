//! What the spec promises a generated client about bodies and answers, as
//! schemathesis found the server breaking it: a body is an object, `null`
//! is "no body" where the body is optional, a whole number is an integer,
//! a union's tag is a word, shapes are 400 and rules are 422.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

async fn raw(app: &TestApp, method: Method, path: &str, token: &str, body: &str) -> Reply {
    Reply::read(
        app.request(method, path, Some(token))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn scenario(name: &str, on_entry: Value) -> Value {
    json!({"name": name, "definition": {"stages": [
        {"code": "request", "kind": "open", "name": "Request", "on_entry": on_entry},
        {"code": "won", "kind": "won", "name": "Won"},
        {"code": "lost", "guards": ["loss_reason_set"], "kind": "lost", "name": "Lost"}]}})
}

fn task(days: Value) -> Value {
    json!([{"action": "create_task", "title": "Call the client", "task_kind": "call",
        "due": {"days": days, "hours": 0}, "assignee": {"kind": "responsible"}}])
}

#[tokio::test]
async fn a_body_is_an_object_and_null_is_no_body_where_one_is_optional() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let dept = app.post("/api/v1/departments", Some(&admin), &json!({"name": "Sales"})).await.body;
    let path = format!("/api/v1/departments/{}", dept["id"].as_str().unwrap());

    // serde would read a struct from the array of its fields.
    let array = raw(&app, Method::PATCH, &path, &admin, "[null, null]").await;
    assert_eq!(array.problem(400)["errors"][0]["field"], "body");
    let after = app.get(&path, &admin).await.body;
    assert_eq!((after["name"].as_str(), &after["version"]), (Some("Sales"), &dept["version"]));

    let made = app
        .post(
            "/api/v1/tasks",
            Some(&admin),
            &json!({"title": "Call", "due_at": app.clock_now() + chrono::Duration::days(2)}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let complete = format!("/api/v1/tasks/{}/complete", made.body["id"].as_str().unwrap());
    let done = raw(&app, Method::POST, &complete, &admin, "null").await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["status"], "done");
}

#[tokio::test]
async fn a_whole_number_is_an_integer_and_a_tag_is_a_word() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    // JSON Schema (and JavaScript) cannot tell 3.0 from 3.
    let whole = app.post("/api/v1/scenarios", Some(&admin), &scenario("Whole", task(json!(3.0)))).await;
    assert_eq!(whole.status, 201, "{}", whole.text);
    assert_eq!(whole.body["definition"]["stages"][0]["on_entry"][0]["due"]["days"], 3);
    let fraction = app.post("/api/v1/scenarios", Some(&admin), &scenario("Fraction", task(json!(2.5)))).await;
    fraction.problem(400);

    // A branch's index is not its name, though serde would take it.
    let index = json!([{"action": "notify", "text": "New interest", "assignee": {"kind": 0}}]);
    let by_index = app.post("/api/v1/scenarios", Some(&admin), &scenario("Index", index)).await;
    let problem = by_index.problem(400);
    assert!(problem["errors"].to_string().contains("assignee.kind"), "{problem}");
}

#[tokio::test]
async fn a_request_outside_its_shape_is_400_and_one_breaking_a_rule_is_422() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let shape = app.post("/api/v1/clients", Some(&admin), &json!({"name": 5, "kind": "company"})).await;
    assert_eq!(shape.problem(400)["type"], "urn:crm:problem:validation");

    let checksum = app
        .post(
            "/api/v1/clients",
            Some(&admin),
            &json!({"name": "Ромашка", "kind": "company", "tax_id": "7707083894"}),
        )
        .await;
    let problem = checksum.problem(422);
    assert_eq!(problem["type"], "urn:crm:problem:invalid_fields");
    assert_eq!(problem["errors"][0]["code"], "tax_id_checksum");
    assert_eq!(app.get("/api/v1/clients", &admin).await.body["items"], json!([]));

    // Two parameters that only together break a rule.
    let board = app.get("/api/v1/board", &admin).await;
    assert_eq!(board.status, 200, "{}", board.text);
    let cursor = "djE6MDE5M2IxYzItN2Q3ZS03YzFhLTlmNGUtMGExYjJjM2Q0ZTVm";
    let alone = app.get(&format!("/api/v1/board?cursor={cursor}"), &admin).await;
    assert_eq!(alone.problem(422)["errors"][0]["code"], "needs_stage");
    let empty = app.get("/api/v1/board?cursor=", &admin).await;
    assert_eq!(empty.status, 200, "an empty cursor is the first page: {}", empty.text);

    // The next step's interaction type is one of the enum's words: another is the shape's fault.
    let interest = app.post("/api/v1/interests", Some(&admin), &json!({"title": "Chairs"})).await;
    assert_eq!(interest.status, 201, "{}", interest.text);
    let path = format!("/api/v1/interests/{}/transitions", interest.body["id"].as_str().unwrap());
    let next = |kind: &str| {
        json!({"to_stage": "proposal", "next": {"kind": "interaction", "type": kind,
            "planned_at": "2027-03-02T11:00:00Z", "subject": "Discuss the quote"}})
    };
    let fax = app.post(&path, Some(&admin), &next("fax")).await;
    assert_eq!(fax.problem(400)["type"], "urn:crm:problem:validation");
    let read = app.get(&path.replace("/transitions", ""), &admin).await;
    assert_eq!(read.body["stage"], "request", "a refused move moves nothing");
    let call = app.post(&path, Some(&admin), &next("call")).await;
    assert_eq!(call.status, 200, "{}", call.text);
}

#[tokio::test]
async fn every_tagged_read_answers_304_to_the_tag_it_gave() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for path in ["/api/v1/organization", "/api/v1/me"] {
        let first = app.get(path, &admin).await;
        let tag = first.header("etag").unwrap_or_else(|| panic!("{path}: no ETag")).to_owned();
        let again = Reply::read(
            app.request(Method::GET, path, Some(&admin)).header("if-none-match", &tag).send().await.unwrap(),
        )
        .await;
        assert_eq!(again.status, 304, "{path}: {}", again.text);
        assert_eq!(again.header("etag"), Some(tag.as_str()));
        let other = Reply::read(
            app.request(Method::GET, path, Some(&admin))
                .header("if-none-match", "\"999\"")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(other.status, 200, "{path}: {}", other.text);
    }
}

#[tokio::test]
async fn without_credentials_an_idempotency_key_gets_401_not_a_replay() {
    let app = spawn_app().await;
    let post = |body: Value| {
        let app = &app;
        async move {
            Reply::read(
                app.request(Method::POST, "/api/v1/departments", None)
                    .header("idempotency-key", "same-key")
                    .json(&body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    // A website form takes anonymous posts, so its answer is kept under the key…
    let form = Reply::read(
        app.request(Method::POST, "/api/v1/intake/forms/no-such-form", None)
            .header("idempotency-key", "same-key")
            .json(&json!({"name": "Anna", "phone": "+79161234567"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    form.problem(404);
    // …but an operation that needs a credential answers 401 to every caller
    // without one, never "this key was used for another request".
    post(json!({"name": "Sales"})).await.problem(401);
    post(json!({"name": "Other"})).await.problem(401);
    post(json!({"name": "Sales"})).await.problem(401);
}
