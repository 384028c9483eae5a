//! The ceilings: the statements a request's work needs, sent straight to the
//! same database with the same number of clients for the same time —
//! pgbench (`-M prepared`) on PostgreSQL, a loop of threads over the store's
//! own prepared queries on SQLite (`BEGIN IMMEDIATE` on the same WAL file).
//! No HTTP, no JSON, no permission checks, no feed rendering.

use std::process::Command;
use std::time::Duration;

use chrono::Utc;
use crm_store::queries::{auth, clients, leads, outbox, users};
use crm_store::rows::{LeadRow, OutboxEventRow};
use crm_store::{ConnectionManager, DbUuid};
use uuid::Uuid;

use crate::load::{threads, Stats};

/// What the intake's statements need to find: the key, the phone's client.
#[derive(Debug, Clone)]
pub struct IntakeFixture {
    pub key_prefix: String,
    pub key_id: Uuid,
    pub phone: String,
    pub client_id: Uuid,
}

/// What `/me`'s statements need: the token's user and session.
#[derive(Debug, Clone, Copy)]
pub struct MeFixture {
    pub user_id: Uuid,
    pub session_id: Uuid,
}

const LEAD_COLUMNS: &str = "id, channel, source, external_id, thread_key, status, received_at, name, \
    phone, email, contact_as_given, subject, body, client_id, contact_id, assignee_id, interest_id, \
    reject_reason, reject_comment, raw_payload, parse_note, processed_by, processed_at, version, \
    created_at, updated_at";

/// Lead intake's work: the key by its prefix; then in one transaction the
/// dedupe lookup by external id, the phone's owners, the lead, its event.
pub fn pgbench_intake_script(f: &IntakeFixture) -> String {
    format!(
        "\\set r random(1, 9000000000000000000)\n\
         SELECT id, name, prefix, secret_hash, scopes, created_by, created_at, expires_at, revoked_at, last_used_at \
         FROM api_keys WHERE prefix = '{prefix}' LIMIT 1;\n\
         BEGIN;\n\
         SELECT {LEAD_COLUMNS} FROM leads WHERE channel = 'manual' AND external_id = 'pgb-' || :client_id || '-' || :r LIMIT 1;\n\
         SELECT id, owner_kind, owner_id, kind, value FROM contact_points WHERE kind = 'phone' AND value = ANY(ARRAY['{phone}']);\n\
         INSERT INTO leads (id, channel, external_id, status, received_at, name, phone, client_id, version, created_at, updated_at) \
         VALUES (gen_random_uuid(), 'manual', 'pgb-' || :client_id || '-' || :r, 'new', now(), 'Анна', '{phone}', '{client}', 1, now(), now());\n\
         INSERT INTO outbox_events (id, kind, entity_type, entity_id, payload, occurred_at, actor_kind, actor_id) \
         VALUES (gen_random_uuid(), 'lead.received', 'lead', gen_random_uuid(), '{{\"channel\":\"manual\"}}', now(), 'api_key', '{key}');\n\
         COMMIT;\n",
        prefix = f.key_prefix,
        phone = f.phone,
        client = f.client_id,
        key = f.key_id,
    )
}

/// `/me`'s work: the user and session the token names, then the user.
pub fn pgbench_me_script(f: &MeFixture) -> String {
    format!(
        "SELECT users.active, users.role, users.department_id, sessions.revoked_at FROM sessions \
         INNER JOIN users ON sessions.user_id = users.id WHERE sessions.id = '{sid}' AND users.id = '{uid}' LIMIT 1;\n\
         SELECT * FROM users WHERE id = '{uid}' LIMIT 1;\n",
        sid = f.session_id,
        uid = f.user_id,
    )
}

