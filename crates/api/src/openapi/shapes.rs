//! Passes over the generated spec that say what utoipa's derives cannot: shapes
//! of values (patterns, event-type filters, PDF files), error answers as
//! problem+json, the problem catalogue and examples of optional bodies.

/// `Page_X.items` refers to `X` instead of a copy of it: utoipa 5 inlines a
/// generic parameter (juhaku/utoipa#1586), which leaves a generated client
/// with one anonymous type per list and `X` itself unused.
pub(super) fn ref_page_items(value: &mut serde_json::Value) {
    let Some(schemas) = value.pointer_mut("/components/schemas").and_then(|s| s.as_object_mut()) else {
        return;
    };
    let names: Vec<String> = schemas.keys().cloned().collect();
    for name in &names {
        let Some(item) = name.strip_prefix("Page_") else { continue };
        if !schemas.contains_key(item) {
            continue;
        }
        if let Some(items) = schemas.get_mut(name).and_then(|p| p.pointer_mut("/properties/items/items")) {
            *items = serde_json::json!({ "$ref": format!("#/components/schemas/{item}") });
        }
    }
}

pub(super) fn fix_links(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(links)) = map.get_mut("links") {
                for link in links.values_mut() {
                    if let serde_json::Value::Object(link) = link {
                        if let Some(id) = link.remove("operation_id") {
                            link.insert("operationId".to_owned(), id);
                        }
                        if let Some(r) = link.remove("operation_ref") {
                            link.insert("operationRef".to_owned(), r);
                        }
                        if let Some(b) = link.remove("request_body") {
                            link.insert("requestBody".to_owned(), b);
                        }
                    }
                }
            }
            map.values_mut().for_each(fix_links);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(fix_links),
        _ => {}
    }
}

/// An optional JSON body (`null` or an object) shows its object's example.
pub(super) fn optional_body_examples(value: &mut serde_json::Value) {
    let Some(schemas) = value.pointer("/components/schemas").cloned() else { return };
    let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) else { return };
    for item in paths.values_mut().filter_map(|i| i.as_object_mut()) {
        for op in item.values_mut() {
            let Some(json) = op.pointer_mut("/requestBody/content/application~1json") else { continue };
            let example = json.pointer("/schema/oneOf").and_then(|o| o.as_array()).and_then(|branches| {
                branches.iter().find_map(|b| {
                    let name = b.get("$ref")?.as_str()?.rsplit('/').next()?;
                    schemas.get(name)?.get("example").cloned()
                })
            });
            if let (Some(example), Some(map)) = (example, json.as_object_mut()) {
                map.entry("example").or_insert(example);
            }
        }
    }
}

/// `Problem.type` is one of the catalogued types, and the catalogue itself
/// (status and meaning of each) is published as `x-problem-types`.
pub(super) fn problem_catalogue(value: &mut serde_json::Value) {
    let uris: Vec<String> =
        crate::error::PROBLEM_TYPES.iter().map(|(slug, _, _)| format!("urn:crm:problem:{slug}")).collect();
    if let Some(kind) = value.pointer_mut("/components/schemas/Problem/properties/type") {
        *kind = serde_json::json!({
            "type": "string",
            "enum": uris,
            "description": "The kind of problem, one of `x-problem-types` (status and meaning of each).",
            "example": "urn:crm:problem:validation",
        });
    }
    let catalogue: serde_json::Map<String, serde_json::Value> = crate::error::PROBLEM_TYPES
        .iter()
        .map(|(slug, status, meaning)| {
            (format!("urn:crm:problem:{slug}"), serde_json::json!({ "status": status, "meaning": meaning }))
        })
        .collect();
    if let Some(root) = value.as_object_mut() {
        root.insert("x-problem-types".to_owned(), catalogue.into());
    }
    // The codes stay open strings (a new code must not break a generated
    // client); their catalogue rides along as an extension.
    for (pointer, codes) in [
        ("/components/schemas/ProblemField/properties/code", crate::codes::FIELD_CODES),
        ("/components/schemas/ProblemUnmet/properties/check", crate::codes::RULE_CHECKS),
    ] {
        if let Some(schema) = value.pointer_mut(pointer) {
            let listed: serde_json::Map<String, serde_json::Value> =
                codes.iter().map(|(code, meaning)| ((*code).to_owned(), (*meaning).into())).collect();
            schema["x-codes"] = listed.into();
            schema["description"] = "A stable, machine-readable reason, one of `x-codes`.".into();
        }
    }
}

