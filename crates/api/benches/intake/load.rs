//! Closed-loop load: `clients` workers, each sending its next request when
//! the last one answered, for a fixed time; throughput and latency tails.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one side of a comparison did.
#[derive(Debug, Clone)]
pub struct Stats {
    pub count: usize,
    pub elapsed: Duration,
    /// Sorted; empty where the tool reports no latencies (pgbench's tps).
    pub latencies: Vec<Duration>,
}

impl Stats {
    pub fn per_sec(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p`-quantile latency in milliseconds, if latencies were taken.
    pub fn pct_ms(&self, p: f64) -> Option<f64> {
        if self.latencies.is_empty() {
            return None;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        Some(self.latencies[i].as_secs_f64() * 1000.0)
    }

    pub fn from_latencies(mut latencies: Vec<Duration>, elapsed: Duration) -> Stats {
        latencies.sort();
        Stats { count: latencies.len(), elapsed, latencies }
    }
}

/// Runs `make(worker, n)` from `clients` tasks for `duration`; every answer
/// must be a success, or the run is worthless and stops.
pub async fn http<F, Fut>(clients: usize, duration: Duration, make: F) -> Stats
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = reqwest::StatusCode> + Send,
{
    let make = Arc::new(make);
    let started = Instant::now();
    let mut handles = Vec::new();
    for worker in 0..clients {
        let make = make.clone();
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut n = 0;
            while started.elapsed() < duration {
                let s = Instant::now();
                let status = make(worker, n).await;
                assert!(status.is_success(), "worker {worker}, request {n}: {status}");
                lat.push(s.elapsed());
                n += 1;
            }
            lat
        }));
    }
    let mut latencies = Vec::new();
    for h in handles {
        latencies.extend(h.await.unwrap());
    }
    Stats::from_latencies(latencies, started.elapsed())
}

/// The same closed loop on OS threads, for the SQLite ceiling: `init(worker)`
/// runs on the worker's own thread (opening its connection) and returns the
/// work to repeat, `work(n)`.
pub fn threads<I, W>(clients: usize, duration: Duration, init: I) -> Stats
where
    I: Fn(usize) -> W + Send + Sync + 'static,
    W: FnMut(usize),
{
    let init = Arc::new(init);
    let started = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|worker| {
            let init = init.clone();
            std::thread::spawn(move || {
                let mut work = init(worker);
                let mut lat = Vec::new();
                let mut n = 0;
                while started.elapsed() < duration {
                    let s = Instant::now();
                    work(n);
                    lat.push(s.elapsed());
                    n += 1;
                }
                lat
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for h in handles {
        latencies.extend(h.join().unwrap());
    }
    Stats::from_latencies(latencies, started.elapsed())
}
