//! The flow driver of the side-by-side benchmark (`bench/side_by_side.sh`, issue 14): drives
//! OpenID Connect providers — OneID or the peer, panva's oidc-provider — the way a browser and
//! a relying party would, and verifies every answer.
//!
//!     flow_bench sso     --base URL --client-id ID --client-secret S --redirect-uri URI ...
//!     flow_bench fresh   (same)        # a new cookie jar per flow: authorize, sign in, token
//!     flow_bench login   (same)        # OneID's POST /login with the right password, alone
//!     flow_bench startup --url URL --runs 15 -- COMMAND ARGS...
//!     flow_bench seed    --database-url URL --accounts N --password P
//!
//! Load modes run `--concurrency` browsers for `--warmup` seconds, then `--samples` windows of
//! `--duration` seconds, and print one line per window: `key=value` pairs (rate, p50_ms,
//! p99_ms, errors, and with `--server-pid` the server's CPU milliseconds per operation from
//! /proc). Each browser keeps its own cookie jar (path-scoped, as a browser does), follows the
//! provider's redirects itself, fills in the sign-in form it is shown (hidden fields such as
//! the CSRF token kept, the text field given the login, the password field the password), and
//! checks `state` and `iss` on the redirect to the app, the code, and the token response:
//! an access token, and an ID token whose `iss`, `aud` and `nonce` are right.

mod driver;

use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use clap::{Args, Parser, Subcommand};
use driver::{Load, Report, drive};

#[derive(Parser)]
#[command(about = "OIDC flow driver for bench/side_by_side.sh")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Code flows riding a signed-in session: each browser signs in once (untimed), then
    /// authorize -> redirect with a code -> token, again and again.
    Sso(Load),
    /// Code flows with a fresh sign-in: a new cookie jar per flow, authorize -> sign-in page ->
    /// POST the form with the password -> (no consent) -> code -> token.
    Fresh(Load),
    /// OneID's password sign-in alone: GET /login (untimed), POST /login with the right
    /// password (timed), expecting the redirect to the account page.
    Login(Load),
    /// Start-up time: runs COMMAND, polls URL in a tight loop until it answers 200, stops the
    /// command (SIGTERM), `--runs` times; prints the median, min and max.
    Startup(Startup),
    /// Seeds `--accounts` active accounts (+9198xxxxxxxx, numbered from 1) into a migrated
    /// OneID database, every one with the same argon2id hash of `--password`.
    Seed(Seed),
}

#[derive(Args)]
struct Startup {
    /// Polled until it answers 200 (the discovery document).
    #[arg(long)]
    url: String,
    #[arg(long, default_value_t = 15)]
    runs: usize,
    #[arg(trailing_var_arg = true, required = true)]
    command: Vec<String>,
}

#[derive(Args)]
struct Seed {
    #[arg(long)]
    database_url: String,
    #[arg(long)]
    accounts: i64,
    #[arg(long)]
    password: String,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.mode {
        Mode::Startup(args) => startup(args),
        Mode::Seed(args) => seed(args),
        Mode::Sso(load) => run_load("sso", load),
        Mode::Fresh(load) => run_load("fresh", load),
        Mode::Login(load) => run_load("login", load),
    }
}

fn run_load(mode: &'static str, load: Load) -> anyhow::Result<()> {
    // One thread: the script pins the driver to its own core.
    let report = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(drive(mode, load))?;
    print(&report);
    Ok(())
}

