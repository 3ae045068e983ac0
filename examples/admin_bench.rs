//! The million-account benchmark of the admin console's queries (issue 13 §4): seeds
//! 1,000,000 accounts and 10,000,000 audit events into a fresh SQLite file or PostgreSQL
//! schema, then times account search (phone, email, account ID, name prefix) and the audit
//! log page (`admin::events::page`: unfiltered, by account, by kind, by client, page 50 via
//! the cursor) with random inputs, printing median and p99 per kind as markdown rows.
//!
//!     cargo run --example admin_bench -- sqlite /tmp/bench.db
//!     cargo run --example admin_bench -- postgres postgres://postgres@127.0.0.1:5432/test
//!
//! ACCOUNTS, EVENTS and QUERIES (per kind) override the sizes. Run by `bench/admin_search.sh`.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use diesel::{RunQueryDsl, connection::SimpleConnection, prelude::*};
use oneid::{
    admin::{self, events::EventQuery},
    audit::AuditKind,
    clock::SystemClock,
    config::AuditSettings,
    db::{DbConn, DbError, testing::BenchDatabase},
    domain::Region,
};
use rand::{Rng, SeedableRng, rngs::StdRng};

const FIRST: [&str; 16] = [
    "Asha",
    "Ravi",
    "Priya",
    "Arjun",
    "Meera",
    "Vikram",
    "Ananya",
    "Rahul",
    "आशा",
    "रवि",
    "प्रिया",
    "अर्जुन",
    "मीरा",
    "विक्रम",
    "अनन्या",
    "राहुल",
];
const LAST: [&str; 8] = [
    "Verma",
    "Sharma",
    "Iyer",
    "Khan",
    "वर्मा",
    "शर्मा",
    "अय्यर",
    "ख़ान",
];
/// Lower-cased, as `name_key` holds them.
const PREFIXES: [&str; 12] = [
    "asha",
    "ravi ",
    "pri",
    "arjun s",
    "meera k",
    "vik",
    "आशा",
    "रवि व",
    "प्रि",
    "अर्जुन",
    "मीरा श",
    "ananya iyer",
];
const KINDS: [&str; 8] = [
    "login_ok",
    "token_issued",
    "code_sent",
    "code_verified",
    "login_failed",
    "consent_given",
    "logout",
    "limit_tripped",
];

