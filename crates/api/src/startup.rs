//! Building the server: pool, migrations, bootstrap admin, routes, middleware.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, ErrorHandlers};
use actix_web::{guard, mime, web, App as ActixApp, HttpResponse, HttpServer};
use crm_app::identity::bootstrap::Bootstrap;
use crm_app::{App, Clock, Settings};
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::config::Config;
use crate::error::{problemize, ApiError};
use crate::extract::{json_config, path_config, payload_config, query_config, AppState};
use crate::metrics::Metrics;

/// Where the OpenAPI document is served (Swagger UI reads it from here).
const SPEC_PATH: &str = "/api-docs/openapi.json";

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Store(#[from] crm_app::StoreError),
    #[error("{0}")]
    App(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
}

/// Connects, migrates and returns the use-case context.
pub fn prepare(config: &Config, clock: Arc<dyn Clock>) -> Result<App, StartError> {
    let (pool, applied) =
        crm_app::open_database(&config.database_url, config.pool_size, config.pool_timeout)?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "migrations applied");
    }
    let settings = Settings {
        jwt_secret: config.resolve_jwt_secret()?,
        jwt_issuer: config.jwt_issuer.clone(),
        jwt_audience: config.jwt_audience.clone(),
        access_token_ttl: config.access_token_ttl,
        refresh_token_ttl: config.refresh_token_ttl,
        default_time_zone: config.timezone,
        login_max_failures_per_account: 5,
        login_max_failures_per_address: 20,
        login_window: std::time::Duration::from_secs(15 * 60),
        pool_timeout: config.pool_timeout,
        mail: crm_app::MailSettings {
            smtp_url: config.smtp_url.clone(),
            dir: config.mail_dir.clone().unwrap_or_else(|| config.data_dir.join("mail")),
            from: config.mail_from.clone(),
        },
        vat_rates: config.vat_rates.clone(),
        events_retention: config.events_retention,
        webhooks_allow_private: config.webhooks_allow_private,
        date_reminders: config.date_reminders.clone(),
    };
    let app = App::new(pool, clock, settings).with_renderer(Arc::new(crate::routes::feed::AsGetReturns));
    crm_app::sales::scenarios::ensure_typical_sale(&app)
        .map_err(|e| StartError::App(format!("default scenario: {e}")))?;
    Ok(app)
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    app: App,
    jobs_interval: Option<std::time::Duration>,
    webhooks_interval: Option<std::time::Duration>,
}

