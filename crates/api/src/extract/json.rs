//! Request bodies and request lines: our own `Json` extractor (control
//! characters and out-of-range dates refused before a handler runs), the
//! problem answers for malformed input, and validation.

use std::future::Future;
use std::pin::Pin;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest};

use crate::error::{ApiError, Problem};

/// JSON bodies: size-limited, `application/json` only (not `text/json` nor
/// `application/merge-patch+json`, whose semantics differ), errors as problems.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .content_type_required(true)
        .content_type(is_json)
        .error_handler(|err, _req| json_error(err).into())
}

/// `application/json`, with any parameters (`charset=utf-8`).
pub fn is_json(mime: actix_web::mime::Mime) -> bool {
    mime.type_() == actix_web::mime::APPLICATION
        && mime.subtype() == actix_web::mime::JSON
        && mime.suffix().is_none()
}

pub(crate) fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { length, limit } => ApiError::problem(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "The request body is too large",
            format!("the body has {length} bytes; at most {limit} are accepted"),
        )),
        JsonPayloadError::Overflow { limit } => ApiError::problem(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "The request body is too large",
            format!("at most {limit} bytes are accepted"),
        )),
        JsonPayloadError::ContentType => ApiError::problem(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported content type",
            "send the body as Content-Type: application/json",
        )),
        JsonPayloadError::Deserialize(e) => serde_problem(&e),
        other => ApiError::bad_request(format!("the body could not be read: {other}")),
    }
}

/// A JSON syntax or shape error, naming the field when serde tells it.
pub fn serde_problem(e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let msg = e.to_string();
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::bad_request(format!("the body is not valid JSON: {msg}"))
        }
        Category::Data => {
            let quoted = msg.split('`').nth(1).map(str::to_owned);
            if msg.starts_with("unknown field") {
                let field = quoted.unwrap_or_default();
                ApiError::field(&field, "unknown_field", format!("{field} is not a field of this request"))
            } else if msg.starts_with("missing field") {
                let field = quoted.unwrap_or_default();
                ApiError::field(&field, "required", format!("{field} is required"))
            } else {
                // Strip serde's "at line L column C" suffix: the field path is what helps.
                let clean = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
                ApiError::field("body", "invalid_value", clean)
            }
        }
    }
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        let detail = match &err {
            QueryPayloadError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        let field = detail.split('`').nth(1).unwrap_or("query").to_owned();
        ApiError::field(&field, "invalid_query", detail).into()
    })
}

/// A path whose id is not a UUID names no resource: 404, as for an id that
/// does not exist (a link followed from a `null` id lands here too).
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, req| {
        let detail = match &err {
            PathError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        ApiError::problem(Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            format!("{} is not an id, so it names nothing here ({detail})", req.path()),
        ))
        .into()
    })
}

/// Bodies read by anything other than the JSON extractor.
pub fn payload_config(limit: usize) -> web::PayloadConfig {
    web::PayloadConfig::new(limit)
}

/// Converts `validator` failures into field errors: the lengths and ranges
/// the spec states, so a failure is a request outside its shape (400).
pub fn validate<T: validator::Validate>(value: &T) -> Result<(), ApiError> {
    validation_errors(value).map_err(ApiError::fields)
}

/// The `validator` failures of a value, as field errors sorted by field.
pub fn validation_errors<T: validator::Validate>(value: &T) -> Result<(), Vec<crm_app::FieldError>> {
    value.validate().map_err(|errors| {
        let mut fields = Vec::new();
        for (field, errs) in errors.field_errors() {
            for e in errs {
                let message = e.message.as_ref().map_or_else(|| describe(e), ToString::to_string);
                fields.push(crm_app::FieldError::new(field.to_string(), e.code.to_string(), message));
            }
        }
        fields.sort_by(|a, b| a.field.cmp(&b.field));
        fields
    })
}

pub(crate) fn describe(e: &validator::ValidationError) -> String {
    let param = |k: &str| e.params.get(k).map(ToString::to_string);
    match e.code.as_ref() {
        "length" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be {min} to {max} characters long"),
            (Some(min), None) => format!("must be at least {min} characters long"),
            (None, Some(max)) => format!("must be at most {max} characters long"),
            _ => "has the wrong length".to_owned(),
        },
        "range" => "is out of range".to_owned(),
        other => format!("is invalid ({other})"),
    }
}

