//! Walks the generated spec for what a client generator trusts it to say.
use serde_json::Value;

fn spec() -> Value {
    super::spec_value().unwrap()
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => spec.pointer(r.trim_start_matches('#')).unwrap_or(schema),
        None => schema,
    }
}

fn has_type(schema: &Value, t: &str) -> bool {
    match schema.get("type") {
        Some(Value::String(s)) => s == t,
        Some(Value::Array(ts)) => ts.iter().any(|x| x == t),
        _ => false,
    }
}

/// A string with a shape of its own: an enum, a constant, a pattern or a format.
fn is_shaped(spec: &Value, schema: &Value) -> bool {
    let s = resolve(spec, schema);
    if ["enum", "const", "format"].iter().any(|k| s.get(k).is_some()) {
        return true;
    }
    // A free-text pattern says nothing of the values.
    if s.get("pattern").and_then(Value::as_str).is_some_and(|p| p != super::shapes::TEXT_PATTERN) {
        return true;
    }
    for k in ["oneOf", "anyOf"] {
        if let Some(Value::Array(vs)) = s.get(k) {
            return vs.iter().all(|v| has_type(resolve(spec, v), "null") || is_shaped(spec, v));
        }
    }
    if has_type(s, "array") {
        return s.get("items").is_some_and(|i| is_shaped(spec, i));
    }
    !has_type(s, "string")
}

/// Names that only ever hold one of a few words.
const CLOSED_NAMES: &[&str] = &[
    "kind",
    "status",
    "state",
    "channel",
    "trigger",
    "direction",
    "role",
    "scope",
    "scopes",
    "action",
    "event",
    "decision",
    "health",
    "actor_kind",
    "task_kind",
    "use",
    "type",
    "types",
    "assignee",
    "responsible",
];

/// Fields named like a closed set that are free text on purpose, each with why.
const FREE_ON_PURPOSE: &[(&str, &str, &str)] = &[
    ("ReasonRequest", "reason", "a note in the user's words"),
    ("ProblemField", "field", "names a field of the request; its description gives examples, not a set"),
    ("RecordRelatedRequest", "status", "the purchasing system's own status text, stored as sent"),
    ("RelatedDocumentDto", "status", "the purchasing system's own status text, as recorded"),
    (
        "DocumentNodeDto",
        "status",
        "each kind of document has its own statuses; purchasing ones are free text",
    ),
];

/// A description that lists the values (`a`, `b` or `c`) names a closed set.
fn lists_values(description: &str) -> bool {
    let ticks = description.matches('`').count() / 2;
    ticks >= 2
        && (description.contains("` or `") || description.contains("`, `"))
        && !description.contains("with `")
}

#[test]
fn every_fixed_value_string_is_an_enum() {
    let spec = spec();
    let mut found = Vec::new();
    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        let Some(props) = schema.get("properties").and_then(Value::as_object) else { continue };
        for (field, prop) in props {
            let description = prop.get("description").and_then(Value::as_str).unwrap_or_default();
            let closed = CLOSED_NAMES.contains(&field.as_str()) || lists_values(description);
            let exempt = FREE_ON_PURPOSE.iter().any(|(n, f, _)| n == name && f == field);
            if closed && !exempt && !is_shaped(&spec, prop) {
                found.push(format!("{name}.{field}"));
            }
        }
    }
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for param in op.get("parameters").and_then(Value::as_array).into_iter().flatten() {
                let name = param["name"].as_str().unwrap();
                let description = param.get("description").and_then(Value::as_str).unwrap_or_default();
                let closed = CLOSED_NAMES.contains(&name) || lists_values(description);
                if closed && !is_shaped(&spec, &param["schema"]) {
                    found.push(format!("{method} {path} ?{name}"));
                }
            }
        }
    }
    assert!(found.is_empty(), "fixed-value strings without an enum (or a pattern): {found:#?}");
}

