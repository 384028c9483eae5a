//! What a use case can answer besides success. The API maps each variant to
//! one status and a problem+json body; internal causes are logged, never sent.

use std::time::Duration;

use crm_domain::ValueError;

/// One invalid input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.into(), message: message.into() }
    }

    pub fn from_value(field: impl Into<String>, err: ValueError) -> Self {
        Self::new(field, err.code, err.message)
    }
}

/// One business rule that a request did not meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmet {
    pub check: String,
    pub message: String,
}

impl Unmet {
    pub fn new(check: impl Into<String>, message: impl Into<String>) -> Self {
        Self { check: check.into(), message: message.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input that was read but breaks the use case's rules: a format, a
    /// length, a checksum, a date against today, one field against another (422).
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    /// Input outside the shape the spec publishes for it, found by a use
    /// case rather than the extractor: a query value outside its pattern (400).
    #[error("malformed input")]
    Malformed(Vec<FieldError>),
    /// No credentials, or bad ones (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// Absent or not visible to this actor (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Conflicts with the current state (409).
    #[error("{message}")]
    Conflict { message: String, field: Option<String> },
    /// The new record looks like existing ones (409); the caller may confirm and retry.
    #[error("possible duplicates found")]
    Duplicates(Vec<crm_domain::duplicates::Candidate>),
    /// `If-Match` named a version that is no longer current (412).
    #[error("the resource has changed since version {expected}; it is now at version {current}")]
    PreconditionFailed { expected: i64, current: i64 },
    /// Valid input that breaks business rules; every unmet rule is listed (422).
    #[error("business rules not met")]
    Rules(Vec<Unmet>),
    /// Too many attempts (429).
    #[error("too many attempts")]
    RateLimited { retry_after: Duration },
    /// A change-feed cursor from before what retention keeps (410): events
    /// after it are gone, so the reader must resync from the lists.
    #[error("the cursor is older than the events kept")]
    CursorExpired,
    /// The database did not give a connection in time (503).
    #[error("database unavailable")]
    Unavailable,
    /// A mail server (or another outside system) refused or failed (502); the attempt is recorded.
    #[error("delivery failed: {message}")]
    /// `path`: the collection the attempt is read from (`invoice-sendings`).
    DeliveryFailed { message: String, attempt: uuid::Uuid, path: &'static str },
    /// A fault of ours; the cause is logged, the client sees a generic message (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }

    /// A value outside its published shape (400), see [`AppError::Malformed`].
    pub fn malformed(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::Malformed(vec![FieldError::new(field, code, message)])
    }

    pub fn rule(check: &str, message: impl Into<String>) -> Self {
        Self::Rules(vec![Unmet::new(check, message)])
    }

    pub fn conflict(field: Option<&str>, message: impl Into<String>) -> Self {
        Self::Conflict { message: message.into(), field: field.map(str::to_owned) }
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::Internal(err.to_string())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        if crm_store::db::is_unique_violation(&err) {
            return AppError::conflict(None, "a record with the same unique value already exists");
        }
        if crm_store::db::is_connection_lost(&err) {
            tracing::warn!(error = %err, "database connection lost");
            return AppError::Unavailable;
        }
        AppError::Internal(format!("database: {err}"))
    }
}

/// An amount past `Money::MAX` is a business rule the request broke (422),
/// never a wrapped number or a 500.
impl From<crm_domain::TooLarge> for AppError {
    fn from(err: crm_domain::TooLarge) -> Self {
        AppError::rule("amount_too_large", err.to_string())
    }
}

impl From<crm_store::StoreError> for AppError {
    fn from(err: crm_store::StoreError) -> Self {
        match err {
            crm_store::StoreError::PoolTimeout(_) => AppError::Unavailable,
            crm_store::StoreError::Query(e) if crm_store::db::is_connection_lost(&e) => AppError::Unavailable,
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// Collects field errors so a request learns every bad field at once.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, code, message));
    }

    /// Keeps the value when it parsed, records the error otherwise.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, ValueError>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(FieldError::from_value(field, e));
                None
            }
        }
    }

    /// A required text field, trimmed: blank or longer than `max` characters is recorded.
    /// One of `allowed`, read from its word; anything else is `{field}: invalid`
    /// with `hint` listing what may be given.
    pub fn word<W: crm_domain::status::Word>(
        &mut self,
        field: &str,
        raw: &str,
        allowed: &[W],
        hint: &str,
    ) -> Option<W> {
        match W::parse(raw).filter(|w| allowed.contains(w)) {
            Some(w) => Some(w),
            None => {
                self.push(field, "invalid", hint);
                None
            }
        }
    }

    pub fn text(&mut self, field: &str, raw: &str, max: usize) -> String {
        let t = raw.trim().to_owned();
        if t.is_empty() {
            self.push(field, "blank", "must not be blank");
        } else if t.chars().count() > max {
            self.push(field, "too_long", format!("must be at most {max} characters"));
        }
        t
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|f| f.field == field)
    }

    pub fn into_result(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}

/// Refuses with 412 when the client's `If-Match` version is not the current one.
pub fn check_version(expected: Option<i64>, current: i64) -> Result<(), AppError> {
    match expected {
        Some(expected) if expected != current => Err(AppError::PreconditionFailed { expected, current }),
        _ => Ok(()),
    }
}
