//! The roles and key scopes the spec publishes for each operation are the
//! ones its use cases require: the server runs with the access audit on (as
//! in every test), and a walk calls every operation of the spec with a body
//! made from its schema, so each one reaches its use case and is compared.

use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::helpers::*;

/// Follows a `$ref` into the spec's components.
fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap();
            resolve(spec, &spec["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// A small value the schema accepts: its example where it has one, else the
/// required properties, the first of an enum or a union, a value of the format.
fn sample(spec: &Value, schema: &Value) -> Value {
    let schema = resolve(spec, schema);
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values[0].clone();
    }
    for union in ["oneOf", "anyOf"] {
        if let Some(first) = schema.get(union).and_then(Value::as_array).and_then(|a| {
            a.iter().find(|s| resolve(spec, s).get("type") != Some(&json!("null"))).or(a.first())
        }) {
            return sample(spec, first);
        }
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in parts {
            if let Value::Object(m) = sample(spec, part) {
                merged.extend(m);
            }
        }
        return Value::Object(merged);
    }
    let kind = match schema.get("type") {
        Some(Value::Array(kinds)) => kinds.iter().find(|k| *k != "null").cloned().unwrap_or(Value::Null),
        Some(k) => k.clone(),
        None if schema.get("properties").is_some() => json!("object"),
        None => Value::Null,
    };
    match kind.as_str().unwrap_or_default() {
        "object" => {
            let mut object = Map::new();
            let required = schema.get("required").and_then(Value::as_array).cloned().unwrap_or_default();
            for name in required {
                let name = name.as_str().unwrap();
                object.insert(name.to_owned(), sample(spec, &schema["properties"][name]));
            }
            Value::Object(object)
        }
        "array" => {
            let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0);
            Value::Array((0..min.max(1)).map(|_| sample(spec, &schema["items"])).collect())
        }
        "string" => match schema.get("format").and_then(Value::as_str) {
            Some("uuid") => json!(uuid::Uuid::now_v7()),
            Some("date") => json!("2026-12-15"),
            Some("date-time") => json!("2026-12-15T10:00:00Z"),
            Some("email") => json!("someone@example.ru"),
            _ => {
                let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(1) as usize;
                json!("x".repeat(min.max(4)))
            }
        },
        "integer" | "number" => schema.get("minimum").cloned().unwrap_or(json!(1)),
        "boolean" => json!(false),
        _ => Value::Null,
    }
}

/// A parameter's value: its example, else one of its schema.
fn parameter(spec: &Value, p: &Value) -> String {
    let value = p.get("example").cloned().unwrap_or_else(|| sample(spec, &p["schema"]));
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

#[tokio::test]
async fn every_operation_requires_the_access_its_spec_publishes() {
    let app = spawn_app().await;
    let mut admin = app.admin_token().await;
    let spec = crm_api::openapi::spec_value().unwrap();
    let mut reached = 0;
    let mut unreached = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            if !crm_api::openapi::ACCESS.iter().any(|(op_id, _)| *op_id == id) {
                continue;
            }
            let mut url = path.clone();
            let mut query = Vec::new();
            for p in op.get("parameters").and_then(Value::as_array).into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                match p["in"].as_str().unwrap() {
                    "path" => url = url.replace(&format!("{{{name}}}"), &parameter(&spec, p)),
                    "query" if p["required"] == true => query.push((name.to_owned(), parameter(&spec, p))),
                    _ => {}
                }
            }
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let body = &op["requestBody"]["content"]["application/json"]["schema"];
            let body = (!body.is_null()).then(|| sample(&spec, body));
            let raw = op["requestBody"]["content"].as_object().and_then(|c| c.keys().next().cloned());
            let send = |token: String| {
                let mut req = app.request(method.clone(), &url, Some(&token)).query(&query);
                if matches!(method, Method::PATCH | Method::PUT | Method::DELETE) {
                    req = req.header("if-match", "\"1\"");
                }
                if let Some(body) = &body {
                    req = req.json(body);
                } else if let Some(kind) = raw.as_deref() {
                    // A body that is not JSON (a raw e-mail): any small one of its type.
                    req = req.header("content-type", kind).body("Subject: x\r\n\r\nx\r\n");
                }
                async move { Reply::read(req.send().await.unwrap()).await }
            };
            let mut reply = send(admin.clone()).await;
            if reply.status == 401 {
                // An earlier operation signed the admin out (logout, a password change).
                admin = app.admin_token().await;
                reply = send(admin.clone()).await;
            }
            assert_ne!(reply.status, 500, "{id}: {}", reply.text);
            match reply.header("x-crm-access-checked") {
                Some(n) if n != "0" => reached += 1,
                _ => unreached.push(format!("{id} ({} {})", reply.status, reply.text)),
            }
        }
    }
    let in_spec: Vec<&str> = spec["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values().filter_map(|op| op["operationId"].as_str()))
        .collect();
    for (id, _) in crm_api::openapi::ACCESS {
        assert!(in_spec.contains(id), "ACCESS names {id}, which the spec does not have");
    }
    assert!(
        unreached.is_empty(),
        "{reached} reached; these never reached their use case:\n{}",
        unreached.join("\n")
    );
}
