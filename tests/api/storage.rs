//! Storage guarantees: both migration trees agree, outbox events commit with
//! their change, and connection failures report the driver's own message.

use std::collections::BTreeMap;

use diesel::sql_types::{Integer, Nullable, Text};
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::json;

use crate::helpers::*;

#[derive(QueryableByName, Debug)]
struct SqliteTable {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName, Debug)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text, column_name = "type")]
    kind: String,
    #[diesel(sql_type = Integer)]
    notnull: i32,
    #[diesel(sql_type = Integer)]
    pk: i32,
}

#[derive(QueryableByName, Debug)]
struct SqliteIndex {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Integer)]
    unique: i32,
    #[diesel(sql_type = Text)]
    origin: String,
    #[diesel(sql_type = Integer)]
    partial: i32,
}

#[derive(QueryableByName, Debug)]
struct SqliteIndexColumn {
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
}

#[derive(QueryableByName, Debug)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[derive(QueryableByName, Debug)]
struct PgIndex {
    #[diesel(sql_type = Text)]
    tablename: String,
    #[diesel(sql_type = Text)]
    indexname: String,
    #[diesel(sql_type = Text)]
    indexdef: String,
}

/// table → column → (type class, nullable); table → index name → (unique, columns).
type Shape =
    (BTreeMap<String, BTreeMap<String, (String, bool)>>, BTreeMap<String, BTreeMap<String, (bool, String)>>);

fn type_class(raw: &str) -> String {
    match raw.to_lowercase().as_str() {
        "uuid" | "text" | "character varying" => "text",
        "bigint" | "integer" | "int8" | "int4" => "integer",
        "boolean" => "boolean",
        "timestamp" | "timestamp without time zone" => "timestamp",
        other => return other.to_owned(),
    }
    .to_owned()
}

fn sqlite_shape(conn: &mut crm_store::DbConnection) -> Shape {
    let tables: Vec<SqliteTable> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'",
    )
    .load(conn)
    .unwrap();
    let (mut columns, mut indexes) = (BTreeMap::new(), BTreeMap::new());
    for t in tables {
        let cols: Vec<SqliteColumn> =
            diesel::sql_query(format!("PRAGMA table_info('{}')", t.name)).load(conn).unwrap();
        columns.insert(
            t.name.clone(),
            cols.into_iter().map(|c| (c.name, (type_class(&c.kind), c.notnull == 0 && c.pk == 0))).collect(),
        );
        let idx: Vec<SqliteIndex> =
            diesel::sql_query(format!("PRAGMA index_list('{}')", t.name)).load(conn).unwrap();
        let mut map = BTreeMap::new();
        for i in idx.into_iter().filter(|i| i.origin == "c") {
            let cols: Vec<SqliteIndexColumn> =
                diesel::sql_query(format!("PRAGMA index_info('{}')", i.name)).load(conn).unwrap();
            let cols = cols.into_iter().filter_map(|c| c.name).collect::<Vec<_>>().join(",");
            // A partial index is named by its columns and marked `?` (its
            // predicate is not compared: SQLite does not report it).
            let cols = if i.partial == 1 { format!("{cols}?") } else { cols };
            map.insert(i.name, (i.unique == 1, cols));
        }
        indexes.insert(t.name, map);
    }
    (columns, indexes)
}

fn postgres_shape(conn: &mut crm_store::DbConnection) -> Shape {
    let cols: Vec<PgColumn> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load(conn)
    .unwrap();
    let (mut columns, mut indexes) =
        (BTreeMap::<String, BTreeMap<_, _>>::new(), BTreeMap::<String, BTreeMap<_, _>>::new());
    for c in cols {
        indexes.entry(c.table_name.clone()).or_default();
        columns
            .entry(c.table_name)
            .or_default()
            .insert(c.column_name, (type_class(&c.data_type), c.is_nullable == "YES"));
    }
    let idx: Vec<PgIndex> = diesel::sql_query(
        "SELECT tablename::text, indexname::text, indexdef::text FROM pg_indexes WHERE schemaname = 'public' \
         AND tablename <> '__diesel_schema_migrations' AND indexname NOT LIKE '%_pkey'",
    )
    .load(conn)
    .unwrap();
    for i in idx {
        let (def, partial) = match i.indexdef.split_once(" WHERE ") {
            Some((def, _)) => (def, true),
            None => (i.indexdef.as_str(), false),
        };
        let cols = def.rsplit_once('(').unwrap().1.trim_end_matches(')').replace([' ', '"'], "");
        let cols = if partial { format!("{cols}?") } else { cols };
        indexes
            .entry(i.tablename)
            .or_default()
            .insert(i.indexname, (i.indexdef.starts_with("CREATE UNIQUE"), cols));
    }
    (columns, indexes)
}

