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
