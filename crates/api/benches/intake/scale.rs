//! Whether a list page costs the same at 10,000 rows as at 1,000,000: one
//! manager holds every client, and the pages a manager, an admin and a sync
//! reader ask for are timed one request at a time at both sizes.
//!
//! The rows beyond the first are copies of a client made through the API
//! (same owner, status and times; their own id and name), written straight
//! into the table by one `INSERT … SELECT`, since a million POSTs would take
//! longer than the rest of the bench.

use std::time::Instant;

use diesel::RunQueryDsl;
use serde_json::{json, Value};

use crate::load::Stats;
use crate::Backend;

/// Requests per measure, sent one after another.
const SAMPLES: usize = 200;

/// One size's figures: the list pages, each a latency sample.
pub struct AtSize {
    pub rows: usize,
    pub manager_page: Stats,
    pub admin_page: Stats,
    /// The head of the manager's department (three people in it).
    pub head_page: Stats,
    pub sync_page: Stats,
    /// `POST /duplicates/search` by a name that shares its common word with every copy.
    pub search: Stats,
    /// `POST /clients` with its duplicate check (a new phone, a name like the others).
    pub create: Stats,
}

/// The manager, their template client, and where to write copies.
pub struct Fixture {
    pub manager_token: String,
    pub head_token: String,
    pub admin_token: String,
    template_id: String,
    url: String,
    backend: Backend,
    rows: usize,
}

impl Fixture {
    /// Makes a manager (by the admin) and one client of theirs, over HTTP.
    pub async fn new(
        http: &reqwest::Client,
        base: &str,
        admin_token: &str,
        url: &str,
        backend: Backend,
    ) -> Self {
        let password = "bench-manager-password";
        // A department of a head and two managers; one manager holds every client.
        let head = crate::post(
            http,
            base,
            "/api/v1/users",
            Some(admin_token),
            json!({"email": "head@bench.crm", "name": "Галина Глава", "role": "head", "password": password}),
        )
        .await;
        let department = crate::post(
            http,
            base,
            "/api/v1/departments",
            Some(admin_token),
            json!({"name": "Отдел продаж", "head_id": head["id"]}),
        )
        .await;
        for (email, name) in [("manager@bench.crm", "Мария Менеджер"), ("second@bench.crm", "Сергей Второй")]
        {
            crate::post(
                http,
                base,
                "/api/v1/users",
                Some(admin_token),
                json!({"email": email, "name": name, "role": "manager", "password": password,
                    "department_id": department["id"]}),
            )
            .await;
        }
        let login = |email: &'static str| {
            crate::post(http, base, "/api/v1/auth/login", None, json!({"email": email, "password": password}))
        };
        let head_token = login("head@bench.crm").await["access_token"].as_str().unwrap().to_owned();
        let tokens = crate::post(
            http,
            base,
            "/api/v1/auth/login",
            None,
            json!({"email": "manager@bench.crm", "password": password}),
        )
        .await;
        let manager_token = tokens["access_token"].as_str().unwrap().to_owned();
        let client = crate::post(
            http,
            base,
            "/api/v1/clients",
            Some(&manager_token),
            json!({"name": "ООО «Шаблон»", "kind": "company"}),
        )
        .await;
        Fixture {
            manager_token,
            head_token,
            admin_token: admin_token.to_owned(),
            template_id: client["id"].as_str().unwrap().to_owned(),
            url: url.to_owned(),
            backend,
            rows: 1,
        }
    }

    /// Adds copies of the template until the manager holds `rows` clients.
    pub fn grow_to(&mut self, rows: usize) {
        let add = rows.saturating_sub(self.rows);
        if add == 0 {
            return;
        }
        let (from, to) = (self.rows + 1, rows);
        let t = &self.template_id;
        // Ids shaped as the store makes them (UUIDv7: the time in
        // milliseconds first), one millisecond apart in the order written,
        // so that the copies sit in the id index as real clients would.
        let base = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
            as i64
            - to as i64;
        let sql = match self.backend {
            // Ids as the store writes them on SQLite: hyphenated lower-case text.
            Backend::Sqlite => format!(
                "WITH RECURSIVE s(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM s WHERE n < {to}), \
                 r(n, t, h) AS (SELECT n, printf('%012x', {base} + n), lower(hex(randomblob(16))) FROM s) \
                 INSERT INTO clients (id, name, name_key, kind, tax_id, address, responsible_id, status, version, created_at, updated_at) \
                 SELECT substr(t, 1, 8) || '-' || substr(t, 9, 4) || '-7' || substr(h, 1, 3) || '-8' || substr(h, 4, 3) || '-' || substr(h, 7, 12), \
                 'Клиент ' || n, 'клиент ' || n, c.kind, NULL, NULL, c.responsible_id, c.status, 1, c.created_at, c.updated_at \
                 FROM r, clients c WHERE c.id = '{t}'"
            ),
            Backend::Postgres => format!(
                "INSERT INTO clients (id, name, name_key, kind, tax_id, address, responsible_id, status, version, created_at, updated_at) \
                 SELECT (lpad(to_hex({base} + n), 12, '0') || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid, 'Клиент ' || n, 'клиент ' || n, c.kind, NULL, NULL, c.responsible_id, c.status, 1, c.created_at, c.updated_at \
                 FROM generate_series({from}, {to}) AS n, LATERAL (SELECT md5(random()::text || n) AS h) r, clients c \
                 WHERE c.id = '{t}'"
            ),
        };
        let manager = crm_store::ConnectionManager::new(&self.url).unwrap();
        let mut conn = manager.connect().unwrap();
        let started = Instant::now();
        let written = diesel::sql_query(sql).execute(&mut conn).unwrap();
        assert_eq!(written, add, "copies written");
        // PostgreSQL's autovacuum would analyse the table after such a load;
        // the bench does it at once rather than wait for it. SQLite is left
        // as a server leaves it (no ANALYZE is ever run there).
        if self.backend == Backend::Postgres {
            diesel::sql_query("ANALYZE clients").execute(&mut conn).unwrap();
        }
        // The copies' name tokens, as the store keeps them for the
        // duplicate check: the number, then the word every copy shares
        // (the check reads at most 500 owners of a token).
        let id = match self.backend {
            Backend::Sqlite => {
                "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-' || hex(randomblob(2)) || '-' \
                 || hex(randomblob(2)) || '-' || hex(randomblob(6)))"
            }
            Backend::Postgres => "gen_random_uuid()",
        };
        for token in ["substr(c.name_key, 8)", "'клиент'"] {
            let sql = format!(
                "INSERT INTO name_tokens (id, owner_kind, owner_id, token) \
                 SELECT {id}, 'client', c.id, {token} FROM clients c \
                 WHERE c.name_key LIKE 'клиент %' \
                 AND NOT EXISTS (SELECT 1 FROM name_tokens t \
                 WHERE t.owner_kind = 'client' AND t.owner_id = c.id AND t.token = 'клиент')"
            );
            diesel::sql_query(sql).execute(&mut conn).unwrap();
        }
        if self.backend == Backend::Postgres {
            diesel::sql_query("ANALYZE name_tokens").execute(&mut conn).unwrap();
        }
        println!("  {add} clients and their name tokens added in {:.1} s", started.elapsed().as_secs_f64());
        self.rows = rows;
    }

    /// The three pages, each asked `SAMPLES` times, one request at a time.
    pub async fn measure(&self, http: &reqwest::Client, base: &str) -> AtSize {
        let manager_page =
            timed(http, &format!("{base}/api/v1/clients?limit=50"), &self.manager_token, 50).await;
        let admin_page = timed(http, &format!("{base}/api/v1/clients?limit=50"), &self.admin_token, 50).await;
        let head_page = timed(http, &format!("{base}/api/v1/clients?limit=50"), &self.head_token, 50).await;
        let sync = format!("{base}/api/v1/clients?limit=50&updated_since=2000-01-01T00:00:00Z");
        let sync_page = timed(http, &sync, &self.admin_token, 50).await;
        let search = posted(
            http,
            &format!("{base}/api/v1/duplicates/search"),
            &self.manager_token,
            |i| json!({"name": format!("Клиент {}", 4_242 + i)}),
        )
        .await;
        // New names and phones at each size, so no create is refused as a duplicate.
        let offset = self.rows;
        let create = posted(http, &format!("{base}/api/v1/clients"), &self.manager_token, |i| {
            json!({"name": format!("Клиент {}", 5_000_000 + offset + i), "kind": "company",
                "phones": [format!("+7903{:07}", offset + i)]})
        })
        .await;
        AtSize { rows: self.rows, manager_page, admin_page, head_page, sync_page, search, create }
    }
}

