//! The access audit (`CRM_ACCESS_AUDIT=on`): every use case a request runs
//! reports the accesses it required (`crm_app::identity::principal::recording_access`),
//! and the reply is held to the access the spec publishes for the operation
//! (`openapi::ACCESS`). A difference answers 500 naming both, so the published
//! roles and key scopes cannot drift from the code: the test suite runs with
//! the audit on, and a walk over every operation of the spec proves each one.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::web;
use crm_app::identity::permissions::{Access, KeyRule};

use crate::error::Problem;

/// How many accesses the use cases of an audited request required (the walk
/// over the spec reads it to know the request reached its use case).
pub const CHECKED_HEADER: HeaderName = HeaderName::from_static("x-crm-access-checked");

type Seen = Rc<RefCell<Vec<Access>>>;

tokio::task_local! {
    /// The accesses required while the current request is served.
    static SEEN: Seen;
}

/// Adds what one use case required to the current request's record (no-op
/// when the audit is off).
pub fn note(checked: Vec<Access>) {
    // Outside an audited request there is no record to add to.
    let _ = SEEN.try_with(|seen| seen.borrow_mut().extend(checked));
}

/// The operations of the spec by method and path template: their id and the
/// access they publish (`None`: public).
#[derive(Clone)]
pub struct Published(Arc<HashMap<Route, Operation>>);

/// An operation's method (lower case) and path template, as the spec keys it.
type Route = (String, String);
/// Its id and the access it publishes.
type Operation = (String, Option<&'static Access>);

impl Published {
    pub fn from_spec(spec: &serde_json::Value) -> Self {
        let mut operations = HashMap::new();
        let paths = spec.get("paths").and_then(|p| p.as_object());
        for (path, item) in paths.into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                let Some(id) = op.get("operationId").and_then(|v| v.as_str()) else { continue };
                let access = crate::openapi::ACCESS.iter().find(|(op_id, _)| *op_id == id).map(|(_, a)| *a);
                operations.insert((method.to_ascii_lowercase(), path.clone()), (id.to_owned(), access));
            }
        }
        Published(Arc::new(operations))
    }
}

fn describe(access: &Access) -> String {
    let roles: Vec<&str> = access.roles.iter().map(|r| r.as_str()).collect();
    let key = match access.key {
        KeyRule::Never => "no API keys".to_owned(),
        KeyRule::Any => "any API key".to_owned(),
        KeyRule::Scope(s) => format!("API key scope {}", s.as_str()),
    };
    format!("\"{}\" (roles {}; {key})", access.action, roles.join(", "))
}

/// Whether everyone `outer` lets in also passes `inner`: a use case that
/// calls another (accepting a lead creates a client and an interest) may
/// require the inner one's access too, and the published access stays true
/// as long as that never refuses someone it admits.
fn implies(outer: &Access, inner: &Access) -> bool {
    let roles = outer.roles.iter().all(|r| inner.roles.contains(r));
    let keys = match (outer.key, inner.key) {
        (KeyRule::Never, _) | (_, KeyRule::Any) => true,
        (KeyRule::Scope(a), KeyRule::Scope(b)) => a == b,
        (KeyRule::Any, _) => false,
        (KeyRule::Scope(_), KeyRule::Never) => false,
    };
    roles && keys
}

/// What is wrong with a reply, if anything: `checked` is what the use cases
/// required, in order, `expected` what the spec publishes. The operation's
/// own check comes first; the checks of use cases it calls must follow from it.
fn verdict(id: &str, expected: Option<&Access>, checked: &[Access], status: StatusCode) -> Option<String> {
    match expected {
        None => checked
            .first()
            .map(|got| format!("{id} is published as public, but the code required {}", describe(got))),
        Some(want) => {
            if let Some(first) = checked.first().filter(|got| *got != want) {
                return Some(format!(
                    "{id} publishes {}, but the code required {}",
                    describe(want),
                    describe(first)
                ));
            }
            if let Some(got) = checked.iter().find(|got| !implies(want, got)) {
                return Some(format!(
                    "{id} publishes {}, but the code also required {}, which refuses some of them",
                    describe(want),
                    describe(got)
                ));
            }
            // A request refused before its use case (401, a malformed body)
            // checks nothing; one that succeeded must have checked.
            (checked.is_empty() && status.is_success())
                .then(|| format!("{id} publishes {}, but the code required nothing", describe(want)))
        }
    }
}

pub async fn audit(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(published) = req.app_data::<web::Data<Published>>().cloned() else {
        return next.call(req).await;
    };
    let seen: Seen = Rc::default();
    let mut res = SEEN.scope(seen.clone(), next.call(req)).await?;
    let checked = seen.borrow().clone();
    let method = res.request().method().as_str().to_ascii_lowercase();
    let Some(pattern) = res.request().match_pattern() else { return Ok(res) };
    let problem = match published.0.get(&(method.clone(), pattern.clone())) {
        Some((id, expected)) => verdict(id, *expected, &checked, res.status()),
        None => checked.first().map(|got| {
            format!("{method} {pattern} is not in the spec, but the code required {}", describe(got))
        }),
    };
    if let Some(detail) = problem {
        tracing::error!(%detail, "the access the code requires differs from the published one");
        let (req, _) = res.into_parts();
        let problem =
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "access_audit", "Access audit failed", detail);
        return Ok(ServiceResponse::new(req, problem.response()));
    }
    if let Ok(value) = HeaderValue::from_str(&checked.len().to_string()) {
        res.headers_mut().insert(CHECKED_HEADER, value);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crm_app::identity::permissions as perm;

    #[test]
    fn a_different_access_a_missing_check_or_a_check_on_a_public_operation_fail() {
        let ok = StatusCode::OK;
        assert_eq!(verdict("listUsers", Some(&perm::LIST_USERS), &[perm::LIST_USERS], ok), None);
        assert_eq!(
            verdict("listUsers", Some(&perm::LIST_USERS), &[perm::LIST_USERS, perm::LIST_USERS], ok),
            None
        );
        assert!(verdict("listUsers", Some(&perm::LIST_USERS), &[perm::CREATE_USER], ok)
            .unwrap()
            .contains("create users"));
        assert!(verdict("listUsers", Some(&perm::LIST_USERS), &[perm::LIST_USERS, perm::CREATE_USER], ok)
            .unwrap()
            .contains("refuses"));
        // Accepting a lead creates a client and an interest: their checks admit every lead acceptor.
        let accept = [perm::PROCESS_LEADS, perm::WRITE_CLIENTS, perm::WRITE_INTERESTS];
        assert_eq!(verdict("acceptLead", Some(&perm::PROCESS_LEADS), &accept, ok), None);
        assert!(verdict("acceptLead", Some(&perm::PROCESS_LEADS), &[perm::WRITE_CLIENTS], ok).is_some());
        assert!(verdict("listUsers", Some(&perm::LIST_USERS), &[], ok).unwrap().contains("nothing"));
        assert_eq!(verdict("listUsers", Some(&perm::LIST_USERS), &[], StatusCode::BAD_REQUEST), None);
        assert_eq!(verdict("login", None, &[], ok), None);
        assert!(verdict("login", None, &[perm::LIST_USERS], ok).unwrap().contains("public"));
    }
}
