//! Configuration from environment variables (12-factor). Each has a safe
//! local default; a bad value is one clear line naming the variable.

use std::path::PathBuf;
use std::time::Duration;

use crm_domain::TimeZoneName;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone)]
pub struct Config {
    pub bind: String,
    pub database_url: String,
    pub pool_size: u32,
    pub pool_timeout: Duration,
    /// `None`: use (or make) the secret file in `data_dir`.
    pub jwt_secret: Option<String>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub data_dir: PathBuf,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub admin_email: String,
    pub admin_password: Option<String>,
    pub log_format: LogFormat,
    pub timezone: TimeZoneName,
    pub max_body_bytes: usize,
    /// `CRM_TRUSTED_PROXIES`: your own load balancers; only their
    /// `X-Forwarded-For` is believed.
    pub trusted_proxies: crate::extract::TrustedProxies,
    /// `CRM_VAT_RATES`: the rates the organisation charges (default `22,10,0,without`).
    pub vat_rates: Vec<crm_domain::VatRate>,
    pub workers: Option<usize>,
    /// `CRM_SMTP_URL`: send mail over SMTP; unset, invoices are written as `.eml` files.
    pub smtp_url: Option<String>,
    /// `CRM_MAIL_DIR`: where `.eml` files go without SMTP (default `<data dir>/mail`).
    pub mail_dir: Option<PathBuf>,
    pub mail_from: String,
    /// `CRM_JOBS_INTERVAL`: how often timed rules run (overdue payments); `off` on instances that should not.
    pub jobs_interval: Option<Duration>,
    /// `CRM_EVENTS_RETENTION`: how long the change feed keeps events (30 days).
    pub events_retention: Duration,
    /// `CRM_WEBHOOKS_ALLOW_PRIVATE`: webhooks may target `http` and private addresses.
    pub webhooks_allow_private: bool,
    /// `CRM_DATE_REMINDER_DAYS` (0–60, default 3): how many days before a
    /// client's date its responsible is reminded; `CRM_CONGRATULATE_STATUSES`
    /// (comma-separated client statuses, default `active`; `none`): whose
    /// dates also make a "Congratulate …" task.
    pub date_reminders: crm_app::DateReminders,
    /// `CRM_WEBHOOKS_INTERVAL`: how often this instance sends due webhook deliveries (`off`: never).
    pub webhooks_interval: Option<Duration>,
    /// `CRM_ACCESS_AUDIT`: `on` holds every operation to the access the spec
    /// publishes for it, answering 500 when the code required another (the
    /// test suite runs with it; off by default).
    pub access_audit: bool,
    /// `CRM_CORS_ORIGINS`: the browser origins (`https://crm.example.com`,
    /// comma-separated) that may call `/api/v1` from another site; none by default.
    pub cors_origins: Vec<String>,
    /// `CRM_RATE_LIMIT`: requests per caller (`600/min` by default; `off`).
    pub rate_limit: Option<crate::rate_limit::Rate>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("database", &redact_url(&self.database_url))
            .field("pool_size", &self.pool_size)
            .field("data_dir", &self.data_dir)
            .field("timezone", &self.timezone.as_str())
            .finish_non_exhaustive()
    }
}

/// `"22,10,0,without"` → the rates; at least one, each a VAT rate.
fn parse_vat_rates(raw: &str) -> Result<Vec<crm_domain::VatRate>, String> {
    let mut rates = Vec::new();
    for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let rate = crm_domain::VatRate::parse(item).map_err(|e| e.message)?;
        if !rates.contains(&rate) {
            rates.push(rate);
        }
    }
    if rates.is_empty() {
        return Err("list at least one rate, such as 22,10,0,without".to_owned());
    }
    Ok(rates)
}

/// `"https://a.example, http://localhost:5173"` → the origins, each a scheme,
/// a host and an optional port, exactly as a browser sends `Origin`.
fn parse_origins(raw: &str) -> Result<Vec<String>, String> {
    let mut origins = Vec::new();
    for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let url = url::Url::parse(item).map_err(|e| format!("{item:?} is not an origin: {e}"))?;
        let origin = url.origin().ascii_serialization();
        if !matches!(url.scheme(), "http" | "https") || origin != item.trim_end_matches('/') {
            return Err(format!(
                "{item:?} is not an origin: give the scheme, host and port only, as https://crm.example.com"
            ));
        }
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    Ok(origins)
}