/// One `key=value` line per window, read by `bench/side_by_side.sh`; the first error on stderr.
fn print(report: &Report) {
    let (mode, algs) = (report.mode, &report.algs);
    for (i, w) in report.windows.iter().enumerate() {
        let cpu = w
            .cpu_ms_per_op
            .map_or_else(|| "-".to_owned(), |c| format!("{c:.3}"));
        println!(
            "mode={mode} sample={} ops={} secs={:.2} rate={:.1} p50_ms={:.2} p99_ms={:.2} \
             errors={} cpu_ms_per_op={cpu} id_alg={} at_alg={}",
            i + 1,
            w.ops,
            w.secs,
            w.ops as f64 / w.secs,
            w.p50_ms,
            w.p99_ms,
            w.errors,
            or_dash(&algs.id_token),
            or_dash(&algs.access_token),
        );
    }
    if let Some(error) = &report.first_error {
        eprintln!("flow_bench {mode}: first error (warm-up included): {error}");
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

// ---------------------------------------------------------------------------------------------
// Start-up time.

/// Starts the command `runs` times; each time, polls `url` with a fresh connection per try and
/// no pause (a refused connection returns at once; the poller has its own core) until a 200.
fn startup(args: Startup) -> anyhow::Result<()> {
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| anyhow!("no command"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()?;
    let mut times = Vec::new();
    for _ in 0..args.runs {
        let started = Instant::now();
        let mut child = std::process::Command::new(program)
            .args(rest)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .with_context(|| format!("starting {program}"))?;
        let answered = runtime.block_on(async {
            while started.elapsed() < Duration::from_secs(60) {
                if let Ok(response) = http.get(&args.url).send().await
                    && response.status() == 200
                {
                    return Some(started.elapsed());
                }
            }
            None
        });
        stop_child(&mut child)?;
        times.push(answered.ok_or_else(|| anyhow!("{} never answered 200", args.url))?);
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "mode=startup runs={} median_ms={:.1} min_ms={:.1} max_ms={:.1} all_ms={}",
        times.len(),
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1]),
        times
            .iter()
            .map(|t| format!("{:.0}", ms(*t)))
            .collect::<Vec<_>>()
            .join(",")
    );
    Ok(())
}

/// SIGTERM (a graceful stop, as a supervisor would), then SIGKILL after 10 s.
fn stop_child(child: &mut std::process::Child) -> anyhow::Result<()> {
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill()?;
    child.wait()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Seeding accounts.

/// Inserts the accounts in one statement inside the database, as `examples/admin_bench.rs`
/// seeds (a recursive CTE on SQLite, `generate_series` on PostgreSQL), every row with the one
/// PHC string computed here: a real argon2id hash with OneID's parameters.
fn seed(args: Seed) -> anyhow::Result<()> {
    use diesel::connection::SimpleConnection as _;
    use oneid::{
        db::{Db, DbConn},
        domain::{Password, PasswordHasher},
    };
    let password = Password::parse(args.password.clone()).map_err(|e| anyhow!("{e}"))?;
    let hash = PasswordHasher::new().hash(&password);
    let db = Db::connect(&args.database_url, 1, Duration::from_secs(30), 5_000)?;
    let n = args.accounts;
    let started = Instant::now();
    db.with_conn(|conn| {
        let (series, phone, now) = match conn {
            DbConn::Sqlite(_) => (
                format!(
                    "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s)"
                ),
                "printf('%08d', i)",
                "datetime('now')",
            ),
            DbConn::Postgres(_) => (
                format!("(SELECT generate_series(1::bigint, {n}) AS i)"),
                "lpad(i::text, 8, '0')",
                "now()::timestamp",
            ),
        };
        let sql = format!(
            "BEGIN; INSERT INTO accounts (account_id, sub, phone, display_name, password_hash, \
             status, created_at, updated_at, failed_logins, must_reset_password, name_key) \
             SELECT 100000000 + i * 97, 'bench-' || i, '+9198' || {phone}, 'Bench ' || i, \
             '{hash}', 'active', {now}, {now}, 0, FALSE, 'bench ' || i FROM {series} AS s; \
             COMMIT;",
            hash = hash.as_str(),
        );
        match conn {
            DbConn::Sqlite(c) => c.batch_execute(&sql)?,
            DbConn::Postgres(c) => c.batch_execute(&sql)?,
        }
        Ok::<_, oneid::db::DbError>(())
    })?;
    eprintln!("seeded {n} accounts in {:?}", started.elapsed());
    Ok(())
}
