//! `crm-server`: serve (default), migrate, openapi, seed-demo.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use crm_api::config::{Config, LogFormat};
use crm_api::{Application, StartError};
use crm_app::SystemClock;

const USAGE: &str = "usage: crm-server [serve|migrate|openapi|seed-demo]

  serve      run the API (default); migrates and creates the first admin
  migrate    apply pending database migrations and exit
  openapi    print the OpenAPI document
  seed-demo  fill a demo organisation (once)

Configuration comes from the environment; see README.md.";

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,actix_server=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Pretty => builder.init(),
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "crm-server: {message}");
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".to_owned());
    if matches!(command.as_str(), "-h" | "--help" | "help") {
        let _ = writeln!(std::io::stdout(), "{USAGE}");
        return ExitCode::SUCCESS;
    }
    if command == "openapi" {
        return match crm_api::openapi::spec_json() {
            Ok(json) => {
                let _ = std::io::stdout().write_all(json.as_bytes());
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        };
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    init_logs(config.log_format);
    match command.as_str() {
        "serve" => serve(config),
        "migrate" => match crm_api::startup::prepare(&config, Arc::new(SystemClock)) {
            Ok(_) => {
                tracing::info!("database is migrated");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        "seed-demo" => seed_demo(&config),
        other => fail(format!("unknown command {other:?}\n{USAGE}")),
    }
}

fn serve(config: Config) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(e),
    };
    let bind = config.bind.clone();
    tracing::info!(config = ?config, "starting");
    let result: Result<(), StartError> = runtime.block_on(async move {
        let app = Application::build(config, Arc::new(SystemClock))?;
        tracing::info!(%bind, port = app.port(), "listening; API reference at /docs");
        app.run_until_stopped().await.map_err(|e| StartError::App(e.to_string()))
    });
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn seed_demo(config: &Config) -> ExitCode {
    let app = match crm_api::startup::prepare(config, Arc::new(SystemClock)) {
        Ok(app) => app,
        Err(e) => return fail(e),
    };
    match crm_app::identity::bootstrap::seed_demo(&app) {
        Ok(seed) => {
            let mut out = std::io::stdout();
            let _ = if seed.created {
                writeln!(
                    out,
                    "Demo organisation created. Every demo user's password: {}",
                    crm_app::identity::bootstrap::DEMO_PASSWORD
                )
            } else {
                writeln!(out, "Demo organisation already present; nothing changed.")
            };
            for (email, role) in seed.users {
                let _ = writeln!(out, "  {email:<20} {role}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}