impl Application {
    /// Prepares the database, creates the first admin if there are no users,
    /// and binds the listener (port 0 picks a free port).
    pub fn build(config: Config, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        let app = prepare(&config, clock)?;
        match crm_app::identity::bootstrap::bootstrap_admin(
            &app,
            &config.admin_email,
            config.admin_password.as_deref(),
        )
        .map_err(|e| StartError::App(format!("bootstrap admin: {e}")))?
        {
            Bootstrap::Created { email, generated_password: Some(password) } => {
                // Printed once, on the console only, so the operator can sign in.
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("Created the first admin {email} with the generated password: {password}");
                    eprintln!("Sign in and change it; it will not be shown again.");
                }
            }
            Bootstrap::Created { email, generated_password: None } => {
                tracing::info!(%email, "created the first admin");
            }
            Bootstrap::AlreadySetUp => {}
        }
        let listener = TcpListener::bind(&config.bind)
            .map_err(|source| StartError::Bind { addr: config.bind.clone(), source })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr: config.bind.clone(), source })?
            .port();
        let metrics = Metrics::new().map_err(|e| StartError::App(format!("metrics: {e}")))?;
        let state = AppState {
            app: app.clone(),
            metrics,
            max_body_bytes: config.max_body_bytes,
            proxies: config.trusted_proxies.clone(),
        };
        let spec = crate::openapi::spec_value().map_err(|e| StartError::App(format!("openapi: {e}")))?;
        let max_body = config.max_body_bytes;
        let audit =
            config.access_audit.then(|| web::Data::new(crate::access_audit::Published::from_spec(&spec)));
        let operations = web::Data::new(crate::conformance::Operations::from_spec(&spec));
        // The spec is served as bytes made once and shared by every worker:
        // handed to Swagger UI as a JSON value, it was cloned into each
        // worker (5.6 MiB of heap apiece) and serialised again on each GET.
        let spec = web::Bytes::from(
            serde_json::to_vec(&spec).map_err(|e| StartError::App(format!("openapi: {e}")))?,
        );
        let cors_origins = config.cors_origins.clone();
        let limits = config.rate_limit.map(|rate| {
            let clock = app.clone();
            web::Data::new(crate::rate_limit::Limits::new(rate, Arc::new(move || clock.now())))
        });
        let mut server = HttpServer::new(move || {
            let mut app = ActixApp::new();
            if let Some(published) = &audit {
                app = app.app_data(published.clone());
            }
            if let Some(limits) = &limits {
                app = app.app_data(limits.clone());
            }
            app.app_data(web::Data::new(state.clone()))
                .app_data(operations.clone())
                .app_data(json_config(max_body))
                .app_data(query_config())
                .app_data(path_config())
                .app_data(payload_config(max_body))
                .configure(|cfg| crate::routes::configure_api(cfg, &cors_origins))
                .configure(crate::routes::health::configure)
                .service(web::redirect("/docs", "/docs/"))
                .service(web::resource(SPEC_PATH).guard(guard::Get()).to({
                    let spec = spec.clone();
                    move || {
                        let spec = spec.clone();
                        async move { HttpResponse::Ok().content_type(mime::APPLICATION_JSON).body(spec) }
                    }
                }))
                .service(SwaggerUi::new("/docs/{_:.*}").config(SwaggerConfig::from(SPEC_PATH)))
                .default_service(web::to(not_found))
                .wrap(from_fn(crate::access_audit::audit))
                .wrap(from_fn(crate::middleware::idempotency))
                .wrap(from_fn(crate::conformance::conform))
                .wrap(from_fn(crate::rate_limit::limit))
                .wrap(from_fn(crate::middleware::plain_request_line))
                .wrap(from_fn(crate::middleware::bounded_request_head))
                .wrap(ErrorHandlers::new().default_handler(problemize))
                .wrap(from_fn(crate::middleware::observe))
        })
        .shutdown_timeout(30)
        .listen(listener)
        .map_err(|source| StartError::Bind { addr: config.bind.clone(), source })?;
        if let Some(workers) = config.workers {
            server = server.workers(workers);
        }
        Ok(Self {
            port,
            server: server.run(),
            app,
            jobs_interval: config.jobs_interval,
            webhooks_interval: config.webhooks_interval,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The use-case context (tests use it to inspect the database).
    pub fn app(&self) -> App {
        self.app.clone()
    }

    /// Serves until SIGINT or SIGTERM, then drains in-flight requests. Timed
    /// rules run alongside, every `CRM_JOBS_INTERVAL`.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        if let Some(every) = self.jobs_interval {
            let app = self.app.clone();
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    let job = app.clone();
                    match tokio::task::spawn_blocking(move || {
                        crm_app::documents::schedule::announce_overdue_payments(&job)
                    })
                    .await
                    {
                        Ok(Ok(0)) => {}
                        Ok(Ok(n)) => tracing::info!(instalments = n, "overdue payments announced"),
                        Ok(Err(e)) => tracing::warn!(error = %e, "overdue payments job failed"),
                        Err(e) => tracing::error!(error = %e, "overdue payments job panicked"),
                    }
                    let job = app.clone();
                    match tokio::task::spawn_blocking(move || {
                        crm_app::sales::reminders::remind_client_dates(&job)
                    })
                    .await
                    {
                        Ok(Ok(0)) => {}
                        Ok(Ok(n)) => tracing::info!(dates = n, "client dates reminded"),
                        Ok(Err(e)) => tracing::warn!(error = %e, "client dates job failed"),
                        Err(e) => tracing::error!(error = %e, "client dates job panicked"),
                    }
                    let job = app.clone();
                    match tokio::task::spawn_blocking(move || crm_app::feed::retention::prune(&job)).await {
                        Ok(Ok(0)) => {}
                        Ok(Ok(n)) => tracing::info!(events = n, "change feed pruned to its retention"),
                        Ok(Err(e)) => tracing::warn!(error = %e, "change feed retention job failed"),
                        Err(e) => tracing::error!(error = %e, "change feed retention job panicked"),
                    }
                }
            });
        }
        if let Some(every) = self.webhooks_interval {
            let app = self.app.clone();
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    // A full round goes again at once: a backlog drains without waiting.
                    loop {
                        match crate::webhooks::run_once(&app).await {
                            Ok(n) if n >= crate::webhooks::CLAIM => continue,
                            Ok(_) => break,
                            Err(e) => {
                                tracing::warn!(error = %e, "webhook dispatch failed");
                                break;
                            }
                        }
                    }
                }
            });
        }
        self.server.await
    }
}

async fn not_found(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::problem(crate::error::Problem::new(
        actix_web::http::StatusCode::NOT_FOUND,
        "no_route",
        "Not found",
        format!("no resource at {} {}", req.method(), req.path()),
    )))
}