fn env_n(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn exec(conn: &mut DbConn, sql: &str) -> Result<(), DbError> {
    match conn {
        DbConn::Sqlite(c) => c.batch_execute(sql)?,
        DbConn::Postgres(c) => c.batch_execute(sql)?,
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    t: String,
}

fn texts(conn: &mut DbConn, sql: &str) -> Result<Vec<String>, DbError> {
    let rows: Vec<Text> = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(sql).load(c)?,
        DbConn::Postgres(c) => diesel::sql_query(sql).load(c)?,
    };
    Ok(rows.into_iter().map(|r| r.t).collect())
}

/// The CREATE INDEX statements of `table` (not the primary key or unique constraints).
fn index_sql(conn: &mut DbConn, table: &str) -> Result<Vec<(String, String)>, DbError> {
    let sql = match conn {
        DbConn::Sqlite(_) => format!(
            "SELECT name || char(31) || sql AS t FROM sqlite_master WHERE type = 'index' \
             AND tbl_name = '{table}' AND sql IS NOT NULL"
        ),
        DbConn::Postgres(_) => format!(
            "SELECT indexname || chr(31) || indexdef AS t FROM pg_indexes WHERE tablename = \
             '{table}' AND schemaname = current_schema() AND indexdef NOT LIKE 'CREATE UNIQUE%'"
        ),
    };
    Ok(texts(conn, &sql)?
        .into_iter()
        .filter_map(|t| {
            t.split_once('\u{1f}')
                .map(|(n, s)| (n.to_owned(), s.to_owned()))
        })
        .collect())
}

/// SQL for a CASE picking `list[h % len]`.
fn pick(h: &str, list: &[&str]) -> String {
    let mut s = format!("CASE ({h}) % {} ", list.len());
    for (i, v) in list.iter().enumerate() {
        s += &format!("WHEN {i} THEN '{v}' ");
    }
    s + "END"
}

fn seed(conn: &mut DbConn, n_accounts: i64, n_events: i64) -> Result<(), DbError> {
    let pg = matches!(conn, DbConn::Postgres(_));
    if pg {
        // Seeding statements run for minutes; the pool's timeout is for requests.
        exec(conn, "SET statement_timeout = 0")?;
    } else {
        exec(
            conn,
            "PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000;",
        )?;
    }
    // Secondary indexes are built after the rows: one sort each, not ten million inserts.
    let mut indexes = index_sql(conn, "accounts")?;
    indexes.extend(index_sql(conn, "audit_events")?);
    for (name, _) in &indexes {
        exec(conn, &format!("DROP INDEX {name}"))?;
    }
    let series = |n: i64| {
        if pg {
            format!("FROM generate_series(1::bigint, {n}) AS s(i)")
        } else {
            format!(
                "FROM (WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s)"
            )
        }
    };
    // A scrambled number per row, the same on both backends.
    let h = "((i * 2654435761) % 1000003)";
    let name = format!(
        "{} || ' ' || {}",
        pick(h, &FIRST),
        pick(&format!("({h} / 16)"), &LAST)
    );
    let now = if pg {
        "now()::timestamp"
    } else {
        "datetime('now')"
    };
    let started = Instant::now();
    let sql = format!(
        "BEGIN; INSERT INTO accounts (account_id, sub, phone, email, display_name, password_hash, \
         status, created_at, updated_at, failed_logins, must_reset_password, name_key) \
         SELECT 100000000 + i * 97, 'sub-' || i, '+9198' || {pad_phone}, \
         CASE WHEN i % 3 = 0 THEN 'user' || i || '@example.in' END, {name}, 'x', \
         CASE WHEN i % 100 = 0 THEN 'locked' ELSE 'active' END, {now}, {now}, 0, FALSE, \
         lower({name}) {from}; COMMIT;",
        pad_phone = if pg {
            "lpad(i::text, 8, '0')"
        } else {
            "printf('%08d', i)"
        },
        from = series(n_accounts),
    );
    exec(conn, &sql)?;
    eprintln!("  accounts: {:?}", started.elapsed());
    let started = Instant::now();
    let step_ms = 90 * 24 * 3600 * 1000 / n_events.max(1);
    let at = if pg {
        format!(
            "now()::timestamp - interval '90 days' + (i * {step_ms}) * interval '1 millisecond'"
        )
    } else {
        format!(
            "strftime('%Y-%m-%d %H:%M:%f', 'now', '-90 days', '+' || ((i * {step_ms}) / 1000.0) || ' seconds')"
        )
    };
    let chunk = 1_000_000;
    let mut done = 0;
    while done < n_events {
        let n = chunk.min(n_events - done);
        let sql = format!(
            "BEGIN; INSERT INTO audit_events (at, kind, account_id, client_id, ip, user_agent, outcome, detail, actor) \
             SELECT {at}, {kind}, 100000000 + (1 + ({h} % {n_accounts})) * 97, 'app-' || (i % 20), \
             '10.' || (i % 7) || '.' || ({h} % 256) || '.' || (i % 251), 'Mozilla/5.0 (Linux; Android 14)', \
             CASE WHEN i % 17 = 0 THEN 'failed' ELSE 'ok' END, \
             CASE WHEN i % 2 = 0 THEN 'signup sms' ELSE 'reset email' END, NULL \
             FROM (SELECT i + {done} AS i {from}) AS t; COMMIT;",
            kind = pick("i * 7 + i / 13", &KINDS),
            from = series(n),
        );
        exec(conn, &sql)?;
        done += n;
    }
    eprintln!("  audit events: {:?}", started.elapsed());
    let started = Instant::now();
    for (_, sql) in &indexes {
        exec(conn, sql)?;
    }
    exec(conn, "ANALYZE")?;
    eprintln!("  indexes + analyze: {:?}", started.elapsed());
    if pg {
        exec(conn, "RESET statement_timeout")?;
    }
    Ok(())
}

fn stats(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        ms(samples[i])
    };
    (p(0.5), p(0.99))
}

