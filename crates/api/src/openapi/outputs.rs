//! Spec passes for what the server sends: fields always present, unions a
//! generator can tell apart, and whole examples taken from a real sale.
use serde_json::{json, Map, Value};

/// Response fields the server leaves out when they are empty, each with why.
/// Every other field of a schema only ever sent is always in the body
/// (serde writes `None` as `null`), so the spec marks it required.
pub const SOMETIMES_SENT: &[(&str, &str, &str)] = &[
    ("Problem", "errors", "only on validation problems"),
    ("Problem", "unmet", "only when business rules are unmet"),
    ("Problem", "candidates", "only on a possible duplicate"),
];

/// Schemas that are also sent by clients keep their optional fields: a
/// request may leave them out, and the shape is one for both directions.
pub(super) fn always_sent(value: &mut Value) {
    let requests = super::inputs::request_schemas(value);
    let mut roots: Vec<&Value> = Vec::new();
    if let Some(paths) = value.get("paths").and_then(|p| p.as_object()) {
        for op in paths.values().filter_map(|i| i.as_object()).flat_map(|o| o.values()) {
            roots.extend(op.get("responses"));
        }
    }
    roots.extend(value.get("webhooks"));
    let responses = super::inputs::reached_from(value, &roots);
    let Some(schemas) = value.pointer_mut("/components/schemas").and_then(|s| s.as_object_mut()) else {
        return;
    };
    for name in responses.difference(&requests) {
        let Some(schema) = schemas.get_mut(name) else { continue };
        let Some(props) = schema.get("properties").and_then(|p| p.as_object()) else { continue };
        let mut required: Vec<Value> =
            schema.get("required").and_then(|r| r.as_array()).cloned().unwrap_or_default();
        for prop in props.keys() {
            let skipped = SOMETIMES_SENT.iter().any(|(s, p, _)| s == name && p == prop);
            if !skipped && !required.iter().any(|r| r == prop.as_str()) {
                required.push(prop.as_str().into());
            }
        }
        schema["required"] = Value::Array(required);
    }
}

/// The property every branch of a union fixes to one value of its own.
fn tag_of(branches: &[Value]) -> Option<String> {
    let first = branches.first()?.get("properties")?.as_object()?;
    first
        .keys()
        .find(|key| {
            branches.iter().all(|b| {
                b.get("type") == Some(&Value::from("object"))
                    && b.pointer(&format!("/properties/{key}/enum"))
                        .and_then(|e| e.as_array())
                        .is_some_and(|e| e.len() == 1)
                    && b.get("required")
                        .and_then(|r| r.as_array())
                        .is_some_and(|r| r.iter().any(|x| x == key.as_str()))
            })
        })
        .cloned()
}

/// `create_task` → `CreateTask`.
fn pascal(tag: &str) -> String {
    tag.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
        })
        .collect()
}

/// The tagged unions (`{"kind": "task", …}`) get a `discriminator`, so a
/// generated client switches on the tag. A mapping names schemas, so each
/// branch moves to a component of its own: `AssigneeDto`'s `user` branch
/// becomes `AssigneeUser`.
pub(super) fn tagged_unions(value: &mut Value) {
    let Some(schemas) = value.pointer_mut("/components/schemas").and_then(|s| s.as_object_mut()) else {
        return;
    };
    let mut lifted: Map<String, Value> = Map::new();
    let names: Vec<String> = schemas.keys().cloned().collect();
    for name in names {
        let Some(schema) = schemas.get(&name) else { continue };
        let Some(branches) = schema.get("oneOf").and_then(|b| b.as_array()) else { continue };
        let Some(tag) = tag_of(branches) else { continue };
        let base = name.strip_suffix("Dto").unwrap_or(&name).to_owned();
        let mut refs = Vec::new();
        let mut mapping = Map::new();
        let mut moved = Vec::new();
        for branch in branches {
            let Some(word) = branch.pointer(&format!("/properties/{tag}/enum/0")).and_then(|w| w.as_str())
            else {
                continue;
            };
            let target = format!("{base}{}", pascal(word));
            if schemas.contains_key(&target) || lifted.contains_key(&target) {
                // A clash leaves the union inline; the spec test then names it.
                moved.clear();
                break;
            }
            let reference = format!("#/components/schemas/{target}");
            mapping.insert(word.to_owned(), reference.clone().into());
            refs.push(json!({ "$ref": reference }));
            moved.push((target, branch.clone()));
        }
        if moved.len() != branches.len() {
            continue;
        }
        lifted.extend(moved);
        if let Some(schema) = schemas.get_mut(&name) {
            schema["oneOf"] = Value::Array(refs);
            schema["discriminator"] = json!({ "propertyName": tag, "mapping": mapping });
        }
    }
    schemas.extend(lifted);
}

