//! Sends webhook deliveries: claims what is due (the app decides), signs each
//! event as Standard Webhooks describe with the `standardwebhooks` crate (the
//! specification's own Rust library), posts it to the address that passed
//! the check — pinned, so a DNS answer cannot change between check and
//! connection — and records how the receiver took it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use crm_app::feed::dispatch::{Job, Outcome};
use crm_app::feed::webhooks::Target;
use crm_app::{App, AppError};

use crate::routes::feed::EventDto;

/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries one run claims at most (sent at once).
pub const CLAIM: usize = 32;
/// How much of an answer is kept.
const EXCERPT: usize = 1024;

fn failed(started: Instant, error: String) -> Outcome {
    Outcome { status_code: None, latency_ms: elapsed(started), error: Some(error), excerpt: None }
}

fn elapsed(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// Clients by target host and the addresses it was checked at: a client
/// keeps its connections (and TLS sessions) open between deliveries, and
/// one pinned to other addresses is a different client.
type Clients = HashMap<(String, Vec<SocketAddr>), reqwest::Client>;

static CLIENTS: OnceLock<Mutex<Clients>> = OnceLock::new();

/// Clients kept at most; past it the cache starts afresh.
const MAX_CLIENTS: usize = 256;

fn client_for(target: &Target) -> Result<reqwest::Client, reqwest::Error> {
    let host = target.url.host_str().unwrap_or_default().to_owned();
    let key = (host.clone(), target.addrs.clone());
    let cache = CLIENTS.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(c) = cache.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(c);
    }
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(TIMEOUT)
        .user_agent(concat!("crm-webhooks/", env!("CARGO_PKG_VERSION")));
    if host.parse::<std::net::IpAddr>().is_err() {
        // Connect to the addresses that passed the check, not to a new DNS answer.
        builder = builder.resolve_to_addrs(&host, &target.addrs);
    }
    let client = builder.build()?;
    if let Ok(mut m) = cache.lock() {
        if m.len() >= MAX_CLIENTS {
            m.clear();
        }
        m.insert(key, client.clone());
    }
    Ok(client)
}

/// Posts one event, signed, and reports the answer (never an error: a
/// failure is an outcome to record).
pub async fn send(target: &Target, secret: &str, event: &EventDto, now: DateTime<Utc>) -> Outcome {
    let started = Instant::now();
    let body = match serde_json::to_vec(event) {
        Ok(b) => b,
        Err(e) => return failed(started, format!("the event could not be written: {e}")),
    };
    let id = event.id.to_string();
    let timestamp = now.timestamp();
    let signature = match standardwebhooks::Webhook::new(secret).and_then(|w| w.sign(&id, timestamp, &body)) {
        Ok(s) => s,
        Err(e) => return failed(started, format!("the event could not be signed: {e}")),
    };
    let client = match client_for(target) {
        Ok(c) => c,
        Err(e) => return failed(started, format!("no HTTP client: {e}")),
    };
    let sent = client
        .post(target.url.clone())
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let mut res = match sent {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return failed(started, format!("no answer within {} s", TIMEOUT.as_secs()))
        }
        Err(e) if e.is_connect() => return failed(started, "could not connect".to_owned()),
        Err(e) => return failed(started, format!("the request failed: {e}")),
    };
    let status = res.status().as_u16();
    let mut excerpt = Vec::new();
    while excerpt.len() < EXCERPT {
        match res.chunk().await {
            Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk[..chunk.len().min(EXCERPT - excerpt.len())]),
            Ok(None) | Err(_) => break,
        }
    }
    let excerpt = (!excerpt.is_empty()).then(|| String::from_utf8_lossy(&excerpt).into_owned());
    let error = (!(200..300).contains(&status)).then(|| format!("the receiver answered {status}"));
    Outcome { status_code: Some(status), latency_ms: elapsed(started), error, excerpt }
}

async fn blocking<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&App) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let app = app.clone();
    tokio::task::spawn_blocking(move || f(&app)).await.map_err(AppError::internal)?
}

/// One round: new events become deliveries, then what is due is sent and
/// recorded. Returns how many attempts were made. Safe to run on several
/// instances at once: each delivery is claimed by one.
pub async fn run_once(app: &App) -> Result<usize, AppError> {
    blocking(app, crm_app::feed::dispatch::enqueue).await?;
    let jobs: Vec<Job> =
        blocking(app, |a| crm_app::feed::dispatch::claim(a, i64::try_from(CLAIM).unwrap_or(32))).await?;
    let now = app.now();
    let sends = jobs.iter().map(|job| {
        let event = EventDto::from(job.event.clone());
        async move { send(&job.target, &job.secret, &event, now).await }
    });
    let outcomes = futures_util::future::join_all(sends).await;
    let n = outcomes.len();
    for (job, outcome) in jobs.into_iter().zip(outcomes) {
        let id = job.delivery_id;
        blocking(app, move |a| crm_app::feed::dispatch::record(a, id, &outcome)).await?;
    }
    Ok(n)
}