#[test]
fn every_operation_lists_its_error_answers() {
    let spec = spec();
    let mut found = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            let responses = op["responses"].as_object().unwrap();
            let params = op.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
            let mut needs = vec!["400", "414", "431", "500"];
            let api = path.starts_with("/api/");
            if api {
                needs.push("429");
            }
            // `[{}]` is a public operation; any named scheme needs credentials.
            let secured = op
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(|reqs| reqs.iter().any(|r| r.as_object().is_some_and(|o| !o.is_empty())));
            if secured {
                needs.extend(["401", "403"]);
            }
            if op.get("requestBody").is_some() {
                needs.extend(["413", "415"]);
            }
            if path.contains('{') {
                needs.push("404");
            }
            if params.iter().any(|p| p["name"] == "If-Match") {
                needs.push("412");
            }
            for (status, answer) in responses {
                let answer = resolve(&spec, answer);
                let headers = answer.get("headers").and_then(Value::as_object);
                let has = |h: &str| headers.is_some_and(|hs| hs.contains_key(h));
                // 414 and 431 are answered before the request is counted.
                let counted = status != "414" && status != "431";
                if api
                    && counted
                    && !["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"].iter().all(|h| has(h))
                {
                    found.push(format!("{id}: its {status} does not declare the RateLimit headers"));
                }
                if (status == "429" || status == "503") && !has("Retry-After") {
                    found.push(format!("{id}: its {status} does not declare Retry-After"));
                }
            }
            for status in needs {
                match responses.get(status).map(|r| resolve(&spec, r)) {
                    None => found.push(format!("{id} ({method} {path}) does not list {status}")),
                    Some(r) if r.pointer("/content/application~1problem+json").is_none() => {
                        found.push(format!("{id}: its {status} is not problem+json"))
                    }
                    Some(_) => {}
                }
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

/// Request bodies that still lack a whole example. The list may only
/// shrink: a new body without an example fails, and so does a body that
/// gained one but is still listed here.
const BODIES_WITHOUT_EXAMPLE: &[&str] = &[];

#[test]
fn every_request_body_has_an_example() {
    let spec = spec();
    let mut missing = Vec::new();
    for item in spec["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let Some(body) = op.get("requestBody") else { continue };
            for (media, content) in body["content"].as_object().unwrap() {
                let schema = resolve(&spec, &content["schema"]);
                let has = ["example", "examples"]
                    .iter()
                    .any(|k| content.get(k).is_some() || schema.get(k).is_some());
                if !has {
                    missing.push(format!("{} {media}", op["operationId"].as_str().unwrap()));
                }
            }
        }
    }
    missing.sort();
    let mut listed: Vec<String> = BODIES_WITHOUT_EXAMPLE.iter().map(|s| (*s).to_owned()).collect();
    listed.sort();
    assert_eq!(missing, listed, "request bodies without an example (left) against the list (right)");
}

/// Every `$ref` names a schema the document has: two types of one name
/// (utoipa keys components by the bare type name) would leave one dangling.
#[test]
fn every_reference_resolves() {
    fn walk(spec: &Value, v: &Value, at: &str, dangling: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                    if spec.pointer(r.trim_start_matches('#')).is_none() {
                        dangling.push(format!("{at}: {r}"));
                    }
                }
                for (k, x) in map {
                    walk(spec, x, &format!("{at}/{k}"), dangling);
                }
            }
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    walk(spec, x, &format!("{at}/{i}"), dangling);
                }
            }
            _ => {}
        }
    }
    let spec = spec();
    let mut dangling = Vec::new();
    walk(&spec, &spec, "", &mut dangling);
    assert!(dangling.is_empty(), "references to nothing: {dangling:#?}");
}

/// Each branch of a tagged union is closed, as serde's `deny_unknown_fields`
/// makes it: a field of another branch is refused, so the spec says so.
#[test]
fn union_branches_are_closed() {
    let spec = spec();
    for name in [
        "NextStepDto",
        "AssigneeDto",
        "ActionDto",
        "ThenDto",
        "AcceptRequest",
        "ClientChoice",
        "ContactChoice",
    ] {
        let union = &spec["components"]["schemas"][name];
        for b in union["oneOf"].as_array().unwrap() {
            assert_eq!(resolve(&spec, b)["additionalProperties"], false, "{name}: {b}");
        }
    }
}

/// A union whose branches each fix one property to a word of their own has
/// a `discriminator` on it mapping every word to its branch, so a generated
/// client switches on the tag instead of trying each shape.
#[test]
fn tagged_unions_have_a_discriminator() {
    let spec = spec();
    let mut tagged = 0;
    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        let Some(branches) = schema.get("oneOf").and_then(Value::as_array) else { continue };
        let branches: Vec<&Value> = branches.iter().map(|b| resolve(&spec, b)).collect();
        let Some(first) = branches.first().and_then(|b| b.get("properties")).and_then(Value::as_object)
        else {
            continue;
        };
        let tag = first.keys().find(|k| {
            branches.iter().all(|b| {
                b.pointer(&format!("/properties/{k}/enum"))
                    .and_then(Value::as_array)
                    .is_some_and(|e| e.len() == 1)
            })
        });
        let Some(tag) = tag else { continue };
        tagged += 1;
        let d = &schema["discriminator"];
        assert_eq!(d["propertyName"], tag.as_str(), "{name} has no discriminator on `{tag}`");
        for (b, r) in branches.iter().zip(schema["oneOf"].as_array().unwrap()) {
            let word = b.pointer(&format!("/properties/{tag}/enum/0")).and_then(Value::as_str).unwrap();
            assert_eq!(d["mapping"][word], r["$ref"], "{name}: `{word}` maps to its branch");
        }
    }
    assert!(tagged >= 7, "only {tagged} tagged unions");
}