/// Every 4xx and 5xx is problem+json (some handlers declare it as plain
/// JSON), and a list filtered by an id (`?order_id=`, `?scenario_id=`)
/// answers 404 when that id is unknown or not the caller's to see.
pub(super) fn error_answers(value: &mut serde_json::Value) {
    let schemas = value.pointer("/components/schemas").cloned().unwrap_or_default();
    let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) else { return };
    for item in paths.values_mut().filter_map(|i| i.as_object_mut()) {
        for op in item.values_mut().filter_map(|o| o.as_object_mut()) {
            let filters_by_id = op.get("parameters").and_then(|p| p.as_array()).is_some_and(|params| {
                params.iter().any(|p| {
                    p.get("in").and_then(|i| i.as_str()) == Some("query")
                        && p.pointer("/schema/format").and_then(|f| f.as_str()) == Some("uuid")
                })
            });
            let names_ids = op
                .get("requestBody")
                .and_then(|b| b.pointer("/content/application~1json/schema"))
                .is_some_and(|s| names_an_id(&schemas, s, 0));
            let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) else { continue };
            if names_ids && !responses.contains_key("404") {
                responses.insert(
                    "404".to_owned(),
                    serde_json::to_value(super::problem_response(
                        "An id the body names (a client, an order, a user…) is unknown, or not visible to the caller",
                    ))
                    .unwrap_or_default(),
                );
            }
            for (status, response) in responses.iter_mut() {
                if !(status.starts_with('4') || status.starts_with('5')) {
                    continue;
                }
                if let Some(content) = response.get_mut("content").and_then(|c| c.as_object_mut()) {
                    if let Some(json) = content.remove("application/json") {
                        content.insert(crate::error::PROBLEM_JSON.to_owned(), json);
                    }
                }
            }
            if filters_by_id && !responses.contains_key("404") {
                responses.insert(
                    "404".to_owned(),
                    serde_json::to_value(super::problem_response(
                        "An id the list is filtered by is unknown, or not visible to the caller",
                    ))
                    .unwrap_or_default(),
                );
            }
        }
    }
}

/// A PDF answer is a file, not the array of numbers `Vec<u8>` derives.
pub(super) fn binary_bodies(value: &mut serde_json::Value) {
    let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) else { return };
    for item in paths.values_mut().filter_map(|i| i.as_object_mut()) {
        for op in item.values_mut() {
            let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) else { continue };
            for response in responses.values_mut() {
                if let Some(pdf) = response.pointer_mut("/content/application~1pdf") {
                    pdf["schema"] = serde_json::json!({ "type": "string", "format": "binary" });
                }
            }
        }
    }
}

/// Decimal strings and Russian requisites, by the field names they always
/// carry: the shapes `crm_domain` parses (`Money::parse`, `Quantity::parse`,
/// `parse_percent`, `VatRate::parse`, the organisation's requisites). A value
/// of the right shape can still be refused by a rule (a VAT rate the
/// organisation does not charge, a checksum), with a 400 naming the field.
const VALUE_PATTERNS: &[(&[&str], &str)] = &[
    (
        &["amount", "paid", "potential_amount", "potential_sum", "price", "sum", "total", "unit_price"],
        "^[0-9]{1,15}(\\.[0-9]{1,2})?$",
    ),
    (&["quantity"], "^[0-9]{1,12}(\\.[0-9]{1,3})?$"),
    (&["percent", "discount_percent"], "^(100(\\.0{1,2})?|[0-9]{1,2}(\\.[0-9]{1,2})?)$"),
    (&["vat_rate"], "^(without|[0-9]{1,2}(\\.[0-9]{1,2})?)$"),
    (&["kpp", "bik"], "^[0-9]{9}$"),
    (&["account", "correspondent_account"], "^[0-9]{20}$"),
    (&["tax_id"], "^([0-9]{10}|[0-9]{12})$"),
];

pub(super) fn value_patterns(value: &mut serde_json::Value) {
    let Some(schemas) = value.pointer_mut("/components/schemas").and_then(|s| s.as_object_mut()) else {
        return;
    };
    for schema in schemas.values_mut() {
        let Some(props) = schema.get_mut("properties").and_then(|p| p.as_object_mut()) else { continue };
        for (name, prop) in props.iter_mut() {
            let Some((_, pattern)) = VALUE_PATTERNS.iter().find(|(names, _)| names.contains(&name.as_str()))
            else {
                continue;
            };
            if let Some(map) = prop.as_object_mut() {
                if is_free_text(map) {
                    map.insert("pattern".to_owned(), (*pattern).into());
                }
            }
        }
    }
}