fn row(backend: &str, what: &str, samples: Vec<Duration>) {
    let n = samples.len();
    let (p50, p99) = stats(samples);
    println!("| {backend} | {what} | {n} | {p50:.2} | {p99:.2} |");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (backend, target) = match args.as_slice() {
        [_, b, t] => (b.clone(), t.clone()),
        _ => anyhow::bail!("usage: admin_bench sqlite FILE | postgres URL"),
    };
    let n_accounts = env_n("ACCOUNTS", 1_000_000);
    let n_events = env_n("EVENTS", 10_000_000);
    let queries = env_n("QUERIES", 1_000) as usize;
    let database = BenchDatabase::create(&backend, &target)?;
    let db = database.db.clone();
    eprintln!("seeding {n_accounts} accounts and {n_events} audit events ({backend})");
    let started = Instant::now();
    db.with_conn(|conn| seed(conn, n_accounts, n_events))?;
    let seeding = started.elapsed();
    eprintln!("seeded in {seeding:?}");
    let clock: Arc<dyn oneid::clock::Clock> = Arc::new(SystemClock);
    let warm =
        oneid::oauth::warm::Warm::new(Arc::new(oneid::store::MemoryStore::new(clock.clone())));
    let ctx = admin::Context::new(
        db.clone(),
        clock,
        &AuditSettings { retention_days: 0 },
        warm,
    );

    // Account search: `admin::users::search`, what the console and the API call, with what a
    // person would type into its one box; each must find someone.
    let s = search_times(&ctx, queries, 13, |rng| {
        let i = rng.gen_range(1..=n_accounts);
        // National form with a space, as people type it.
        format!("98{:04} {:04}", i / 10_000, i % 10_000)
    })
    .await;
    row(&backend, "search: phone (typed `98xxxx xxxx`)", s);
    let s = search_times(&ctx, queries, 14, |rng| {
        format!("User{}@Example.in", rng.gen_range(1..=n_accounts / 3) * 3)
    })
    .await;
    row(&backend, "search: email (mixed case)", s);
    let s = search_times(&ctx, queries, 15, |rng| {
        (100_000_000 + rng.gen_range(1..=n_accounts) * 97).to_string()
    })
    .await;
    row(&backend, "search: account ID", s);
    let s = search_times(&ctx, queries, 16, |rng| {
        PREFIXES[rng.gen_range(0..PREFIXES.len())].to_owned()
    })
    .await;
    row(&backend, "search: name prefix (first 50)", s);

    // The audit page.
    let s = page_times(&ctx, queries, |_| EventQuery::default(), 1).await;
    row(&backend, "audit: first page, no filter", s);
    let s = page_times(
        &ctx,
        queries,
        |rng| EventQuery {
            account: Some(
                (100_000_000 + rng.gen_range(1..=n_accounts) * 97)
                    .to_string()
                    .parse()
                    .unwrap(),
            ),
            ..EventQuery::default()
        },
        2,
    )
    .await;
    row(&backend, "audit: by account", s);
    let s = page_times(
        &ctx,
        queries,
        |rng| EventQuery {
            kind: AuditKind::ALL
                .into_iter()
                .find(|k| k.as_str() == KINDS[rng.gen_range(0..KINDS.len())]),
            ..EventQuery::default()
        },
        3,
    )
    .await;
    row(&backend, "audit: by kind", s);
    let s = page_times(
        &ctx,
        queries,
        |rng| EventQuery {
            app: Some(format!("app-{}", rng.gen_range(0..20))),
            ..EventQuery::default()
        },
        4,
    )
    .await;
    row(&backend, "audit: by client", s);
    // Page 50: walk the cursor 49 pages deep from a random start, then time the 50th page.
    let mut rng = StdRng::seed_from_u64(5);
    let mut s = Vec::with_capacity(queries);
    let total: i64 = db.with_conn(|c| {
        Ok::<_, DbError>(
            oneid::db::schema::audit_events::table
                .select(diesel::dsl::max(oneid::db::schema::audit_events::id))
                .first::<Option<i64>>(c)?
                .unwrap_or(0),
        )
    })?;
    for _ in 0..queries {
        let query = EventQuery {
            app: Some(format!("app-{}", rng.gen_range(0..20))),
            ..EventQuery::default()
        };
        let mut before = Some(rng.gen_range(total / 2..=total));
        for _ in 0..49 {
            before = admin::events::page(&ctx, &query, before, 50).await?.next;
        }
        let t = Instant::now();
        admin::events::page(&ctx, &query, before, 50).await?;
        s.push(t.elapsed());
    }
    row(&backend, "audit: page 50 via cursor (by client)", s);
    let t = Instant::now();
    let o = admin::overview::overview(&ctx).await?;
    println!(
        "| {backend} | overview (all counts, once) | 1 | {:.2} | – |",
        t.elapsed().as_secs_f64() * 1000.0
    );
    eprintln!("overview: {o:?}");
    eprintln!("seeding took {seeding:?}");
    drop(db);
    if backend == "sqlite" {
        let _ = std::fs::remove_file(&target);
    }
    Ok(())
}

/// Times `queries` searches, each typed by `typed`; every one must find someone.
async fn search_times(
    ctx: &admin::Context,
    queries: usize,
    seed: u64,
    mut typed: impl FnMut(&mut StdRng) -> String,
) -> Vec<Duration> {
    let mut rng = StdRng::seed_from_u64(seed);
    let region = Region::default();
    let warm_up = typed(&mut rng);
    admin::users::search(ctx, &warm_up, region, None, 50)
        .await
        .expect("search");
    let mut out = Vec::with_capacity(queries);
    for _ in 0..queries {
        let query = typed(&mut rng);
        let t = Instant::now();
        let found = admin::users::search(ctx, &query, region, None, 50)
            .await
            .expect("search");
        out.push(t.elapsed());
        assert!(!found.accounts.is_empty(), "nobody found for {query}");
    }
    out
}

/// Times `queries` first pages of the audit view, each with a query from `q`.
async fn page_times(
    ctx: &admin::Context,
    queries: usize,
    q: impl Fn(&mut StdRng) -> EventQuery,
    seed: u64,
) -> Vec<Duration> {
    let mut rng = StdRng::seed_from_u64(seed);
    let warm_up = q(&mut rng);
    admin::events::page(ctx, &warm_up, None, 50)
        .await
        .expect("page");
    let mut out = Vec::with_capacity(queries);
    for _ in 0..queries {
        let query = q(&mut rng);
        let t = Instant::now();
        admin::events::page(ctx, &query, None, 50)
            .await
            .expect("page");
        out.push(t.elapsed());
    }
    out
}
