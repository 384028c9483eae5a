//! Request limits per caller (`CRM_RATE_LIMIT`): each signed-in user and each
//! API key has its own budget, and unauthenticated callers one per address.
//! Counting is governor's GCRA, kept in this instance's memory (several
//! instances behind a balancer each count on their own). Every `/api/v1`
//! response carries `RateLimit-Limit`, `RateLimit-Remaining` and
//! `RateLimit-Reset`; a request past the budget is 429 with `Retry-After`.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use chrono::{DateTime, Utc};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::extract::AppState;
use crate::middleware::Authenticated;

pub const LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
pub const REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
pub const RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// `CRM_RATE_LIMIT`: so many requests per period, per caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub requests: NonZeroU32,
    pub per: Duration,
}

impl Rate {
    /// `600/min`, `20/s`, `10000/h`; `None` for `off`.
    pub fn parse(raw: &str) -> Result<Option<Rate>, String> {
        let raw = raw.trim();
        if raw == "off" {
            return Ok(None);
        }
        let bad = || format!("{raw:?} is not a rate such as 600/min, 20/s or 10000/h, nor off");
        let (n, unit) = raw.split_once('/').ok_or_else(bad)?;
        let requests = n.trim().parse::<NonZeroU32>().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" => Duration::from_secs(1),
            "min" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        Ok(Some(Rate { requests, per }))
    }
}

/// The app's clock as governor reads it: time since the limiter began. The
/// injected clock, not the wall's, so tests decide when budgets refill.
#[derive(Clone)]
struct AppClock {
    clock: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    origin: DateTime<Utc>,
}

impl governor::clock::Clock for AppClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        // A clock set back reads as the origin: no budget is refilled by it.
        ((self.clock)() - self.origin).to_std().unwrap_or_default()
    }
}

type Limiter = RateLimiter<String, DefaultKeyedStateStore<String>, AppClock, StateInformationMiddleware>;

/// The limiter one server shares across its workers.
#[derive(Clone)]
pub struct Limits {
    limiter: Arc<Limiter>,
    rate: Rate,
    clock: AppClock,
    checks: Arc<AtomicU64>,
    /// API keys that authenticated, by the SHA-256 of the presented secret:
    /// which budget a key spends, never whether it is let in.
    keys: Arc<Mutex<HashMap<[u8; 32], Uuid>>>,
}

/// Keys remembered at most; past it the memory starts again empty.
const KNOWN_KEYS: usize = 10_000;

impl Limits {
    pub fn new(rate: Rate, now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>) -> Self {
        let clock = AppClock { origin: now(), clock: now };
        // The whole budget may be spent at once, and refills evenly over the period.
        let refill = rate.per / rate.requests.get();
        let quota = Quota::with_period(refill.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(rate.requests))
            .allow_burst(rate.requests);
        let limiter = RateLimiter::dashmap_with_clock(quota, clock.clone())
            .with_middleware::<StateInformationMiddleware>();
        Limits {
            limiter: Arc::new(limiter),
            rate,
            clock,
            checks: Arc::new(AtomicU64::new(0)),
            keys: Arc::default(),
        }
    }

    fn known_key(&self, digest: &[u8; 32]) -> Option<Uuid> {
        self.keys.lock().ok()?.get(digest).copied()
    }

    fn remember_key(&self, digest: [u8; 32], id: Uuid) {
        if let Ok(mut keys) = self.keys.lock() {
            if keys.len() >= KNOWN_KEYS {
                keys.clear();
            }
            keys.insert(digest, id);
        }
    }

    /// Takes one request from `key`'s budget: the headers to send, and
    /// `Some(retry_after)` when the budget is spent.
    fn take(&self, key: &str) -> (u32, u32, u64, Option<u64>) {
        // Callers that went quiet are forgotten now and then, so the table
        // holds only recent ones.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
        }
        let limit = self.rate.requests.get();
        let refill = self.rate.per.as_secs_f64() / f64::from(limit);
        match self.limiter.check_key(&key.to_owned()) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let reset = (f64::from(limit - remaining) * refill).ceil() as u64;
                (limit, remaining, reset, None)
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(&self.clock));
                let retry = wait.as_secs_f64().ceil().max(1.0) as u64;
                let reset = (wait.as_secs_f64() + f64::from(limit - 1) * refill).ceil() as u64;
                (limit, 0, reset, Some(retry))
            }
        }
    }
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: u64) {
    headers.insert(name, HeaderValue::from(value));
}

/// Whose budget a request spends: the user an access token names (its
/// signature is checked here, without the database), the key an API key is
/// (found once, then known by its digest), and anything else its address.
/// The session and the key are still checked in full where the use case
/// runs: a signed-out token or a revoked key spends its own budget and is
/// then refused.
async fn caller(req: &ServiceRequest, state: &web::Data<AppState>, limits: &Limits) -> String {
    let address = || format!("address:{}", crate::extract::client_address(req.request(), &state.proxies));
    let Ok(Some(cred)) = crate::extract::credential(req.request()) else { return address() };
    if !cred.starts_with(crm_app::identity::auth::API_KEY_PREFIX) {
        return match crm_app::identity::auth::verify_access_token(&state.app, &cred) {
            Ok(claim) => format!("user:{}", claim.user_id),
            Err(_) => address(),
        };
    }
    let digest: [u8; 32] = Sha256::digest(cred.as_bytes()).into();
    if let Some(id) = limits.known_key(&digest) {
        return format!("key:{id}");
    }
    // A key not seen before is looked up here, and the handler then uses
    // what was found; a key that is not one spends its address's budget.
    let found =
        crate::extract::run(state, move |app| crm_app::identity::auth::authenticate_api_key(app, &cred))
            .await;
    let Ok(principal) = found else { return address() };
    if let crm_app::Principal::ApiKey(key) = &principal {
        limits.remember_key(digest, key.id);
    }
    let key = crate::middleware::principal_key(&principal);
    req.extensions_mut().insert(Authenticated(principal));
    key
}

pub async fn limit(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let (Some(limits), Some(state)) =
        (req.app_data::<web::Data<Limits>>().cloned(), req.app_data::<web::Data<AppState>>().cloned())
    else {
        return next.call(req).await;
    };
    // Probes and the documentation are not the API's budget.
    if !req.path().starts_with("/api/") {
        return next.call(req).await;
    }
    let key = caller(&req, &state, &limits).await;
    let (limit, remaining, reset, refused) = limits.take(&key);
    let mut res = match refused {
        Some(retry) => {
            let e = ApiError::problem(Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests",
                format!(
                    "at most {limit} requests per {} s; retry after {retry} s",
                    limits.rate.per.as_secs()
                ),
            ));
            let mut res = crate::middleware::problem_response(req, e);
            set(res.headers_mut(), actix_web::http::header::RETRY_AFTER, retry);
            res
        }
        None => next.call(req).await?,
    };
    let headers = res.headers_mut();
    set(headers, LIMIT, u64::from(limit));
    set(headers, REMAINING, u64::from(remaining));
    set(headers, RESET, reset);
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_read_with_their_unit() {
        let r = Rate::parse("600/min").unwrap().unwrap();
        assert_eq!((r.requests.get(), r.per), (600, Duration::from_secs(60)));
        assert_eq!(Rate::parse(" 20/s ").unwrap().unwrap().per, Duration::from_secs(1));
        assert_eq!(Rate::parse("10000/h").unwrap().unwrap().per, Duration::from_secs(3600));
        assert_eq!(Rate::parse("off").unwrap(), None);
        for bad in ["", "600", "0/min", "-1/min", "10/day", "ten/s", "600/min/s"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }
}