#[tokio::test]
async fn both_migration_trees_end_in_the_same_schema() {
    let Some(admin_url) = std::env::var("CRM_TEST_DATABASE_URL").ok().filter(|v| !v.is_empty()) else {
        eprintln!("both_migration_trees_end_in_the_same_schema: needs PostgreSQL; set CRM_TEST_DATABASE_URL (.ci/run does)");
        return;
    };
    let sqlite = TestDb::sqlite();
    let pg = TestDb::postgres(&admin_url);
    let (sqlite_pool, _) =
        crm_app::open_database(sqlite.url(), 1, std::time::Duration::from_secs(5)).unwrap();
    let (pg_pool, _) = crm_app::open_database(pg.url(), 1, std::time::Duration::from_secs(5)).unwrap();
    let lite = sqlite_shape(&mut sqlite_pool.get().unwrap());
    let post = postgres_shape(&mut pg_pool.get().unwrap());
    assert!(lite.0.contains_key("users") && lite.0.contains_key("outbox_events"));
    assert_eq!(
        lite.0, post.0,
        "tables, columns, types or nullability differ between migrations/sqlite and migrations/postgres"
    );
    assert_eq!(lite.1, post.1, "indexes differ between migrations/sqlite and migrations/postgres");
    drop((sqlite_pool, pg_pool));
}

#[tokio::test]
async fn an_outbox_event_commits_with_its_change_and_not_without() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let count =
        |app: &TestApp| crm_store::queries::outbox::count(&mut app.app.pool().get().unwrap()).unwrap();
    let before = count(&app);
    let user = app.create_user(&admin, "evented@test.crm", "manager", None).await;
    let id: uuid::Uuid = user["id"].as_str().unwrap().parse().unwrap();
    let events =
        crm_store::queries::outbox::for_entity(&mut app.app.pool().get().unwrap(), "user", id.into())
            .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "user.created");
    assert_eq!(events[0].actor_kind, "user");
    let payload: serde_json::Value = serde_json::from_str(&events[0].payload).unwrap();
    assert_eq!(payload["email"], "evented@test.crm");
    assert!(payload.get("password_hash").is_none());
    assert_eq!(count(&app), before + 1);

    // A refused change leaves no event behind.
    app.post(
        "/api/v1/users",
        Some(&admin),
        &json!({"email": "evented@test.crm", "name": "Dup", "role": "manager", "password": PASSWORD}),
    )
    .await
    .problem(409);
    assert_eq!(count(&app), before + 1);
}

#[test]
fn an_unreachable_postgres_reports_the_drivers_message() {
    let err = crm_app::open_database("postgres://crm@127.0.0.1:1/crm", 1, std::time::Duration::from_secs(2))
        .err()
        .unwrap();
    let message = err.to_string();
    assert!(message.contains("cannot connect to the database"), "{message}");
    assert!(
        message.to_lowercase().contains("connection refused") || message.contains("127.0.0.1"),
        "{message}"
    );
    assert!(!message.contains("invalid URL"), "{message}");
}

#[test]
fn an_unknown_database_scheme_is_refused_by_name() {
    let err = crm_app::open_database("mysql://x", 1, std::time::Duration::from_secs(1)).err().unwrap();
    assert!(err.to_string().contains("unsupported database URL"));
}

