//! The audit writer alone (issue 14): what one `token_issued` row costs the server. Records
//! EVENTS (200,000) events shaped like the token endpoint's (client, address, user agent, grant
//! type) from PRODUCERS (32) tasks through the server's queued writer (`Audit::queued`) into a
//! fresh, migrated SQLite file or PostgreSQL schema, waits until the last one is written, and
//! prints the rate after checking that the database holds every row. `bench/audit_writer.sh` runs
//! it pinned to one core and measures the CPU it takes.
//!
//!     cargo run --release --example audit_bench -- sqlite /tmp/audit.db
//!     cargo run --release --example audit_bench -- postgres postgres://postgres@127.0.0.1:5432/test

use std::{net::IpAddr, sync::Arc, time::Instant};

use diesel::{QueryDsl, RunQueryDsl};
use oneid::{
    audit::{Audit, AuditEvent, AuditKind, Outcome},
    clock::{Clock, SystemClock},
    config::AuditSettings,
    db::{schema::audit_events, testing::BenchDatabase},
    domain::{ClientId, ClientInfo},
};

fn env_n(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// One worker, as a server pinned to one core has; the writer's statements run on the blocking
// pool, as in the server.
#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (backend, target) = match args.as_slice() {
        [_, b, t] => (b.clone(), t.clone()),
        _ => anyhow::bail!("usage: audit_bench sqlite FILE | postgres URL"),
    };
    let events = env_n("EVENTS", 200_000);
    let producers = env_n("PRODUCERS", 32).max(1);
    let database = BenchDatabase::create(&backend, &target)?;
    let db = database.db.clone();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let audit = Audit::queued(db.clone(), clock, &AuditSettings { retention_days: 0 });

    let client = ClientId::parse("bench-service")
        .ok_or_else(|| anyhow::anyhow!("the client id does not parse"))?;
    let who = ClientInfo {
        ip: Some(IpAddr::from([203, 0, 113, 7])),
        user_agent: Some("wrk/4.2".into()),
    };
    let started = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..producers {
        let (audit, client, who) = (audit.clone(), client.clone(), who.clone());
        let mine = events / producers + u64::from(p < events % producers);
        tasks.push(tokio::spawn(async move {
            for _ in 0..mine {
                let event = AuditEvent::new(AuditKind::TokenIssued, Outcome::Ok)
                    .client(&client)
                    .from(&who)
                    .detail("client_credentials");
                audit.record(event).await;
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    audit.flush().await;
    let took = started.elapsed();
    let rows: i64 = db
        .run(|conn| Ok(audit_events::table.count().get_result(conn)?))
        .await?;
    anyhow::ensure!(
        u64::try_from(rows)? == events,
        "{rows} rows written for {events} events"
    );
    println!(
        "{backend}: {events} events in {:.2} s: {:.0} events/s",
        took.as_secs_f64(),
        events as f64 / took.as_secs_f64()
    );
    Ok(())
}