/// Runs pgbench with `script` against `url`; transactions and their rate.
pub fn pgbench(url: &str, script: &str, clients: usize, duration: Duration) -> Stats {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("work.sql");
    std::fs::write(&file, script).unwrap();
    let out = Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-c", &clients.to_string(), "-j", "2", "-T"])
        .arg(duration.as_secs().to_string())
        .arg("-f")
        .arg(&file)
        .arg(url)
        .output()
        .expect("pgbench (Debian's postgresql-client) must be installed");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "pgbench failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    let field = |prefix: &str| -> f64 {
        let line =
            text.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("{prefix} in {text}"));
        line[prefix.len()..].split_whitespace().next().unwrap().parse().unwrap()
    };
    let count = field("number of transactions actually processed:") as usize;
    let tps = field("tps = ");
    Stats { count, elapsed: Duration::from_secs_f64(count as f64 / tps), latencies: Vec::new() }
}

/// The intake's statements on SQLite, through the store's prepared queries.
/// The writers take turns through a mutex before `BEGIN IMMEDIATE`, the best
/// a loop in one process can do: left to SQLite's busy handler they sleep
/// and retry, and the ceiling would be the handler's, not the database's.
pub fn sqlite_intake(url: &str, f: &IntakeFixture, clients_n: usize, duration: Duration) -> Stats {
    let manager = ConnectionManager::new(url).unwrap();
    let f = f.clone();
    let turn = std::sync::Arc::new(std::sync::Mutex::new(()));
    threads(clients_n, duration, move |worker| {
        let mut conn = manager.connect().unwrap();
        let f = f.clone();
        let turn = turn.clone();
        move |n| {
            auth::find_api_key_by_prefix(&mut conn, &f.key_prefix).unwrap().unwrap();
            let external = format!("ceiling-{worker}-{n}");
            let now = Utc::now().naive_utc();
            let _turn = turn.lock().unwrap();
            crm_store::write_transaction(&mut conn, |c| -> Result<(), diesel::result::Error> {
                assert!(leads::find_by_external(c, "manual", &external)?.is_none());
                clients::owners_of_points(c, "phone", std::slice::from_ref(&f.phone))?;
                let id: DbUuid = Uuid::now_v7().into();
                leads::insert_lead(c, &lead_row(id, external.clone(), &f, now))?;
                outbox::append(
                    c,
                    &OutboxEventRow {
                        id: Uuid::now_v7().into(),
                        kind: "lead.received".to_owned(),
                        entity_type: "lead".to_owned(),
                        entity_id: id,
                        payload: "{\"channel\":\"manual\"}".to_owned(),
                        occurred_at: now,
                        actor_kind: "api_key".to_owned(),
                        actor_id: Some(f.key_id.into()),
                    },
                )
            })
            .unwrap();
        }
    })
}

/// `/me`'s statements on SQLite.
pub fn sqlite_me(url: &str, f: MeFixture, clients_n: usize, duration: Duration) -> Stats {
    let manager = ConnectionManager::new(url).unwrap();
    threads(clients_n, duration, move |_| {
        let mut conn = manager.connect().unwrap();
        move |_| {
            auth::check_session(&mut conn, f.user_id.into(), f.session_id.into()).unwrap().unwrap();
            users::find(&mut conn, f.user_id.into()).unwrap().unwrap();
        }
    })
}

fn lead_row(id: DbUuid, external: String, f: &IntakeFixture, now: chrono::NaiveDateTime) -> LeadRow {
    LeadRow {
        id,
        channel: "manual".to_owned(),
        source: None,
        external_id: Some(external),
        thread_key: None,
        status: crm_domain::status::LeadStatus::New.into(),
        received_at: now,
        name: Some("Анна".to_owned()),
        phone: Some(f.phone.clone()),
        email: None,
        contact_as_given: None,
        subject: None,
        body: None,
        client_id: Some(f.client_id.into()),
        contact_id: None,
        assignee_id: None,
        interest_id: None,
        reject_reason: None,
        reject_comment: None,
        raw_payload: None,
        parse_note: None,
        processed_by: None,
        processed_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}