/// Whole examples of what the server answers, recorded from a typical sale
/// by `tests/api/examples.rs` (which also fails when one no longer has the
/// shape the server sends). A page's example is its item's when the sale
/// read no page of its own.
const RECORDED: &str = include_str!("../../../../openapi/examples.json");

pub(super) fn response_examples(value: &mut Value) {
    let Ok(Value::Object(recorded)) = serde_json::from_str::<Value>(RECORDED) else { return };
    let Some(schemas) = value.pointer_mut("/components/schemas").and_then(|s| s.as_object_mut()) else {
        return;
    };
    for (name, example) in &recorded {
        if let Some(schema) = schemas.get_mut(name) {
            schema["example"] = example.clone();
        }
    }
    let pages: Vec<(String, Value)> = schemas
        .iter()
        .filter(|(name, schema)| name.starts_with("Page_") && schema.get("example").is_none())
        .filter_map(|(name, _)| {
            let item = recorded.get(name.trim_start_matches("Page_"))?;
            Some((name.clone(), json!({ "items": [item], "next_cursor": null })))
        })
        .collect();
    for (name, example) in pages {
        if let Some(schema) = schemas.get_mut(&name) {
            schema["example"] = example;
        }
    }
}

/// Every `/api/` answer says where the caller stands against the request
/// budget (`crate::rate_limit`), unless `CRM_RATE_LIMIT=off`; 429 and 503
/// say when to come back.
pub(super) fn rate_limit_headers(value: &mut Value) {
    let integer = |description: &str| json!({ "description": description, "schema": { "type": "integer", "minimum": 0 } });
    let headers = json!({
        "RateLimit-Limit": integer("Requests the caller may make per period (`CRM_RATE_LIMIT`); absent when the limit is off."),
        "RateLimit-Remaining": integer("Requests left in the current period."),
        "RateLimit-Reset": integer("Seconds until the budget is whole again."),
        "Retry-After": integer("Seconds to wait before trying again."),
    });
    value["components"]["headers"] = headers;
    let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) else { return };
    for (path, item) in paths.iter_mut() {
        let api = path.starts_with("/api/");
        for op in item.as_object_mut().into_iter().flat_map(|o| o.values_mut()) {
            let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) else { continue };
            for (status, response) in responses.iter_mut() {
                let mut names = Vec::new();
                // 414 and 431 are answered before the request is counted.
                if api && status != "414" && status != "431" {
                    names.extend(["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]);
                }
                if status == "429" || status == "503" {
                    names.push("Retry-After");
                }
                if names.is_empty() {
                    continue;
                }
                let Some(answer) = response.as_object_mut() else { continue };
                let map = answer.entry("headers").or_insert_with(|| json!({}));
                for name in names {
                    if let Some(map) = map.as_object_mut() {
                        map.entry(name)
                            .or_insert_with(|| json!({ "$ref": format!("#/components/headers/{name}") }));
                    }
                }
            }
        }
    }
}