/// An optional JSON body (action endpoints): empty means the defaults; when
/// sent, it is checked like any other body.
pub fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| serde_problem(&e))?;
    // The spec offers `null` for "no body" (`oneOf: [null, …]`), so it means the defaults too.
    if value.is_null() {
        return Ok(T::default());
    }
    let value = whole_numbers(value);
    an_object(&value)?;
    typed_text(&value)?;
    serde_json::from_value(value).map_err(|e| serde_problem(&e))
}

/// A JSON body people (or integrations acting for them) typed: like
/// `web::Json` — same size limit, content type and errors — but a string
/// holding a control character other than tab, line feed or carriage return
/// is refused with 400 naming every field that holds one, before any use
/// case sees it. Channel payloads (mail, messengers, forms) are read as bytes
/// instead and cleaned by the intake, which says what it dropped.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let body = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let value = whole_numbers(body.await?.into_inner());
            an_object(&value)?;
            typed_text(&value)?;
            serde_json::from_value(value).map(Json).map_err(|e| serde_problem(&e).into())
        })
    }
}

/// `184.0` is the integer 184 to JSON Schema (and to JavaScript, which
/// cannot tell them apart), so an integer field takes it; serde alone would
/// refuse it. A fraction stays a number and an integer field refuses it.
fn whole_numbers(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Number(n) => match n.as_f64() {
            // Below 2^53 every whole f64 is exact, so nothing is rounded.
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 =>
            {
                #[allow(clippy::cast_possible_truncation)]
                Value::Number((f as i64).into())
            }
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(whole_numbers).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, whole_numbers(v))).collect()),
        other => other,
    }
}

/// Every body is a JSON object: serde would read a struct from an array of
/// its fields in order (`[null, null]`), which no client means.
fn an_object(value: &serde_json::Value) -> Result<(), ApiError> {
    if value.is_object() {
        Ok(())
    } else {
        Err(ApiError::field("body", "invalid_value", "the body must be a JSON object"))
    }
}

/// Refuses control characters in every string and key of a typed body.
pub fn typed_text(value: &serde_json::Value) -> Result<(), ApiError> {
    let mut found = Vec::new();
    walk_text(value, &mut String::new(), &mut found);
    if found.is_empty() {
        Ok(())
    } else {
        Err(ApiError::fields(found))
    }
}