/// Event types as the feed's `types` and a webhook's `types` take them: a
/// type of the catalogue or `<prefix>.*` (`crm_app::feed::parse_types`); a
/// webhook is never sent tombstones or `webhook.test`, so it may not ask.
pub(super) fn event_type_filters(value: &mut serde_json::Value) {
    use crm_domain::events::EventType;
    use crm_domain::status::Word;
    let mut prefixes: Vec<&str> = Vec::new();
    for prefix in EventType::ALL.iter().filter_map(|t| t.as_str().split('.').next()) {
        if !prefixes.contains(&prefix) {
            prefixes.push(prefix);
        }
    }
    let wildcards = prefixes.iter().map(|p| format!("{p}.*"));
    let every: Vec<String> =
        EventType::ALL.iter().map(|t| t.as_str().to_owned()).chain(wildcards.clone()).collect();
    let delivered: Vec<String> = EventType::ALL
        .iter()
        .filter(|t| t.is_stored())
        .map(|t| t.as_str().to_owned())
        .chain(wildcards)
        .collect();
    let Some(schemas) = value.pointer_mut("/components/schemas").and_then(|s| s.as_object_mut()) else {
        return;
    };
    schemas.insert(
        "WebhookEventTypeFilter".to_owned(),
        serde_json::json!({
            "type": "string", "enum": delivered, "example": "payment.registered",
            "description": "An event type a webhook can receive (not a tombstone, not `webhook.test`), or `<prefix>.*`.",
        }),
    );
    for name in ["CreateWebhookRequest", "UpdateWebhookRequest", "WebhookDto"] {
        if let Some(types) = schemas.get_mut(name).and_then(|s| s.pointer_mut("/properties/types")) {
            if let Some(map) = types.as_object_mut() {
                map.insert(
                    "items".to_owned(),
                    serde_json::json!({ "$ref": "#/components/schemas/WebhookEventTypeFilter" }),
                );
                map.insert("maxItems".to_owned(), 50.into());
            }
        }
    }
    if let Some(entity) = schemas.get_mut("EventEntityDto").and_then(|s| s.pointer_mut("/properties/type")) {
        if let Some(map) = entity.as_object_mut() {
            map.insert("enum".to_owned(), serde_json::json!(prefixes));
        }
    }
    let alternatives =
        every.iter().map(|t| t.replace('.', "\\.").replace('*', "\\*")).collect::<Vec<_>>().join("|");
    if let Some(params) =
        value.pointer_mut("/paths/~1api~1v1~1events/get/parameters").and_then(|p| p.as_array_mut())
    {
        for param in params.iter_mut().filter(|p| p["name"] == "types") {
            param["schema"] = serde_json::json!({
                "type": "string",
                "pattern": format!("^(({alternatives})(,({alternatives}))*)?$"),
                "example": "order.*,payment.registered",
            });
        }
    }
}

/// What every free-text string accepts, as a pattern: no control character
/// but tab, LF and CR (`crm_domain::text::is_forbidden`; the server answers
/// 400 `control_character` otherwise). A generated client or a fuzzer reads
/// the rule from the spec instead of learning it from a 400.
pub const TEXT_PATTERN: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";

/// The ETag list `If-Match` takes (RFC 9110 entity tags, or `*`; an empty
/// list matches nothing and is answered 412), as the
/// server parses it (`extract::context::parse_if_match`).
pub const IF_MATCH_PATTERN: &str =
    "^[ \\t]*(\\*|(W/)?\"[!#-+\\--~]*\"([ \\t]*,[ \\t]*(W/)?\"[!#-+\\--~]*\")*)?[ \\t]*$";