#[tokio::test]
async fn a_postgres_refusal_is_reported_in_the_servers_own_words() {
    let Some(admin_url) = std::env::var("CRM_TEST_DATABASE_URL").ok().filter(|v| !v.is_empty()) else {
        eprintln!(
            "a_postgres_refusal_is_reported_in_the_servers_own_words: needs PostgreSQL; set CRM_TEST_DATABASE_URL"
        );
        return;
    };
    // The local server trusts every password, so a wrong one cannot be provoked
    // here; a missing database is refused by any set-up, through the same path
    // (our manager's direct connect) that reports a wrong password.
    let base = admin_url.split('?').next().unwrap();
    let (server, _) = base.rsplit_once('/').unwrap();
    let url = without_tls(&format!("{server}/crm_no_such_database_{}", uuid::Uuid::now_v7().simple()));
    let err = crm_app::open_database(&url, 1, std::time::Duration::from_secs(2)).err().unwrap();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

fn feed_event(kind: &str) -> crm_store::rows::OutboxEventRow {
    crm_store::rows::OutboxEventRow {
        id: crm_domain::new_id().into(),
        kind: kind.to_owned(),
        entity_type: "order".to_owned(),
        entity_id: crm_domain::new_id().into(),
        payload: "{}".to_owned(),
        occurred_at: start_time().naive_utc(),
        actor_kind: "system".to_owned(),
        actor_id: None,
    }
}

/// Reads the whole feed from `after`, page by page, as a client following the cursor does.
fn read_feed(
    conn: &mut crm_store::DbConnection,
    after: &mut crm_store::queries::outbox::FeedPosition,
) -> Vec<String> {
    let mut kinds = Vec::new();
    loop {
        let page = crm_store::queries::outbox::feed_after(conn, *after, None, 2).unwrap();
        let Some(last) = page.last() else { return kinds };
        *after = crm_store::queries::outbox::FeedPosition::of(last);
        kinds.extend(page.into_iter().map(|e| e.kind));
    }
}

/// What a reader of `seq > cursor` would see: the way that loses events.
fn read_naively(conn: &mut crm_store::DbConnection, after: &mut i64) -> Vec<String> {
    use crm_store::schema::outbox_events as o;
    use diesel::prelude::*;
    let rows: Vec<(Option<i64>, String)> =
        o::table.filter(o::seq.gt(*after)).order(o::seq.asc()).select((o::seq, o::kind)).load(conn).unwrap();
    if let Some((Some(seq), _)) = rows.last() {
        *after = *seq;
    }
    rows.into_iter().map(|(_, k)| k).collect()
}

#[tokio::test]
async fn the_feed_never_skips_an_event_whose_transaction_commits_after_a_later_one() {
    use crm_store::queries::outbox::{append, FeedPosition};
    let app = spawn_app().await;
    // The start-up events first reach the feed (other tests' transactions hold it back for moments).
    crate::feed::settle(&app).await;
    let pool = app.app.pool();
    let mut reader = pool.get().unwrap();
    let (mut after, mut naive) = (FeedPosition::default(), 0);
    read_feed(&mut reader, &mut after);
    read_naively(&mut reader, &mut naive);
    if !app.db.is_postgres() {
        // One writer at a time: numbering order is commit order.
        let mut w = pool.get().unwrap();
        append(&mut w, &feed_event("order.first")).unwrap();
        append(&mut w, &feed_event("order.second")).unwrap();
        assert_eq!(read_feed(&mut reader, &mut after), ["order.first", "order.second"]);
        assert!(read_feed(&mut reader, &mut after).is_empty(), "each event once");
        return;
    }
    let (mut slow, mut fast) = (pool.get().unwrap(), pool.get().unwrap());
    diesel::sql_query("BEGIN").execute(&mut *slow).unwrap();
    append(&mut slow, &feed_event("order.slow")).unwrap(); // takes the lower seq
    append(&mut fast, &feed_event("order.fast")).unwrap(); // commits first
    let early = read_feed(&mut reader, &mut after);
    let early_naive = read_naively(&mut reader, &mut naive);
    diesel::sql_query("COMMIT").execute(&mut *slow).unwrap();
    let mut seen = early.clone();
    // Transactions of other tests on the same server hold the horizon back
    // for a moment too; the reader just reads again until it passes.
    for _ in 0..20_000 {
        seen.extend(read_feed(&mut reader, &mut after));
        if seen.len() >= 2 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(!early.contains(&"order.fast".to_owned()), "the feed ran ahead of a running transaction");
    assert_eq!(seen, ["order.slow", "order.fast"], "every event once, in one order");
    assert!(read_feed(&mut reader, &mut after).is_empty());
    // The same interleaving read by seq alone loses the slow event for good.
    let mut naive_seen = early_naive;
    naive_seen.extend(read_naively(&mut reader, &mut naive));
    assert_eq!(naive_seen, ["order.fast"], "the naive read should have skipped the slow event");
}

/// SQLite numbers each event in a trigger; the number must come from one
/// entry of the (tx_id, seq) index, not a scan of every event before it
/// (`MAX(seq)` alone cannot use that index: each event cost more than the last).
#[tokio::test]
async fn sqlite_numbers_an_event_from_one_index_entry() {
    #[derive(QueryableByName)]
    struct Sql {
        #[diesel(sql_type = Text)]
        sql: String,
    }
    #[derive(QueryableByName)]
    struct Plan {
        #[diesel(sql_type = Text)]
        detail: String,
    }
    let db = TestDb::sqlite();
    let (pool, _) = crm_app::open_database(db.url(), 1, std::time::Duration::from_secs(5)).unwrap();
    let mut conn = pool.get().unwrap();
    let trigger: Vec<Sql> = diesel::sql_query(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'outbox_events_number'",
    )
    .load(&mut *conn)
    .unwrap();
    let body = &trigger[0].sql;
    let start = body.find("(SELECT").expect("the trigger numbers with a subquery") + 1;
    // The subquery ends at the parenthesis that closes the one it opened with.
    let mut depth = 1;
    let len = body[start..]
        .char_indices()
        .find(|&(_, c)| {
            depth += match c {
                '(' => 1,
                ')' => -1,
                _ => 0,
            };
            depth == 0
        })
        .unwrap()
        .0;
    let subquery = &body[start..start + len];
    let plan: Vec<Plan> =
        diesel::sql_query(format!("EXPLAIN QUERY PLAN {subquery}")).load(&mut *conn).unwrap();
    let details: Vec<&str> = plan.iter().map(|p| p.detail.as_str()).collect();
    assert!(
        details.iter().any(|d| d.contains("outbox_events_feed_idx (tx_id=?)")),
        "{subquery}: {details:?}"
    );
}

/// diesel prepares each statement once per connection, and after a few runs
/// PostgreSQL keeps one generic plan for it, made with the statistics of that
/// moment. On a fresh database those say the tables are empty, so a lookup
/// that can pick the wrong index then picks it, and reads every row of the
/// table on each request until autovacuum next analyses it. Planned on an
/// empty database, the intake's lookups must each still reach their rows
/// through an index that holds all their equalities.
#[tokio::test]
async fn the_intakes_lookups_keep_their_index_when_planned_on_an_empty_database() {
    let Some((_db, mut conn)) =
        generic_plans("the_intakes_lookups_keep_their_index_when_planned_on_an_empty_database")
    else {
        return;
    };
    // Each lookup once, through the store, so that diesel prepares it here.
    use crm_store::queries::{clients, leads, outbox};
    assert!(leads::find_by_external(&mut conn, "manual", "x").unwrap().is_none());
    assert!(leads::open_thread(&mut conn, "telegram", "1:2").unwrap().is_none());
    assert!(clients::owners_of_point(&mut conn, "phone", "+79160000001").unwrap().is_empty());
    let nobody = crm_domain::new_id();
    assert!(outbox::last_rendered(&mut conn, "lead", nobody.into()).unwrap().is_none());
    let dedupe = explain(&mut conn, "%FROM \"leads\" WHERE%\"external_id\" = $2%", "'manual', 'x', 1");
    assert!(dedupe.contains("leads_channel_external_idx") && !dedupe.contains("Filter"), "{dedupe}");
    let thread =
        explain(&mut conn, "%FROM \"leads\" WHERE%\"thread_key\" = $2%", "'telegram', '1:2', 'new', 1");
    assert!(thread.contains("leads_thread_idx") && !thread.contains("Filter"), "{thread}");
    let phone = explain(&mut conn, "%FROM \"contact_points\" WHERE%", "'phone', '+79160000001'");
    assert!(phone.contains("contact_points_value_idx") && phone.contains("value = $2"), "{phone}");
    assert!(!phone.contains("Filter"), "{phone}");
    let previous = explain(
        &mut conn,
        "%FROM \"outbox_events\" WHERE%\"entity_id\" = $2%",
        &format!("'lead', '{nobody}', 1"),
    );
    assert!(previous.contains("outbox_events_entity_feed_idx"), "{previous}");
}

/// A manager's own list of clients or interests, planned as above, reads
/// `(responsible_id, id)` from the manager's first row in order and stops
/// at the page's end: no walk of the whole id index with a filter (which
/// reads every other manager's rows before the manager's own), no sort.
#[tokio::test]
async fn a_managers_lists_read_their_own_rows_in_order_when_planned_on_an_empty_database() {
    let Some((_db, mut conn)) =
        generic_plans("a_managers_lists_read_their_own_rows_in_order_when_planned_on_an_empty_database")
    else {
        return;
    };
    use crm_store::queries::{clients, sales as interests, PageQuery};
    let manager: crm_store::DbUuid = crm_domain::new_id().into();
    let own = clients::ClientFilter { responsible_in: Some(vec![manager]), ..Default::default() };
    assert!(clients::list_clients(&mut conn, &own, PageQuery::first(50)).unwrap().is_empty());
    let own = interests::InterestFilter { responsible_in: Some(vec![manager]), ..Default::default() };
    assert!(interests::list_interests(&mut conn, &own, PageQuery::first(50)).unwrap().is_empty());
    let args = format!("'{}', 50", manager.0);
    for (table, index) in
        [("clients", "clients_responsible_idx"), ("interests", "interests_responsible_id_idx")]
    {
        let plan = explain(&mut conn, &format!("%FROM \"{table}\" WHERE%\"responsible_id\" = $1%"), &args);
        assert!(plan.contains(index), "{table}: {plan}");
        assert!(!plan.contains("Filter") && !plan.contains("Sort"), "{table}: {plan}");
    }
}

/// A fresh PostgreSQL database and a connection to it that plans every
/// prepared statement as PostgreSQL settles on after a few runs, at once;
/// `None` (and a note) without `CRM_TEST_DATABASE_URL`.
fn generic_plans(test: &str) -> Option<(TestDb, crm_store::db::PooledConnection)> {
    let Some(admin_url) = std::env::var("CRM_TEST_DATABASE_URL").ok().filter(|v| !v.is_empty()) else {
        eprintln!("{test}: needs PostgreSQL; set CRM_TEST_DATABASE_URL (.ci/run does)");
        return None;
    };
    let pg = TestDb::postgres(&admin_url);
    let (pool, _) = crm_app::open_database(pg.url(), 1, std::time::Duration::from_secs(5)).unwrap();
    let mut conn = pool.get().unwrap();
    diesel::sql_query("SET plan_cache_mode = force_generic_plan").execute(&mut *conn).unwrap();
    Some((pg, conn))
}

/// The plan of the one statement prepared on `conn` whose text is like
/// `statement_like`, for the arguments `args`.
fn explain(conn: &mut crm_store::DbConnection, statement_like: &str, args: &str) -> String {
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        line: String,
    }
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }
    let names: Vec<Name> = diesel::sql_query(format!(
        "SELECT name::text FROM pg_prepared_statements WHERE statement LIKE '{statement_like}'"
    ))
    .load(conn)
    .unwrap();
    assert_eq!(names.len(), 1, "one prepared statement like {statement_like}");
    let lines: Vec<Line> =
        diesel::sql_query(format!("EXPLAIN EXECUTE {}({args})", names[0].name)).load(conn).unwrap();
    lines.into_iter().map(|l| l.line).collect::<Vec<_>>().join("\n")
}
