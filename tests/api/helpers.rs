//! Test harness: each test gets its own database (a temporary SQLite file, or
//! a fresh PostgreSQL database when `CRM_TEST_DATABASE_URL` is set, dropped
//! afterwards) and a real server on a random port, with a manual clock.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};
use crm_api::{Application, Config};
use crm_app::ManualClock;
use diesel::{Connection, RunQueryDsl};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

pub const ADMIN_EMAIL: &str = "admin@test.crm";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-42";
pub const PASSWORD: &str = "user-password-1";

/// The test server is on loopback: its connections skip TLS unless the URL
/// asks for it. With TLS, libpq's OpenSSL runs its exit-time cleanup while
/// the test binary's leftover server threads may still hold connections,
/// and the process can abort at exit after every test passed ("double free
/// or corruption"; diesel-rs/diesel#3441, #2162).
pub fn without_tls(url: &str) -> String {
    if url.contains("sslmode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&sslmode=disable")
    } else {
        format!("{url}?sslmode=disable")
    }
}

/// A database that exists for one test.
pub enum TestDb {
    Sqlite { _dir: tempfile::TempDir, url: String },
    Postgres { admin_url: String, name: String, url: String },
}

impl TestDb {
    pub fn new() -> Self {
        match std::env::var("CRM_TEST_DATABASE_URL").ok().filter(|v| !v.is_empty()) {
            Some(admin_url) => Self::postgres(&admin_url),
            None => Self::sqlite(),
        }
    }

    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("crm.db").display());
        TestDb::Sqlite { _dir: dir, url }
    }

    pub fn postgres(admin_url: &str) -> Self {
        let admin_url = without_tls(admin_url);
        let name = format!("crm_test_{}", uuid::Uuid::now_v7().simple());
        let mut conn = diesel::PgConnection::establish(&admin_url)
            .unwrap_or_else(|e| panic!("CRM_TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}"));
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn).unwrap();
        let (base, query) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
        let (server, _) = base.rsplit_once('/').unwrap();
        let url = format!("{server}/{name}?{query}");
        TestDb::Postgres { admin_url: admin_url.clone(), url, name }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, TestDb::Postgres { .. })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name, .. } = self {
            if let Ok(mut conn) = diesel::PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub app: crm_app::App,
    pub db: TestDb,
    pub data_dir: tempfile::TempDir,
}

/// Where every test's clock starts unless the test sets it: a fixed instant,
/// so the suite never depends on the hour it runs at. `CRM_TEST_START`
/// (RFC 3339) moves it; `.ci/run` runs the suite again at the instants where
/// Moscow's date differs from UTC's (20:59, 21:01, 23:59 UTC and New Year's
/// Eve at 22:30 UTC) to prove that no expected date is taken in the wrong zone.
pub fn start_time() -> DateTime<Utc> {
    const DEFAULT_START: &str = "2026-12-01T09:00:00Z";
    let start = std::env::var("CRM_TEST_START").ok().filter(|v| !v.is_empty());
    let text = start.as_deref().unwrap_or(DEFAULT_START);
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("CRM_TEST_START={text:?} is not an RFC 3339 instant: {e}"))
        .with_timezone(&Utc)
        .trunc_subsecs(0)
}

/// The zone the server judges "today" in when a user has none of their own
/// (the test servers run with the default, Moscow).
pub const SERVER_ZONE: chrono_tz::Tz = chrono_tz::Europe::Moscow;