pub(super) fn text_patterns(value: &mut serde_json::Value, in_example: bool) {
    match value {
        serde_json::Value::Object(map) => {
            if !in_example && is_free_text(map) {
                map.insert("pattern".to_owned(), TEXT_PATTERN.into());
            }
            for (k, v) in map.iter_mut() {
                let example =
                    in_example || matches!(k.as_str(), "example" | "examples" | "default" | "enum" | "const");
                text_patterns(v, example);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| text_patterns(v, in_example)),
        _ => {}
    }
}

/// A string schema with no shape of its own: no enum, pattern or format
/// other than the ones that say nothing of its characters.
pub(super) fn is_free_text(map: &serde_json::Map<String, serde_json::Value>) -> bool {
    let string = match map.get("type") {
        Some(serde_json::Value::String(t)) => t == "string",
        Some(serde_json::Value::Array(ts)) => ts.iter().any(|t| t == "string"),
        _ => false,
    };
    let plain_format = match map.get("format").and_then(|f| f.as_str()) {
        None => true,
        Some(f) => matches!(f, "password" | "email"),
    };
    string
        && plain_format
        && !map.contains_key("pattern")
        && !map.contains_key("enum")
        && !map.contains_key("const")
        && !map.contains_key("contentMediaType")
}

/// `If-Match` parameters get the entity-tag shape and an example.
pub(super) fn if_match_shapes(value: &mut serde_json::Value) {
    let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) else { return };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for op in item.values_mut() {
            let Some(params) = op.get_mut("parameters").and_then(|p| p.as_array_mut()) else { continue };
            for param in params.iter_mut() {
                if param.get("name").and_then(|n| n.as_str()) == Some("If-Match") {
                    param["schema"] = serde_json::json!({ "type": "string", "pattern": IF_MATCH_PATTERN });
                    param["example"] = "\"3\"".into();
                }
            }
        }
    }
}

/// Whether a body schema has an id field (`format: uuid`) at any depth, which
/// the server looks up and answers 404 for when it is unknown.
fn names_an_id(schemas: &serde_json::Value, schema: &serde_json::Value, depth: usize) -> bool {
    if depth > 6 {
        return false;
    }
    if let Some(name) = schema.get("$ref").and_then(|r| r.as_str()).and_then(|r| r.rsplit('/').next()) {
        return schemas.get(name).is_some_and(|s| names_an_id(schemas, s, depth + 1));
    }
    if schema.get("format").and_then(|f| f.as_str()) == Some("uuid") {
        return true;
    }
    let props = schema.get("properties").and_then(|p| p.as_object());
    let nested = ["items", "oneOf", "anyOf", "allOf"].iter().filter_map(|k| schema.get(*k));
    // A body's own `id` (a client choosing the new record's id) is never looked up.
    props
        .into_iter()
        .flat_map(|p| p.iter())
        .filter(|(k, _)| !(k.as_str() == "id" && depth <= 1))
        .any(|(_, p)| names_an_id(schemas, p, depth + 1))
        || nested.into_iter().any(|n| match n {
            serde_json::Value::Array(vs) => vs.iter().any(|v| names_an_id(schemas, v, depth + 1)),
            v => names_an_id(schemas, v, depth + 1),
        })
}

/// What a webhook receiver gets (OpenAPI 3.1 `webhooks`): each event of the
/// change feed, signed per Standard Webhooks (`crate::webhooks::send`).
pub(super) fn webhooks_section(value: &mut serde_json::Value) {
    let header = |name: &str, description: &str, example: &str| {
        serde_json::json!({
            "name": name, "in": "header", "required": true, "description": description,
            "schema": { "type": "string" }, "example": example
        })
    };
    let event = serde_json::json!({
        "post": {
            "operationId": "receiveEvent",
            "summary": "An event, delivered to a webhook's URL",
            "description": "The body is the event as `GET /api/v1/events` gives it. Verify `webhook-signature` \
                (Standard Webhooks: HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` with the secret \
                shown when the webhook was made or rotated) and dedupe on `webhook-id`. Any 2xx acknowledges; \
                anything else, or no answer within the timeout, is retried with backoff for about a day; \
                410 switches the webhook off at once.",
            "tags": ["webhooks"],
            "parameters": [
                header("webhook-id", "The event's id: the same on every retry.", "01938f4e-8c2a-7b3d-9e1f-2a3b4c5d6e7f"),
                header("webhook-timestamp", "Unix seconds when this attempt was signed.", "1764583200"),
                header("webhook-signature", "`v1,<base64 HMAC-SHA256>`.", "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="),
            ],
            "requestBody": {
                "required": true,
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/EventDto" } } }
            },
            "responses": {
                "2XX": { "description": "Received; not sent again" },
                "410": { "description": "Gone: the webhook is switched off and its admins are told" }
            },
            "security": []
        }
    });
    if let Some(root) = value.as_object_mut() {
        root.insert("webhooks".to_owned(), serde_json::json!({ "event": event }));
    }
}
