//! The release `crm-server` as a child process on a fresh database: started,
//! waited for until ready, its memory read from `/proc`, stopped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ADMIN_EMAIL: &str = "admin@bench.crm";
pub const ADMIN_PASSWORD: &str = "bench-password-1";

pub struct Server {
    child: Child,
    pub base: String,
    /// From spawning the process to the first `200` of `/readyz`.
    pub start_to_ready: Duration,
}

impl Server {
    /// Starts the server on `url` and waits until it answers `/readyz`.
    pub async fn start(url: &str, data_dir: &std::path::Path, port: u16) -> Server {
        let exe = env!("CARGO_BIN_EXE_crm-server");
        let started = Instant::now();
        let child = Command::new(exe)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", url)
            .env("CRM_BIND", format!("127.0.0.1:{port}"))
            .env("CRM_JWT_SECRET", "bench-secret-bench-secret-bench-secret")
            .env("CRM_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("CRM_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("CRM_DATA_DIR", data_dir)
            // Throughput is measured, not the per-caller budget; no timed
            // jobs or webhook rounds run beside the load.
            .env("CRM_RATE_LIMIT", "off")
            .env("CRM_JOBS_INTERVAL", "off")
            .env("CRM_WEBHOOKS_INTERVAL", "off")
            .env("CRM_LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start crm-server");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        loop {
            if let Ok(res) = client.get(format!("{base}/readyz")).send().await {
                if res.status().is_success() {
                    break;
                }
            }
            assert!(started.elapsed() < Duration::from_secs(60), "crm-server did not become ready");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Server { start_to_ready: started.elapsed(), child, base }
    }

    fn status_kib(&self, field: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    /// Resident memory now, MiB.
    pub fn rss_mib(&self) -> f64 {
        self.status_kib("VmRSS:") / 1024.0
    }

    /// The largest resident memory so far, MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        self.status_kib("VmHWM:") / 1024.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