/// Starts a server with the test defaults, overridden by `vars`.
pub async fn spawn_app_with(vars: &[(&str, &str)]) -> TestApp {
    let db = TestDb::new();
    spawn_app_on(db, vars).await
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_on(db: TestDb, vars: &[(&str, &str)]) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        // Logs only on request, so a failing test's output stays readable.
        let _ = tracing_subscriber::fmt().with_env_filter("info").with_test_writer().try_init();
    }
    let data_dir = tempfile::tempdir().unwrap();
    let mut env: HashMap<String, String> = [
        ("CRM_BIND", "127.0.0.1:0"),
        ("DATABASE_URL", db.url()),
        ("CRM_JWT_SECRET", JWT_SECRET),
        ("CRM_ADMIN_EMAIL", ADMIN_EMAIL),
        ("CRM_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("CRM_DATA_DIR", data_dir.path().to_str().unwrap()),
        ("CRM_WORKERS", "2"),
        ("CRM_DB_POOL_SIZE", "4"),
        ("CRM_ACCESS_AUDIT", "on"),
        // Tests send webhook deliveries themselves (`crm_api::webhooks::run_once`), on the test clock.
        ("CRM_WEBHOOKS_INTERVAL", "off"),
        // The test clock stands still, so budgets never refill: a budget no
        // test reaches, except those that set their own to test the limit.
        ("CRM_RATE_LIMIT", "100000/min"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in vars {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
    let clock = Arc::new(ManualClock::new(start_time()));
    let application = Application::build(config, clock.clone()).unwrap();
    let port = application.port();
    let app = application.app();
    tokio::spawn(application.run_until_stopped());
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        clock,
        app,
        db,
        data_dir,
    }
}

/// A response read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub async fn read(res: Response) -> Self {
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, headers, body, text }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json answer with this status, and returns its body.
    #[track_caller]
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "expected {status}, got {}: {}", self.status, self.text);
        assert!(
            self.header("content-type").is_some_and(|c| c.starts_with("application/problem+json")),
            "not problem+json: {:?} {}",
            self.header("content-type"),
            self.text
        );
        assert_eq!(self.body["status"], status, "{}", self.text);
        assert!(
            self.body["type"].is_string()
                && self.body["title"].is_string()
                && self.body["detail"].is_string()
        );
        assert!(self.header("x-request-id").is_some(), "no x-request-id");
        &self.body
    }

    /// The field names a 400 problem lists.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| a.iter().map(|e| e["field"].as_str().unwrap_or_default().to_owned()).collect())
            .unwrap_or_default()
    }

    pub fn unmet_checks(&self) -> Vec<String> {
        self.body["unmet"]
            .as_array()
            .map(|a| a.iter().map(|e| e["check"].as_str().unwrap_or_default().to_owned()).collect())
            .unwrap_or_default()
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        Reply::read(self.request(Method::GET, path, Some(token)).send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        Reply::read(self.request(Method::POST, path, token).json(body).send().await.unwrap()).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Reply {
        Reply::read(self.request(Method::PATCH, path, Some(token)).json(body).send().await.unwrap()).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        Reply::read(self.request(Method::DELETE, path, Some(token)).send().await.unwrap()).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post("/api/v1/auth/login", None, &json!({"email": email, "password": password})).await
    }

    /// Signs in and returns the access token, failing the test otherwise.
    pub async fn token(&self, email: &str, password: &str) -> String {
        let r = self.login(email, password).await;
        assert_eq!(r.status, 200, "login of {email} failed: {}", r.text);
        r.body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.token(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Creates a user as the admin and returns its body.
    pub async fn create_user(&self, admin: &str, email: &str, role: &str, department: Option<&str>) -> Value {
        let r = self
            .post(
                "/api/v1/users",
                Some(admin),
                &json!({"email": email, "name": format!("User {email}"), "role": role,
                        "department_id": department, "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body
    }

    pub async fn user_count(&self, admin: &str) -> usize {
        let r = self.get("/api/v1/users?limit=200", admin).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["items"].as_array().unwrap().len()
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
    }

    /// The server's "now" (the injected clock).
    pub fn clock_now(&self) -> DateTime<Utc> {
        crm_app::platform::clock::Clock::now(self.clock.as_ref())
    }

    /// The server's "today": the injected clock's date in the server's zone,
    /// which is not UTC's date between 21:00 and 24:00 UTC.
    pub fn today(&self) -> chrono::NaiveDate {
        self.clock_now().with_timezone(&SERVER_ZONE).date_naive()
    }

    /// A date `n` days from the server's today, as JSON writes it.
    pub fn day(&self, n: i64) -> String {
        (self.today() + chrono::Duration::days(n)).to_string()
    }
}
