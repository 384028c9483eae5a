//! Passes over the generated spec for what a request may hold that utoipa's
//! derives cannot say: cursors, e-mail addresses, phones, currency codes and
//! the messengers' own bodies. Each shape is the one the server parses, so
//! a value outside it is refused (400 or 422) and one inside it is read.

use serde_json::{json, Value};

/// A page cursor (`next_cursor` of a list): base64url without padding, as
/// `extract::context::encode_cursor` writes it. Only the server makes them;
/// the format names them so a generator can tell them from free text.
pub const CURSOR_PATTERN: &str = "^[A-Za-z0-9_-]*$";

/// A phone as people write it: digits, `+`, spaces, brackets, dots and
/// dashes, at most 40 characters (`crm_domain::contact_data::Phone::parse`).
/// Whether the digits make a number of some numbering plan is a rule (422).
pub const PHONE_PATTERN: &str = "^[0-9+() .-]{1,40}$";

/// Three Latin letters, taken in any case (`crm_domain::values::Currency`).
pub const CURRENCY_PATTERN: &str = "^[A-Za-z]{3}$";

/// Query cursors of the lists and the feed, and the replay body's `after`.
pub(super) fn cursors(value: &mut Value) {
    let cursor = |format: &str| json!({ "type": "string", "pattern": CURSOR_PATTERN, "format": format });
    if let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) {
        for (path, item) in paths.iter_mut() {
            let feed = path == "/api/v1/events";
            for op in item.as_object_mut().into_iter().flat_map(|o| o.values_mut()) {
                let Some(params) = op.get_mut("parameters").and_then(|p| p.as_array_mut()) else { continue };
                for p in params.iter_mut().filter(|p| p["in"] == "query") {
                    match p["name"].as_str() {
                        Some("cursor") => p["schema"] = cursor("crm-page-cursor"),
                        Some("after") if feed => p["schema"] = cursor("crm-feed-cursor"),
                        _ => {}
                    }
                }
            }
        }
    }
    if let Some(after) = value.pointer_mut("/components/schemas/ReplayRequest/properties/after") {
        let description = after.get("description").cloned();
        *after = cursor("crm-feed-cursor");
        if let Some(d) = description {
            after["description"] = d;
        }
    }
}

/// Names of the schemas a request body can hold, directly or nested.
pub(super) fn request_schemas(value: &Value) -> std::collections::BTreeSet<String> {
    let mut roots = Vec::new();
    if let Some(paths) = value.get("paths").and_then(|p| p.as_object()) {
        for op in paths.values().filter_map(|i| i.as_object()).flat_map(|o| o.values()) {
            roots.extend(op.get("requestBody"));
        }
    }
    reached_from(value, &roots)
}

/// Names of the component schemas `roots` refer to, directly or nested
/// (through shared answers and examples too).
pub(super) fn reached_from(value: &Value, roots: &[&Value]) -> std::collections::BTreeSet<String> {
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(r) = map.get("$ref").and_then(|r| r.as_str()) {
                    out.push(r.trim_start_matches('#').to_owned());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut todo = Vec::new();
    roots.iter().for_each(|r| refs(r, &mut todo));
    let mut seen = std::collections::BTreeSet::new();
    let mut schemas = std::collections::BTreeSet::new();
    while let Some(pointer) = todo.pop() {
        if seen.insert(pointer.clone()) {
            if let Some(name) = pointer.strip_prefix("/components/schemas/") {
                schemas.insert(name.to_owned());
            }
            if let Some(target) = value.pointer(&pointer) {
                refs(target, &mut todo);
            }
        }
    }
    schemas
}

/// E-mail addresses, phones and currency codes in what a client sends.
pub(super) fn request_values(value: &mut Value) {
    let names = request_schemas(value);
    let Some(schemas) = value.pointer_mut("/components/schemas").and_then(|s| s.as_object_mut()) else {
        return;
    };
    for (name, schema) in schemas.iter_mut().filter(|(n, _)| names.contains(*n)) {
        let Some(props) = schema.get_mut("properties").and_then(|p| p.as_object_mut()) else { continue };
        for (prop, shape) in props.iter_mut() {
            let target = match shape.get_mut("items") {
                Some(items) if matches!(prop.as_str(), "emails" | "phones") => items,
                _ => shape,
            };
            let Some(map) = target.as_object_mut() else { continue };
            match (name.as_str(), prop.as_str()) {
                (_, "email" | "emails") | ("SendInvoiceRequest", "to") => {
                    map.remove("pattern");
                    map.insert("format".to_owned(), "email".into());
                    map.insert("maxLength".to_owned(), crm_domain::values::Email::MAX_LEN.into());
                }
                // A PBX's `from` and `to` are taken as sent (`anonymous`, a SIP
                // URI): the lead keeps them when they are no phone.
                (_, "phone" | "phones") => {
                    map.insert("pattern".to_owned(), PHONE_PATTERN.into());
                }
                (_, "currency") => {
                    map.insert("pattern".to_owned(), CURRENCY_PATTERN.into());
                }
                _ => {}
            }
        }
    }
}

/// The messengers' bodies: what the intake reads of them, the rest as the
/// provider sends it. The raw e-mail is never empty.
pub(super) fn intake_bodies(value: &mut Value) {
    let telegram = json!({
        "type": "object",
        "description": "A Telegram Update (https://core.telegram.org/bots/api#update); fields other than these are kept as sent.",
        "required": ["update_id"],
        "properties": {
            "update_id": { "type": "integer", "format": "int64" },
            "message": { "type": "object", "additionalProperties": true }
        },
        "additionalProperties": true
    });
    let vk = json!({
        "type": "object",
        "description": "A VK Callback API event (https://dev.vk.com/api/callback/getting-started); fields other than these are kept as sent.",
        "required": ["type", "group_id"],
        "properties": {
            "type": { "type": "string", "example": "message_new" },
            "group_id": { "type": "integer", "format": "int64" },
            "secret": { "type": "string" },
            "event_id": { "type": "string" },
            "object": { "type": "object", "additionalProperties": true }
        },
        "additionalProperties": true
    });
    for (path, schema) in [("/api/v1/intake/telegram", telegram), ("/api/v1/intake/vk", vk)] {
        let pointer =
            format!("/paths/{}/post/requestBody/content/application~1json/schema", path.replace('/', "~1"));
        if let Some(s) = value.pointer_mut(&pointer) {
            *s = schema;
        }
    }
    if let Some(s) =
        value.pointer_mut("/paths/~1api~1v1~1intake~1email/post/requestBody/content/message~1rfc822/schema")
    {
        // The raw message as it came: the intake cleans control characters
        // and says what it dropped, so the body has no character pattern.
        *s = json!({ "type": "string", "minLength": 1, "contentMediaType": "message/rfc822" });
    }
}

/// The tagged unions (`NextStepDto`, `AssigneeDto`, `ActionDto`, …) are serde
/// enums with `deny_unknown_fields`: each branch takes its own fields only,
/// so the spec closes each branch. utoipa leaves them open.
pub(super) fn closed_union_branches(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(branches)) = map.get_mut("oneOf") {
                let objects: Vec<&mut Value> =
                    branches.iter_mut().filter(|b| b.get("type") != Some(&Value::from("null"))).collect();
                let tagged = !objects.is_empty()
                    && objects.iter().all(|b| {
                        b.get("type") == Some(&Value::from("object"))
                            && b.get("properties").and_then(|p| p.as_object()).is_some_and(|props| {
                                props.values().any(|p| {
                                    p.get("enum").and_then(|e| e.as_array()).is_some_and(|e| e.len() == 1)
                                })
                            })
                    });
                if tagged {
                    for b in objects {
                        b["additionalProperties"] = false.into();
                    }
                }
            }
            map.values_mut().for_each(closed_union_branches);
        }
        Value::Array(items) => items.iter_mut().for_each(closed_union_branches),
        _ => {}
    }
}