pub(crate) fn walk_text(value: &serde_json::Value, path: &mut String, found: &mut Vec<crm_app::FieldError>) {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            let field = if path.is_empty() { "body".to_owned() } else { path.clone() };
            if let Some(c) = crm_domain::text::first_forbidden(s) {
                found.push(control_character(&field, &c));
            } else if is_date_field(&field) {
                if let Some(e) = date_out_of_range(&field, s) {
                    found.push(e);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk_text(item, path, found);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                // A union's tag names its branch in words; serde would also
                // take the branch's index (`"kind": 0`), which the spec does not offer.
                if matches!(k.as_str(), "kind" | "action" | "mode") && item.is_number() {
                    let field = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    found.push(crm_app::FieldError::new(
                        field,
                        "invalid_value",
                        "a tag is one of the listed words",
                    ));
                    continue;
                }
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                match crm_domain::text::first_forbidden(k) {
                    // The key itself is bad: name it without the character.
                    Some(c) => {
                        path.push_str(&crm_domain::text::clean_inbound(k).0);
                        found.push(control_character(path, &c));
                    }
                    None => {
                        path.push_str(k);
                        walk_text(item, path, found);
                    }
                }
                path.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// The years a date or time may fall in: what a CRM's documents and plans
/// can mean. `0001-01-01` or `9999-12-31` is a typo or a probe, and would
/// sort, age and print badly.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

/// Our date and time fields follow one naming rule (`*_at`, `*_on`,
/// `*_until`, `*_since`, `*_date`): the field's last segment tells.
pub(crate) fn is_date_field(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    let last = last.split('[').next().unwrap_or(last);
    ["_at", "_on", "_until", "_since", "_date"].iter().any(|s| last.ends_with(s)) || last == "date"
}

/// A date (`YYYY-MM-DD`) or time (RFC 3339) outside `YEARS`, as a field error.
pub(crate) fn date_out_of_range(field: &str, s: &str) -> Option<crm_app::FieldError> {
    use chrono::Datelike;
    let year = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| d.year())
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(s).map(|t| t.year()))
        .ok()?;
    (!YEARS.contains(&year)).then(|| {
        crm_app::FieldError::new(
            field,
            "date_out_of_range",
            format!("{s} is outside the years {} to {}", YEARS.start(), YEARS.end()),
        )
    })
}

pub(crate) fn control_character(field: &str, c: &str) -> crm_app::FieldError {
    crm_app::FieldError::new(
        field,
        "control_character",
        format!("must not contain the control character {c} (only tab and line breaks are allowed)"),
    )
}

/// Refuses control characters in the query string and the path before any
/// handler runs: a query value or a path segment reaches SQL as text, and
/// PostgreSQL answers a NUL with an error.
pub fn typed_request_line(req: &HttpRequest) -> Result<(), ApiError> {
    let raw_path = req.path();
    if let Some(c) = encoded_control(raw_path) {
        return Err(ApiError::fields(vec![control_character("path", &c)]));
    }
    let query = req.query_string();
    if query.is_empty() {
        return Ok(());
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let mut found = Vec::new();
    for (k, v) in &pairs {
        if let Some(c) = crm_domain::text::first_forbidden(k).or_else(|| crm_domain::text::first_forbidden(v))
        {
            found.push(control_character(&crm_domain::text::clean_inbound(k).0, &c));
        } else if is_date_field(k) {
            found.extend(date_out_of_range(k, v));
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(ApiError::fields(found))
    }
}

/// A control character in a raw path, plain or percent-encoded (`%00`…`%1F`,
/// `%7F`, and the C1 set `%C2%80`…`%C2%9F`), as `U+XXXX`: the same rule as
/// typed text (`crm_domain::text::first_forbidden`).
pub(crate) fn encoded_control(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                decoded.push(b);
                i += 3;
            }
            (b, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    crm_domain::text::first_forbidden(&String::from_utf8_lossy(&decoded))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::proxies::TrustedProxies;

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_client_is_the_rightmost_hop_our_proxies_did_not_add() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.168.1.7").unwrap();
        let from = |peer: &str, xff: &[&str]| proxies.client_of(ip(peer), xff.iter().copied());
        // A stranger's headers are ignored.
        assert_eq!(from("203.0.113.5", &["1.2.3.4"]), ip("203.0.113.5"));
        // Behind our balancer: the hop it saw, whatever the client wrote before it.
        assert_eq!(from("10.0.0.2", &["6.6.6.6, 198.51.100.7"]), ip("198.51.100.7"));
        // Through two of ours, in one header or two.
        assert_eq!(from("10.0.0.2", &["6.6.6.6, 198.51.100.7, 192.168.1.7"]), ip("198.51.100.7"));
        assert_eq!(from("10.0.0.2", &["6.6.6.6, 198.51.100.7", "10.1.1.1"]), ip("198.51.100.7"));
        // Garbage ends the walk at the last hop we trust; ports and brackets are read.
        assert_eq!(from("10.0.0.2", &["evil, 10.1.1.1"]), ip("10.1.1.1"));
        assert_eq!(from("10.0.0.2", &["[2001:db8::1]:443"]), ip("2001:db8::1"));
        assert_eq!(from("10.0.0.2", &["198.51.100.9:5123"]), ip("198.51.100.9"));
        // No header: the proxy itself.
        assert_eq!(from("10.0.0.2", &[]), ip("10.0.0.2"));
        // IPv4 seen through an IPv6 socket is the IPv4 address.
        assert!(proxies.contains(ip("::ffff:10.0.0.2")));
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("").unwrap().0.is_empty());
    }

    #[test]
    fn encoded_control_characters_in_a_path_are_found() {
        assert_eq!(encoded_control("/api/v1/intake/forms/ab%00c").as_deref(), Some("U+0000"));
        assert_eq!(encoded_control("/x/%1f").as_deref(), Some("U+001F"));
        assert_eq!(encoded_control("/x/%7F").as_deref(), Some("U+007F"));
        assert_eq!(encoded_control("/x/%D0%A0%20ok"), None);
        assert_eq!(encoded_control("/x/%C2%8D%C2%8A").as_deref(), Some("U+008D"));
        assert_eq!(encoded_control("/x/%zz%"), None);
    }

    #[test]
    fn date_fields_are_known_by_their_names() {
        assert!(is_date_field("valid_until") && is_date_field("schedule[2].due_on") && is_date_field("date"));
        assert!(!is_date_field("comment") && !is_date_field("update"));
        assert!(date_out_of_range("due_on", "1899-12-31").is_some());
        assert!(date_out_of_range("due_on", "2200-12-31").is_none());
        assert!(date_out_of_range("planned_at", "2201-01-01T00:00:00Z").is_some());
        assert!(date_out_of_range("planned_at", "not a date").is_none());
    }
}