/// A whole problem of each catalogued type, as the server writes it: (slug,
/// title, detail, the lists it carries). The titles are ones the server
/// builds (a test in `error.rs` holds them to the source).
pub const PROBLEM_EXAMPLES: &[(&str, &str, &str, &str)] = &[
    ("validation", "The request has invalid fields", "1 field is invalid",
        r#"{"errors": [{"field": "head", "code": "unknown_field", "message": "head is not a field of this request"}]}"#),
    ("malformed", "The request is malformed", "the body is not valid JSON: expected `,` or `}` at line 1 column 17", "{}"),
    ("unauthenticated", "Authentication is required", "sign in: send `Authorization: Bearer <access token>`", "{}"),
    ("forbidden", "Not allowed", "the manager role may not record purchasing documents", "{}"),
    ("not_found", "Not found", "the interest does not exist or is not visible to you", "{}"),
    ("no_route", "Not found", "no resource at GET /api/v1/intrests", "{}"),
    ("method_not_allowed", "Method not allowed", "PUT is not allowed here; use GET", "{}"),
    ("conflict", "Conflicts with the current state", "a user with e-mail ivan.petrov@example.ru already exists",
        r#"{"errors": [{"field": "email", "code": "taken", "message": "a user with e-mail ivan.petrov@example.ru already exists"}]}"#),
    ("possible_duplicate", "Possible duplicate",
        "records with the same phone, e-mail or tax id exist; use one of them, or repeat with \"confirm_new\": true",
        r#"{"candidates": [{"kind": "client", "id": "01a24244-525d-70c4-b447-ee9862f31933", "name": "ООО «Ромашка»", "client_id": null,
            "responsible_id": "01a24244-4ce9-7345-88ea-8ba2003ff8ef", "responsible_name": "Иван Петров", "visible": true,
            "reasons": [{"reason": "same_phone", "value": "+79161234567", "score": null}], "score": 0.9}]}"#),
    ("idempotency_key_in_flight", "The first request with this Idempotency-Key is still running", "retry after it finishes", "{}"),
    ("idempotency_key_applied", "The first request with this Idempotency-Key took effect, but its reply was lost",
        "the change was made once and is not made again; read the resource to see it", "{}"),
    ("cursor_expired", "The cursor is older than the events kept",
        "events after this cursor were pruned (CRM_EVENTS_RETENTION); resync from the lists with updated_since, then follow the feed again from a cursor read now", "{}"),
    ("stale_version", "The resource has changed", "the resource has changed since version 3; it is now at version 4; read it again and retry with its current ETag", "{}"),
    ("too_large", "The request body is too large", "the body has 2097152 bytes; at most 1048576 are accepted", "{}"),
    ("uri_too_long", "The URI is too long", "the path and query are 9231 bytes; at most 8192 are read (send long filters in a body where the operation takes one)", "{}"),
    ("unsupported_media_type", "Unsupported content type", "send the body as Content-Type: application/json", "{}"),
    ("invalid_fields", "Some fields break a rule", "1 field is invalid",
        r#"{"errors": [{"field": "email", "code": "invalid_email", "message": "\"ivan@\" is not an e-mail address"}]}"#),
    ("rules_unmet", "Business rules are not met", "the orders are not paid in full",
        r#"{"unmet": [{"check": "orders_fully_paid", "message": "the orders are not paid in full"}]}"#),
    ("idempotency_key_reused", "Idempotency-Key reused for another request", "this Idempotency-Key was used with a different request; use a new key", "{}"),
    ("rate_limited", "Too many requests", "at most 600 requests per 60 s; retry after 1 s", "{}"),
    ("headers_too_large", "The request's header fields are too large", "the header fields are 40211 bytes; at most 32768 are read", "{}"),
    ("internal", "Internal error", "something went wrong on our side; it has been logged", "{}"),
    ("access_audit", "Access audit failed", "createOrdersFromQuote checked change orders; the spec publishes change quotes", "{}"),
    ("delivery_failed", "The message could not be delivered", "the mail server refused the message: 550 mailbox unavailable; the attempt 01a24244-6a10-7c3e-8f21-5b9d0c7e4a12 is recorded and can be retried", "{}"),
    ("unavailable", "The database is unavailable", "the database could not be reached or did not answer in time; retry shortly", "{}"),
    ("not_migrated", "The database is not migrated", "run `crm-server migrate`", "{}"),
];

/// Each problem answer shows a whole problem of every catalogued type its
/// status can carry (`examples`, one per type), so a client sees the
/// `errors`, `unmet` or `candidates` it must read.
pub(super) fn problem_examples(value: &mut Value) {
    let example = |slug: &str, status: u16| -> Option<Value> {
        let (_, title, detail, extra) = PROBLEM_EXAMPLES.iter().find(|(s, ..)| *s == slug)?;
        let mut problem = json!({
            "type": format!("urn:crm:problem:{slug}"), "title": title, "status": status, "detail": detail,
        });
        if let (Some(map), Ok(Value::Object(extra))) = (problem.as_object_mut(), serde_json::from_str(extra))
        {
            map.extend(extra);
        }
        Some(json!({ "summary": slug, "value": problem }))
    };
    // Each example once, under `components/examples`; the answers refer to them.
    let mut components = Map::new();
    let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) else { return };
    for item in paths.values_mut().filter_map(|i| i.as_object_mut()) {
        for op in item.values_mut() {
            let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) else { continue };
            for (status, response) in responses.iter_mut() {
                let Ok(code) = status.parse::<u16>() else { continue };
                let Some(media) = response
                    .pointer_mut(&format!("/content/{}", crate::error::PROBLEM_JSON.replace('/', "~1")))
                else {
                    continue;
                };
                if media.get("example").is_some() || media.get("examples").is_some() {
                    continue;
                }
                let shown: Map<String, Value> = crate::error::PROBLEM_TYPES
                    .iter()
                    // A path of the spec always has a route; the audit runs only in tests.
                    .filter(|(slug, s, _)| *s == code && !matches!(*slug, "access_audit" | "no_route"))
                    .filter_map(|(slug, status, _)| {
                        components.insert(format!("problem_{slug}"), example(slug, *status)?);
                        Some((
                            (*slug).to_owned(),
                            json!({ "$ref": format!("#/components/examples/problem_{slug}") }),
                        ))
                    })
                    .collect();
                if !shown.is_empty() {
                    media["examples"] = Value::Object(shown);
                }
            }
        }
    }
    value["components"]["examples"] = Value::Object(components);
}