/// A union branch that is another request plus the tag (`{"use": "new",
/// …client fields…}`) is written by utoipa as `allOf` of the closed request
/// and the tag, which no value can meet (the request forbids `use`). The
/// branch becomes one object: the request's fields and the tag.
pub(super) fn merged_union_branches(value: &mut Value) {
    let schemas = value.pointer("/components/schemas").cloned().unwrap_or_default();
    merge_in(&schemas, value);
}

fn merge_in(schemas: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(branches)) = map.get_mut("oneOf") {
                for b in branches.iter_mut() {
                    if let Some(merged) = merged(schemas, b) {
                        *b = merged;
                    }
                }
            }
            map.values_mut().for_each(|v| merge_in(schemas, v));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| merge_in(schemas, v)),
        _ => {}
    }
}

fn merged(schemas: &Value, branch: &Value) -> Option<Value> {
    let parts = branch.get("allOf")?.as_array()?;
    let [base, tag] = parts.as_slice() else { return None };
    let name = base.get("$ref")?.as_str()?.rsplit('/').next()?;
    let mut out = schemas.get(name)?.clone();
    let tag_props = tag.get("properties")?.as_object()?;
    let props = out.get_mut("properties")?.as_object_mut()?;
    for (k, v) in tag_props {
        props.insert(k.clone(), v.clone());
    }
    let mut required: Vec<Value> =
        out.get("required").and_then(|r| r.as_array()).cloned().unwrap_or_default();
    required.extend(tag.get("required").and_then(|r| r.as_array()).cloned().unwrap_or_default());
    out["required"] = Value::Array(required);
    if let Some(d) = branch.get("description") {
        out["description"] = d.clone();
    }
    if let Some(obj) = out.as_object_mut() {
        obj.remove("example");
    }
    Some(out)
}

/// A read that sends an `ETag` honours `If-None-Match` (`extract::versioned`):
/// the parameter is declared and its 304 documented. A tag that matches
/// nothing (or is not a tag at all) is simply no match, so it has no pattern.
pub(super) fn conditional_reads(value: &mut Value) {
    let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) else { return };
    for op in paths.values_mut().filter_map(|i| i.get_mut("get")) {
        let tagged = op.pointer("/responses/200/headers/ETag").is_some();
        if !tagged {
            continue;
        }
        let params = op.as_object_mut().map(|o| o.entry("parameters").or_insert_with(|| json!([])));
        if let Some(Value::Array(params)) = params {
            if !params
                .iter()
                .any(|p| p["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case("If-None-Match")))
            {
                params.push(json!({
                    "name": "If-None-Match",
                    "in": "header",
                    "required": false,
                    "description": "The `ETag` you hold (or a list of them, or `*`): 304 with no body when it is still current.",
                    "schema": { "type": "string", "example": "\"3\"" }
                }));
            }
        }
        if let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) {
            responses.entry("304").or_insert_with(|| {
                json!({
                    "description": "Not modified: the `ETag` sent in `If-None-Match` is current",
                    "headers": { "ETag": { "schema": { "type": "string" } } }
                })
            });
        }
    }
}