/// Every field of a schema the server only sends is required (nullable
/// where it may be null): serde writes every field, `None` as `null`,
/// except the few `outputs::SOMETIMES_SENT` names.
#[test]
fn fields_always_sent_are_required() {
    let spec = spec();
    let requests = super::inputs::request_schemas(&spec);
    let mut optional = Vec::new();
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for op in item.as_object().unwrap().values() {
            let roots = [&op["responses"]];
            for name in super::inputs::reached_from(&spec, &roots).difference(&requests) {
                let schema = &spec["components"]["schemas"][name];
                let required = schema["required"].as_array().cloned().unwrap_or_default();
                for prop in schema["properties"].as_object().into_iter().flat_map(|p| p.keys()) {
                    checked += 1;
                    let sometimes =
                        super::outputs::SOMETIMES_SENT.iter().any(|(s, p, _)| s == name && p == prop);
                    if !sometimes && !required.iter().any(|r| r == prop.as_str()) {
                        optional.push(format!("{path}: {name}.{prop}"));
                    }
                }
            }
        }
    }
    optional.sort();
    optional.dedup();
    assert!(checked > 500, "only {checked} fields looked at");
    assert!(optional.is_empty(), "always sent, typed optional: {optional:#?}");
}

/// Every JSON answer's schema shows a whole example: every field it
/// declares is in it (`tests/api/examples.rs` holds them to what the server
/// sends).
#[test]
fn every_answer_has_a_whole_example() {
    let spec = spec();
    let mut missing = Vec::new();
    for item in spec["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let Some(responses) = op.get("responses").and_then(Value::as_object) else { continue };
            for (status, answer) in responses.iter().filter(|(s, _)| s.starts_with('2')) {
                let Some(schema) = answer.pointer("/content/application~1json/schema") else { continue };
                let name = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()).unwrap_or_default();
                let schema = resolve(&spec, schema);
                let id = op["operationId"].as_str().unwrap();
                let Some(example) = schema.get("example") else {
                    missing.push(format!("{id} {status}: no example"));
                    continue;
                };
                for prop in schema["properties"].as_object().into_iter().flat_map(|p| p.keys()) {
                    let sometimes =
                        super::outputs::SOMETIMES_SENT.iter().any(|(s, p, _)| *s == name && p == prop);
                    if example.get(prop).is_none() && !sometimes {
                        missing.push(format!("{id} {status}: {prop} not in the example"));
                    }
                }
            }
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

/// A read that answers with an `ETag` takes `If-None-Match` and says it may answer 304.
#[test]
fn tagged_reads_declare_if_none_match_and_304() {
    let spec = spec();
    let mut reads = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        let Some(op) = item.get("get") else { continue };
        if op.pointer("/responses/200/headers/ETag").is_none() {
            continue;
        }
        reads += 1;
        let params = op["parameters"].as_array().unwrap();
        assert!(params.iter().any(|p| p["name"] == "If-None-Match" && p["in"] == "header"), "{path}");
        assert!(op["responses"].get("304").is_some(), "{path}");
    }
    assert!(reads >= 16, "only {reads} tagged reads");
}

/// A receiver's side is in the spec too: the signed event post.
#[test]
fn the_webhook_post_is_described() {
    let spec = spec();
    let post = &spec["webhooks"]["event"]["post"];
    assert_eq!(
        post["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/EventDto"
    );
    let headers: Vec<&str> =
        post["parameters"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(headers, ["webhook-id", "webhook-timestamp", "webhook-signature"]);
    assert!(post["responses"].get("410").is_some());
}

/// Every problem answer shows a whole problem of each type its status can
/// carry, and only types the catalogue gives that status.
#[test]
fn every_problem_answer_has_examples_of_its_status() {
    let spec = spec();
    let catalogue = &spec["x-problem-types"];
    let mut wrong = Vec::new();
    for item in spec["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let id = op["operationId"].as_str().unwrap();
            for (status, answer) in op["responses"].as_object().unwrap() {
                let answer = resolve(&spec, answer);
                let Some(media) = answer.pointer("/content/application~1problem+json") else { continue };
                let Some(examples) = media.get("examples").and_then(Value::as_object) else {
                    wrong.push(format!("{id} {status}: no examples"));
                    continue;
                };
                for (name, example) in examples {
                    let example = resolve(&spec, example);
                    let kind = example["value"]["type"].as_str().unwrap_or_default();
                    let code: u64 = status.parse().unwrap();
                    if catalogue[kind]["status"].as_u64() != Some(code)
                        || example["value"]["status"].as_u64() != Some(code)
                    {
                        wrong.push(format!("{id} {status}: example {name} is a {kind}"));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