/// Error answers that many operations share word for word (401, 429, 500…)
/// are written once under `components/responses` and referred to, which
/// keeps the document a size tools and browsers load quickly.
pub(super) fn shared_answers(value: &mut Value) {
    let mut seen: std::collections::BTreeMap<String, (String, Value, usize)> = Default::default();
    if let Some(paths) = value.get("paths").and_then(|p| p.as_object()) {
        for op in paths.values().filter_map(|i| i.as_object()).flat_map(|o| o.values()) {
            for (status, answer) in op.get("responses").and_then(|r| r.as_object()).into_iter().flatten() {
                if status.starts_with('4') || status.starts_with('5') {
                    let entry =
                        seen.entry(answer.to_string()).or_insert_with(|| (status.clone(), answer.clone(), 0));
                    entry.2 += 1;
                }
            }
        }
    }
    // Named by the status's reason phrase (`TooManyRequests`); where one
    // status has several answers, the most used takes the plain name and the
    // others add the first words of their description.
    let mut shared: Vec<(String, Value, usize, String)> =
        seen.into_iter().filter(|(_, (_, _, n))| *n > 1).map(|(k, (s, a, n))| (s, a, n, k)).collect();
    shared.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)).then(a.3.cmp(&b.3)));
    let mut names: std::collections::BTreeMap<String, String> = Default::default();
    let mut components = Map::new();
    for (status, answer, _, key) in shared {
        let reason = status
            .parse::<u16>()
            .ok()
            .and_then(|c| actix_web::http::StatusCode::from_u16(c).ok())
            .and_then(|c| c.canonical_reason())
            .unwrap_or("Problem");
        let reason: String =
            reason.split(|c: char| !c.is_ascii_alphanumeric()).map(|w| pascal(&w.to_lowercase())).collect();
        let words: String = answer
            .get("description")
            .and_then(|d| d.as_str())
            .unwrap_or_default()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| w.len() > 2)
            .take(3)
            .map(|w| pascal(&w.to_lowercase()))
            .collect();
        let mut name = reason.clone();
        let mut n = 2;
        while components.contains_key(&name) {
            name = if n == 2 { format!("{reason}{words}") } else { format!("{reason}{words}{n}") };
            n += 1;
        }
        components.insert(name.clone(), answer);
        names.insert(key, name);
    }
    let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) else { return };
    for op in paths.values_mut().filter_map(|i| i.as_object_mut()).flat_map(|o| o.values_mut()) {
        for answer in
            op.get_mut("responses").and_then(|r| r.as_object_mut()).into_iter().flat_map(|r| r.values_mut())
        {
            if let Some(name) = names.get(&answer.to_string()) {
                *answer = json!({ "$ref": format!("#/components/responses/{name}") });
            }
        }
    }
    value["components"]["responses"] = Value::Object(components);
}

/// Every report also answers as CSV and as an Excel workbook (see
/// `routes::analytics::export`): its 200 lists both beside JSON.
pub(super) fn report_files(value: &mut Value) {
    use crate::routes::analytics::export::{CSV, XLSX};
    let Some(paths) = value.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for (path, item) in paths.iter_mut() {
        if !path.starts_with("/api/v1/analytics/") {
            continue;
        }
        let Some(content) = item.pointer_mut("/get/responses/200/content").and_then(Value::as_object_mut)
        else {
            continue;
        };
        let report = path.trim_start_matches("/api/v1/analytics/");
        let asked = if report == "stale-interests" {
            "days,14\nscenario_id,all\ndepartment_id,all\nresponsible_id,all\ncount,1\n"
        } else {
            "from,2026-11-01\nto,2026-11-30\ntime_zone,Europe/Moscow\nscenario_id,all\ndepartment_id,all\nresponsible_id,all\n"
        };
        content.insert(
            CSV.to_owned(),
            json!({"schema": {"type": "string"}, "example": format!("report,{report}\n{asked}\"\"\n(a header row, then a row per line of the report)\n")}),
        );
        content.insert(XLSX.to_owned(), json!({"schema": {"type": "string", "format": "binary"}}));
    }
}