/// `SAMPLES` GETs of `url` one after another (after a few to warm up); each
/// must answer a full page.
async fn timed(http: &reqwest::Client, url: &str, token: &str, page: usize) -> Stats {
    let get = || async {
        let res = http.get(url).bearer_auth(token).send().await.unwrap();
        assert!(res.status().is_success(), "{url}: {}", res.status());
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["items"].as_array().map(Vec::len), Some(page), "{url}: a full page");
    };
    for _ in 0..10 {
        get().await;
    }
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let s = Instant::now();
        get().await;
        latencies.push(s.elapsed());
    }
    Stats::from_latencies(latencies, started.elapsed())
}

/// `SAMPLES` POSTs of the bodies `body(i)` makes, one after another (after a
/// few to warm up); each must succeed.
async fn posted(http: &reqwest::Client, url: &str, token: &str, body: impl Fn(usize) -> Value) -> Stats {
    let post = |i: usize| {
        let req = http.post(url).bearer_auth(token).json(&body(i));
        async move {
            let res = req.send().await.unwrap();
            let status = res.status();
            assert!(status.is_success(), "{url}: {status} {}", res.text().await.unwrap());
        }
    };
    for i in 0..10 {
        post(i).await;
    }
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(SAMPLES);
    for i in 10..10 + SAMPLES {
        let s = Instant::now();
        post(i).await;
        latencies.push(s.elapsed());
    }
    Stats::from_latencies(latencies, started.elapsed())
}

/// How many times slower a page's median is at the large size than at the small.
pub fn growth(small: &Stats, large: &Stats) -> f64 {
    large.pct_ms(0.5).unwrap_or(f64::MAX) / small.pct_ms(0.5).unwrap_or(f64::MIN_POSITIVE)
}