/// A database URL without its password, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// A variable and why its value is refused.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { var, message: message.into() }
}

/// Parses `900`, `45s`, `15m`, `12h`, `30d`.
pub fn parse_duration(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let (digits, unit) = match raw.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => raw.split_at(i),
        None => (raw, "s"),
    };
    let n: u64 = digits.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3_600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// Reads configuration through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let bind = get("CRM_BIND").unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        if bind.parse::<std::net::SocketAddr>().is_err() && !bind.contains(':') {
            return Err(err("CRM_BIND", format!("{bind:?} is not HOST:PORT")));
        }
        let database_url = get("DATABASE_URL").unwrap_or_else(|| "sqlite://crm.db".to_owned());
        crm_app::check_database_url(&database_url).map_err(|e| err("DATABASE_URL", e.to_string()))?;
        let pool_size =
            match get("CRM_DB_POOL_SIZE") {
                None => 10,
                Some(v) => v.parse::<u32>().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
                    err("CRM_DB_POOL_SIZE", format!("{v:?} is not a number from 1 to 1000"))
                })?,
            };
        let duration = |var: &'static str, default: Duration| -> Result<Duration, ConfigError> {
            match get(var) {
                None => Ok(default),
                Some(v) => parse_duration(&v).ok_or_else(|| {
                    err(var, format!("{v:?} is not a duration such as 900, 45s, 15m, 12h or 30d"))
                }),
            }
        };
        let pool_timeout = duration("CRM_DB_POOL_TIMEOUT", Duration::from_secs(3))?;
        let access_token_ttl = duration("CRM_ACCESS_TOKEN_TTL", Duration::from_secs(15 * 60))?;
        let refresh_token_ttl = duration("CRM_REFRESH_TOKEN_TTL", Duration::from_secs(30 * 86_400))?;
        let jobs_interval = match get("CRM_JOBS_INTERVAL").as_deref() {
            Some("off") => None,
            _ => Some(duration("CRM_JOBS_INTERVAL", Duration::from_secs(5 * 60))?),
        };
        let events_retention = duration("CRM_EVENTS_RETENTION", Duration::from_secs(30 * 86_400))?;
        let webhooks_allow_private = match get("CRM_WEBHOOKS_ALLOW_PRIVATE").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(v) => {
                return Err(err("CRM_WEBHOOKS_ALLOW_PRIVATE", format!("{v:?} is neither true nor false")))
            }
        };
        let mut date_reminders = crm_app::DateReminders::default();
        if let Some(raw) = get("CRM_DATE_REMINDER_DAYS") {
            date_reminders.days_before = raw
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|d| *d <= crm_app::parties::dates::MAX_DAYS)
                .ok_or_else(|| {
                    err("CRM_DATE_REMINDER_DAYS", format!("{raw:?} is not a number of days from 0 to 60"))
                })?;
        }
        if let Some(raw) = get("CRM_CONGRATULATE_STATUSES") {
            date_reminders.task_for = if raw.trim() == "none" {
                Vec::new()
            } else {
                raw.split(',')
                    .map(|w| {
                        <crm_domain::status::ClientStatus as crm_domain::status::Word>::parse(w.trim())
                            .ok_or_else(|| {
                                err(
                                    "CRM_CONGRATULATE_STATUSES",
                                    format!("{w:?} is not a client status (prospect, active, inactive)"),
                                )
                            })
                    })
                    .collect::<Result<_, _>>()?
            };
        }
        let webhooks_interval = match get("CRM_WEBHOOKS_INTERVAL").as_deref() {
            Some("off") => None,
            _ => Some(duration("CRM_WEBHOOKS_INTERVAL", Duration::from_secs(2))?),
        };
        let jwt_secret = get("CRM_JWT_SECRET");
        if let Some(s) = &jwt_secret {
            if s.len() < 32 {
                return Err(err("CRM_JWT_SECRET", "must be at least 32 characters"));
            }
        }
        let admin_email = get("CRM_ADMIN_EMAIL").unwrap_or_else(|| "admin@example.com".to_owned());
        crm_domain::Email::parse(&admin_email).map_err(|e| err("CRM_ADMIN_EMAIL", e.message))?;
        let admin_password = get("CRM_ADMIN_PASSWORD");
        if let Some(p) = &admin_password {
            crm_app::identity::auth::check_password_policy(p)
                .map_err(|(_, m)| err("CRM_ADMIN_PASSWORD", m))?;
        }
        let log_format = match get("CRM_LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(err("CRM_LOG_FORMAT", format!("{other:?} is neither pretty nor json")))
            }
        };
        let timezone =
            TimeZoneName::parse(&get("CRM_TIMEZONE").unwrap_or_else(|| "Europe/Moscow".to_owned()))
                .map_err(|e| err("CRM_TIMEZONE", e.message))?;
        let max_body_bytes = match get("CRM_MAX_BODY_BYTES") {
            None => 1024 * 1024,
            Some(v) => v.parse::<usize>().ok().filter(|n| (1024..=64 * 1024 * 1024).contains(n)).ok_or_else(
                || err("CRM_MAX_BODY_BYTES", format!("{v:?} is not a number from 1024 to 67108864")),
            )?,
        };
        if get("CRM_TRUST_PROXY").is_some() {
            return Err(err(
                "CRM_TRUST_PROXY",
                "is no longer read: it trusted any client's X-Forwarded-For; list your load balancers in CRM_TRUSTED_PROXIES (addresses or CIDRs, comma-separated) instead".to_owned(),
            ));
        }
        let vat_rates =
            parse_vat_rates(&get("CRM_VAT_RATES").unwrap_or_else(|| "22,10,0,without".to_owned()))
                .map_err(|m| err("CRM_VAT_RATES", m))?;
        let trusted_proxies =
            crate::extract::TrustedProxies::parse(&get("CRM_TRUSTED_PROXIES").unwrap_or_default())
                .map_err(|m| err("CRM_TRUSTED_PROXIES", m))?;
        let workers = match get("CRM_WORKERS") {
            None => None,
            Some(v) => Some(
                v.parse::<usize>()
                    .ok()
                    .filter(|n| (1..=256).contains(n))
                    .ok_or_else(|| err("CRM_WORKERS", format!("{v:?} is not a number from 1 to 256")))?,
            ),
        };
        let smtp_url = get("CRM_SMTP_URL");
        if let Some(u) = &smtp_url {
            crm_app::documents::invoices::check_smtp_url(u).map_err(|m| err("CRM_SMTP_URL", m))?;
        }
        let mail_from = get("CRM_MAIL_FROM").unwrap_or_else(|| "CRM <crm@localhost>".to_owned());
        crm_app::documents::invoices::check_mailbox(&mail_from).map_err(|m| err("CRM_MAIL_FROM", m))?;
        let access_audit = match get("CRM_ACCESS_AUDIT").as_deref() {
            None | Some("off") => false,
            Some("on") => true,
            Some(v) => return Err(err("CRM_ACCESS_AUDIT", format!("{v:?} is neither on nor off"))),
        };
        let cors_origins = match get("CRM_CORS_ORIGINS") {
            None => Vec::new(),
            Some(raw) => parse_origins(&raw).map_err(|m| err("CRM_CORS_ORIGINS", m))?,
        };
        let rate_limit =
            crate::rate_limit::Rate::parse(get("CRM_RATE_LIMIT").as_deref().unwrap_or("600/min"))
                .map_err(|m| err("CRM_RATE_LIMIT", m))?;
        Ok(Self {
            cors_origins,
            rate_limit,
            access_audit,
            jobs_interval,
            events_retention,
            webhooks_allow_private,
            date_reminders,
            webhooks_interval,
            smtp_url,
            mail_dir: get("CRM_MAIL_DIR").map(PathBuf::from),
            mail_from,
            bind,
            database_url,
            pool_size,
            pool_timeout,
            jwt_secret,
            jwt_issuer: get("CRM_JWT_ISSUER").unwrap_or_else(|| "crm".to_owned()),
            jwt_audience: get("CRM_JWT_AUDIENCE").unwrap_or_else(|| "crm-api".to_owned()),
            data_dir: PathBuf::from(get("CRM_DATA_DIR").unwrap_or_else(|| ".".to_owned())),
            access_token_ttl,
            refresh_token_ttl,
            admin_email,
            admin_password,
            log_format,
            timezone,
            max_body_bytes,
            trusted_proxies,
            vat_rates,
            workers,
        })
    }

    /// The signing secret: configured, or kept in the data directory (made on first start).
    pub fn resolve_jwt_secret(&self) -> Result<Vec<u8>, ConfigError> {
        if let Some(s) = &self.jwt_secret {
            return Ok(s.as_bytes().to_vec());
        }
        let path = self.data_dir.join(".crm-jwt-secret");
        let describe = |e: std::io::Error| err("CRM_DATA_DIR", format!("cannot use {}: {e}", path.display()));
        match std::fs::read_to_string(&path) {
            Ok(s) if s.trim().len() >= 32 => return Ok(s.trim().as_bytes().to_vec()),
            Ok(_) => {
                return Err(err(
                    "CRM_DATA_DIR",
                    format!("{} holds a secret shorter than 32 characters", path.display()),
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(describe(e)),
        }
        std::fs::create_dir_all(&self.data_dir).map_err(describe)?;
        let secret = crm_app::identity::auth::random_token(48);
        write_private(&path, &secret).map_err(describe)?;
        Ok(secret.into_bytes())
    }
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(content.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_local_and_safe() {
        let c = config(&[]).unwrap();
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://crm.db");
        assert_eq!(c.timezone.as_str(), "Europe/Moscow");
        assert_eq!(c.access_token_ttl, Duration::from_secs(900));
        assert!(c.jwt_secret.is_none());
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("CRM_DB_POOL_SIZE", "zero"),
            ("CRM_ACCESS_TOKEN_TTL", "soon"),
            ("CRM_LOG_FORMAT", "xml"),
            ("CRM_TIMEZONE", "Moscow"),
            ("DATABASE_URL", "mysql://x"),
            ("CRM_JWT_SECRET", "short"),
            ("CRM_ADMIN_EMAIL", "not-an-email"),
        ] {
            let e = config(&[(var, value)]).err().unwrap_or_else(|| panic!("{var}={value} accepted"));
            assert_eq!(e.var, var);
        }
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("900"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("2d"), Some(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("0"), None);
        assert_eq!(parse_duration("5w"), None);
    }

    #[test]
    fn passwords_are_hidden_in_logged_urls() {
        assert_eq!(redact_url("postgres://crm:secret@db:5432/crm"), "postgres://crm:***@db:5432/crm");
        assert_eq!(redact_url("sqlite://crm.db"), "sqlite://crm.db");
    }

    #[test]
    fn cors_origins_are_origins_and_the_rate_limit_has_a_default() {
        let c = config(&[]).unwrap();
        assert!(c.cors_origins.is_empty());
        assert_eq!(c.rate_limit.map(|r| r.requests.get()), Some(600));
        let c = config(&[
            ("CRM_CORS_ORIGINS", "https://crm.example.com, http://localhost:5173/"),
            ("CRM_RATE_LIMIT", "off"),
        ])
        .unwrap();
        assert_eq!(c.cors_origins, ["https://crm.example.com", "http://localhost:5173"]);
        assert_eq!(c.rate_limit, None);
        for bad in ["*", "crm.example.com", "https://crm.example.com/app", "ftp://files.example.com"] {
            let e = config(&[("CRM_CORS_ORIGINS", bad)]).unwrap_err();
            assert_eq!(e.var, "CRM_CORS_ORIGINS", "{bad}");
        }
        assert_eq!(config(&[("CRM_RATE_LIMIT", "lots")]).unwrap_err().var, "CRM_RATE_LIMIT");
    }
}
