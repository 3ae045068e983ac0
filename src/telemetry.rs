//! Instruments for operators: every metric OneID exports, in one table ([`ALL`]), the
//! functions the code calls to record them, and the Prometheus recorder that renders them for
//! `/metrics` (see docs/metrics.md).
//!
//! Recording goes through the `metrics` facade: each call is a few atomic operations on a
//! handle the recorder keeps per name and label set, so the hot path pays no lock and no I/O.
//! Label values are bounded by construction: route patterns (never raw paths), status codes,
//! and the `&'static str` names of this crate's own enums. Nothing from a request that failed
//! to authenticate, and no account or client identifier, ever becomes a label.
//!
//! The recorder is global to the process (the facade has one slot). [`recorder`] installs it
//! the first time it is asked for, so several applications in one process (the integration
//! tests) share it and each of them can scrape; without it every call below is a no-op.

use std::{
    collections::HashSet,
    sync::{OnceLock, PoisonError, RwLock},
    time::Duration,
};

use metrics::{Unit, counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::domain::{Algorithm, CodePurpose};

/// What kind of Prometheus metric an instrument is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One exported metric: its name (Prometheus style, base units, `_total` for counters), what it
/// means, its labels, and for a histogram its bucket bounds in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Instrument {
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
    pub labels: &'static [&'static str],
    pub buckets: &'static [f64],
}

impl Instrument {
    const fn counter(
        name: &'static str,
        labels: &'static [&'static str],
        help: &'static str,
    ) -> Self {
        Self {
            name,
            kind: Kind::Counter,
            help,
            labels,
            buckets: &[],
        }
    }

    const fn gauge(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Gauge,
            help,
            labels: &[],
            buckets: &[],
        }
    }

    const fn histogram(
        name: &'static str,
        labels: &'static [&'static str],
        buckets: &'static [f64],
        help: &'static str,
    ) -> Self {
        Self {
            name,
            kind: Kind::Histogram,
            help,
            labels,
            buckets,
        }
    }
}

/// HTTP handling, from 0.5 ms (a cached discovery document) to 5 s (a request stuck behind the
/// database's connect timeout).
const HTTP_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// One argon2id verification: about 20 ms of a core at the OWASP parameters; up to 2 s on a
/// starved machine or for hashes made with heavier parameters.
const ARGON2_BUCKETS: &[f64] = &[
    0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.0,
];
/// Waiting for a password thread: nothing when one is free, whole check times when not.
const QUEUE_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// One JWS signature: tens of microseconds for ES256 and EdDSA, most of a millisecond for RS256.
const SIGNATURE_BUCKETS: &[f64] = &[
    0.00002, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
];
/// A unit of database work, or the wait for a pooled connection: 100 µs on SQLite's page
/// cache to the 5 s connect timeout.
const DB_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];
/// One ephemeral-store operation: microseconds in memory, a round trip to Redis, up to its
/// deadline.
const STORE_BUCKETS: &[f64] = &[
    0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.0,
];
/// Handing a message to SMTP, the SMS gateway or the outbox: milliseconds to the transport's
/// timeout.
const NOTIFY_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

pub const HTTP_REQUESTS: Instrument = Instrument::counter(
    "oneid_http_requests_total",
    &["method", "route", "status"],
    "HTTP requests answered, by method, matched route pattern (`unmatched` for none) and status code",
);
pub const HTTP_DURATION: Instrument = Instrument::histogram(
    "oneid_http_request_duration_seconds",
    &["method", "route"],
    HTTP_BUCKETS,
    "Time from receiving a request to its response, by method and matched route pattern",
);
pub const PASSWORD_CHECKS: Instrument = Instrument::counter(
    "oneid_password_checks_total",
    &["result"],
    "Password verifications (argon2id), by result: match or mismatch (a sign-in for no account runs one against a dummy hash and counts as a mismatch)",
);
pub const PASSWORD_CHECK_DURATION: Instrument = Instrument::histogram(
    "oneid_password_check_duration_seconds",
    &[],
    ARGON2_BUCKETS,
    "Time one password verification spent in argon2id",
);
pub const PASSWORD_QUEUE_WAIT: Instrument = Instrument::histogram(
    "oneid_password_queue_wait_seconds",
    &[],
    QUEUE_BUCKETS,
    "Time a password job (check or hash) waited for a password thread",
);
pub const PASSWORD_QUEUE_REJECTED: Instrument = Instrument::counter(
    "oneid_password_queue_rejected_total",
    &[],
    "Password jobs refused because the queue was full (answered 503 with Retry-After)",
);
pub const PASSWORD_QUEUE_WAITING: Instrument = Instrument::gauge(
    "oneid_password_queue_waiting",
    "Password jobs waiting for a thread now",
);
pub const SIGNATURE_DURATION: Instrument = Instrument::histogram(
    "oneid_signature_duration_seconds",
    &["alg"],
    SIGNATURE_BUCKETS,
    "JWS signatures made (ID tokens, access tokens, logout tokens), by algorithm; _count is the number of signatures",
);
pub const DB_DURATION: Instrument = Instrument::histogram(
    "oneid_db_duration_seconds",
    &["backend"],
    DB_BUCKETS,
    "Time one unit of database work took as its caller waited for it: the hop to the blocking pool and the wait for a pooled connection included",
);
pub const DB_POOL_WAIT: Instrument = Instrument::histogram(
    "oneid_db_pool_wait_seconds",
    &["backend"],
    DB_BUCKETS,
    "Time spent waiting for a pooled database connection",
);
pub const DB_ERRORS: Instrument = Instrument::counter(
    "oneid_db_errors_total",
    &["backend", "error"],
    "Database work that failed, by kind: unavailable (no connection), not_found, conflict (a constraint refused it), query (any other query error), other",
);
pub const STORE_DURATION: Instrument = Instrument::histogram(
    "oneid_store_duration_seconds",
    &["store", "op"],
    STORE_BUCKETS,
    "Time one ephemeral-store operation took, by store (memory or redis) and operation",
);
pub const STORE_ERRORS: Instrument = Instrument::counter(
    "oneid_store_errors_total",
    &["store", "op", "error"],
    "Ephemeral-store operations that failed, by kind: unavailable (unreachable or too slow) or corrupt (an unreadable value)",
);
pub const CODES_SENT: Instrument = Instrument::counter(
    "oneid_codes_sent_total",
    &["channel", "purpose", "outcome"],
    "Verification codes handed to a transport, by channel (sms, whatsapp or email), purpose and outcome (sent or failed)",
);
pub const NOTICES_SENT: Instrument = Instrument::counter(
    "oneid_notices_sent_total",
    &["channel", "notice", "outcome"],
    "Security notices handed to a transport, by channel, notice and outcome (sent or failed)",
);
pub const NOTIFY_DURATION: Instrument = Instrument::histogram(
    "oneid_notify_duration_seconds",
    &["channel"],
    NOTIFY_BUCKETS,
    "Time handing one message (code or notice) to its transport took",
);
pub const LIMITS_TRIPPED: Instrument = Instrument::counter(
    "oneid_limits_tripped_total",
    &["limit"],
    "Requests an abuse limit refused, by limit",
);
pub const BOT_CHECKS: Instrument = Instrument::counter(
    "oneid_bot_checks_total",
    &["outcome"],
    "The bot check before a code is sent, by outcome: a challenge issued with a page, a code request that passed, one sent to wait (no JavaScript), or one refused (forged, reused, expired or too easy)",
);
pub const PASSKEY_CEREMONIES: Instrument = Instrument::counter(
    "oneid_passkey_ceremonies_total",
    &["ceremony", "outcome"],
    "Passkey ceremonies answered, by ceremony (register or sign_in) and outcome (ok, or the reason class of a refusal)",
);
pub const BACKCHANNEL_DELIVERIES: Instrument = Instrument::counter(
    "oneid_backchannel_deliveries_total",
    &["outcome"],
    "Back-channel logout delivery attempts by this instance, by outcome: delivered, failed (retried later) or abandoned (after the last retry)",
);
pub const BACKCHANNEL_PENDING: Instrument = Instrument::gauge(
    "oneid_backchannel_pending",
    "Back-channel logout deliveries queued and not yet delivered or abandoned (the shared queue: every instance reports the same number; sampled every 15 s)",
);
pub const SESSIONS_ACTIVE: Instrument = Instrument::gauge(
    "oneid_sessions_active",
    "Signed-in browser sessions not ended (the shared database: every instance reports the same number; sampled every 15 s)",
);

/// Every metric OneID exports; docs/metrics.md lists each (a test holds the two together).
pub const ALL: &[Instrument] = &[
    HTTP_REQUESTS,
    HTTP_DURATION,
    PASSWORD_CHECKS,
    PASSWORD_CHECK_DURATION,
    PASSWORD_QUEUE_WAIT,
    PASSWORD_QUEUE_REJECTED,
    PASSWORD_QUEUE_WAITING,
    SIGNATURE_DURATION,
    DB_DURATION,
    DB_POOL_WAIT,
    DB_ERRORS,
    STORE_DURATION,
    STORE_ERRORS,
    CODES_SENT,
    NOTICES_SENT,
    NOTIFY_DURATION,
    LIMITS_TRIPPED,
    BOT_CHECKS,
    PASSKEY_CEREMONIES,
    BACKCHANNEL_DELIVERIES,
    BACKCHANNEL_PENDING,
    SESSIONS_ACTIVE,
];

/// The label of a route that matched no pattern (404s of every path fall under this one).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The process's recorder, installed as the facade's global recorder on first use; its handle
/// renders the Prometheus text format. A background thread drains the histograms every
/// second, so memory stays bounded whether or not anyone scrapes.
pub fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = builder().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            // Only when something else in the process installed a recorder first: /metrics
            // then answers, empty, rather than failing the start.
            tracing::warn!("another metrics recorder is installed; /metrics will be empty");
        }
        describe();
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("oneid-metrics".into())
            .spawn(move || {
                loop {
                    // Until drained, each recorded value is kept as a raw sample (8 bytes and
                    // change): at ~100,000 requests/s a 5 s interval held 7 MiB of them at
                    // its peak; 1 s holds under 2 MiB, and the wake-up costs nothing.
                    std::thread::sleep(Duration::from_secs(1));
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "metrics upkeep thread not started; histograms drain only when scraped");
        }
        handle
    })
}

/// The Prometheus text exposition of every metric now.
pub fn render() -> String {
    recorder().render()
}

/// The recorder's settings: explicit buckets for each histogram (rendered as real Prometheus
/// histograms, which aggregate across instances, rather than per-instance summaries).
fn builder() -> PrometheusBuilder {
    ALL.iter().filter(|i| i.kind == Kind::Histogram).fold(
        PrometheusBuilder::new(),
        |builder, instrument| {
            builder
                .set_buckets_for_metric(
                    Matcher::Full(instrument.name.to_owned()),
                    instrument.buckets,
                )
                .expect("the bucket tables above are not empty")
        },
    )
}

/// HELP and unit lines for every metric, so a scrape explains itself.
fn describe() {
    for instrument in ALL {
        let unit = match instrument.kind {
            Kind::Histogram => Unit::Seconds,
            Kind::Counter | Kind::Gauge => Unit::Count,
        };
        match instrument.kind {
            Kind::Counter => metrics::describe_counter!(instrument.name, unit, instrument.help),
            Kind::Gauge => metrics::describe_gauge!(instrument.name, unit, instrument.help),
            Kind::Histogram => {
                metrics::describe_histogram!(instrument.name, unit, instrument.help)
            }
        }
    }
}

/// An HTTP method as a label: the standard ones by name, anything else as `other`.
pub fn method_label(method: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
    ];
    KNOWN
        .iter()
        .find(|known| **known == method)
        .copied()
        .unwrap_or("other")
}

/// A status code as a label: the codes OneID answers with by number, anything else by class
/// (`2xx` … `5xx`), so no client can make up new label values.
pub fn status_label(status: u16) -> &'static str {
    const KNOWN: &[(u16, &str)] = &[
        (200, "200"),
        (201, "201"),
        (204, "204"),
        (301, "301"),
        (302, "302"),
        (303, "303"),
        (304, "304"),
        (307, "307"),
        (308, "308"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (406, "406"),
        (409, "409"),
        (410, "410"),
        (411, "411"),
        (413, "413"),
        (414, "414"),
        (415, "415"),
        (422, "422"),
        (429, "429"),
        (431, "431"),
        (500, "500"),
        (502, "502"),
        (503, "503"),
        (504, "504"),
    ];
    if let Some((_, label)) = KNOWN.iter().find(|(code, _)| *code == status) {
        return label;
    }
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

/// One answered HTTP request. `route` is the matched pattern (`/admin/accounts/{id}`), `None`
/// when nothing matched.
pub fn http_request(method: &str, route: Option<&str>, status: u16, elapsed: Duration) {
    let method = method_label(method);
    let route = route.map_or(UNMATCHED_ROUTE, interned_route);
    histogram!(HTTP_DURATION.name, "method" => method, "route" => route)
        .record(elapsed.as_secs_f64());
    counter!(
        HTTP_REQUESTS.name,
        "method" => method,
        "route" => route,
        "status" => status_label(status)
    )
    .increment(1);
}

/// Route patterns kept for the life of the process, so that each request's labels are
/// `&'static str` and allocate nothing. The patterns come from the code's route table, so there
/// are a few dozen; past [`MAX_ROUTES`] (a bug, not a request, could cause that) they share one
/// label rather than grow the set.
fn interned_route(route: &str) -> &'static str {
    const MAX_ROUTES: usize = 512;
    static ROUTES: OnceLock<RwLock<HashSet<&'static str>>> = OnceLock::new();
    let routes = ROUTES.get_or_init(RwLock::default);
    if let Some(found) = routes
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(route)
    {
        return found;
    }
    let mut routes = routes.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = routes.get(route) {
        return found;
    }
    if routes.len() >= MAX_ROUTES {
        return "other";
    }
    let kept: &'static str = Box::leak(route.to_owned().into_boxed_str());
    routes.insert(kept);
    kept
}

/// One argon2id password verification and what it found.
pub fn password_check(matched: bool, elapsed: Duration) {
    histogram!(PASSWORD_CHECK_DURATION.name).record(elapsed.as_secs_f64());
    let result = if matched { "match" } else { "mismatch" };
    counter!(PASSWORD_CHECKS.name, "result" => result).increment(1);
}

/// A password job started on its thread after waiting `waited`; `waiting` jobs are left.
pub fn password_job_started(waited: Duration, waiting: usize) {
    histogram!(PASSWORD_QUEUE_WAIT.name).record(waited.as_secs_f64());
    password_queue_waiting(waiting);
}

/// `waiting` password jobs wait for a thread now.
pub fn password_queue_waiting(waiting: usize) {
    gauge!(PASSWORD_QUEUE_WAITING.name).set(waiting as f64);
}

/// A password job refused: the queue was full.
pub fn password_queue_rejected() {
    counter!(PASSWORD_QUEUE_REJECTED.name).increment(1);
}

/// One JWS signature by `alg`.
pub fn signature(alg: Algorithm, elapsed: Duration) {
    histogram!(SIGNATURE_DURATION.name, "alg" => alg.as_str()).record(elapsed.as_secs_f64());
}

/// One unit of database work on `backend` (`sqlite` or `postgres`): the wait for a connection,
/// and the whole of it; `error` names what went wrong, if anything.
pub fn db_work(
    backend: &'static str,
    pool_wait: Duration,
    total: Duration,
    error: Option<&'static str>,
) {
    histogram!(DB_POOL_WAIT.name, "backend" => backend).record(pool_wait.as_secs_f64());
    histogram!(DB_DURATION.name, "backend" => backend).record(total.as_secs_f64());
    if let Some(error) = error {
        counter!(DB_ERRORS.name, "backend" => backend, "error" => error).increment(1);
    }
}

/// One ephemeral-store operation; `error` names what went wrong, if anything.
pub fn store_op(
    store: &'static str,
    op: &'static str,
    elapsed: Duration,
    error: Option<&'static str>,
) {
    histogram!(STORE_DURATION.name, "store" => store, "op" => op).record(elapsed.as_secs_f64());
    if let Some(error) = error {
        counter!(STORE_ERRORS.name, "store" => store, "op" => op, "error" => error).increment(1);
    }
}

/// The outcome label of a message handed to a transport.
fn outcome(sent: bool) -> &'static str {
    if sent { "sent" } else { "failed" }
}

/// A verification code handed to the `channel` transport (`sms` or `email`).
pub fn code_sent(channel: &'static str, purpose: CodePurpose, sent: bool, elapsed: Duration) {
    histogram!(NOTIFY_DURATION.name, "channel" => channel).record(elapsed.as_secs_f64());
    counter!(
        CODES_SENT.name,
        "channel" => channel,
        "purpose" => purpose.as_str(),
        "outcome" => outcome(sent)
    )
    .increment(1);
}

/// A security notice (by its label) handed to the `channel` transport.
pub fn notice_sent(channel: &'static str, notice: &'static str, sent: bool, elapsed: Duration) {
    histogram!(NOTIFY_DURATION.name, "channel" => channel).record(elapsed.as_secs_f64());
    counter!(
        NOTICES_SENT.name,
        "channel" => channel,
        "notice" => notice,
        "outcome" => outcome(sent)
    )
    .increment(1);
}

/// A request refused by the abuse limit named `limit`.
pub fn limit_tripped(limit: &'static str) {
    counter!(LIMITS_TRIPPED.name, "limit" => limit).increment(1);
}

/// One step of the bot check: `issued`, `passed`, `waiting` or `refused` (see `BOT_CHECKS`).
pub fn bot_check(outcome: &'static str) {
    counter!(BOT_CHECKS.name, "outcome" => outcome).increment(1);
}

/// One passkey ceremony answered: `register` or `sign_in`, `ok` or the refusal's class.
pub fn passkey_ceremony(ceremony: &'static str, outcome: &'static str) {
    counter!(PASSKEY_CEREMONIES.name, "ceremony" => ceremony, "outcome" => outcome).increment(1);
}

/// What became of one back-channel logout delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    /// Failed; retried later.
    Failed,
    /// Failed for the last time.
    Abandoned,
}

pub fn backchannel_delivery(outcome: DeliveryOutcome) {
    let outcome = match outcome {
        DeliveryOutcome::Delivered => "delivered",
        DeliveryOutcome::Failed => "failed",
        DeliveryOutcome::Abandoned => "abandoned",
    };
    counter!(BACKCHANNEL_DELIVERIES.name, "outcome" => outcome).increment(1);
}

/// The sampled sizes of the shared queues: back-channel deliveries pending, sessions active.
pub fn shared_state(backchannel_pending: i64, sessions_active: i64) {
    gauge!(BACKCHANNEL_PENDING.name).set(backchannel_pending as f64);
    gauge!(SESSIONS_ACTIVE.name).set(sessions_active as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_conventions_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for instrument in ALL {
            let name = instrument.name;
            assert!(name.starts_with("oneid_"), "{name}");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
            assert!(seen.insert(name), "{name} twice");
            match instrument.kind {
                Kind::Counter => assert!(name.ends_with("_total"), "{name}"),
                Kind::Histogram => {
                    assert!(name.ends_with("_seconds"), "{name}");
                    assert!(
                        instrument.buckets.windows(2).all(|w| w[0] < w[1]),
                        "{name}: buckets must rise"
                    );
                }
                Kind::Gauge => assert!(!name.ends_with("_total"), "{name}"),
            }
        }
    }

    #[test]
    fn the_http_and_argon2_buckets_span_what_the_brief_asks() {
        assert_eq!(HTTP_BUCKETS.first(), Some(&0.0005));
        assert_eq!(HTTP_BUCKETS.last(), Some(&5.0));
        assert_eq!(ARGON2_BUCKETS.first(), Some(&0.01));
        assert_eq!(ARGON2_BUCKETS.last(), Some(&2.0));
    }

    #[test]
    fn labels_are_bounded_whatever_the_request_says() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("BREW"), "other");
        assert_eq!(status_label(429), "429");
        assert_eq!(status_label(299), "2xx");
        assert_eq!(status_label(999), "5xx");
        assert_eq!(status_label(0), "5xx");
    }

    #[test]
    fn every_metric_is_documented_for_operators() {
        let doc = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/metrics.md"),
        )
        .expect("docs/metrics.md");
        for instrument in ALL {
            assert!(
                doc.contains(&format!("`{}`", instrument.name)),
                "{} is missing from docs/metrics.md",
                instrument.name
            );
        }
    }

    #[test]
    fn the_recorder_renders_what_was_recorded() {
        let handle = recorder();
        signature(Algorithm::Es256, Duration::from_micros(40));
        limit_tripped("ip_sign_in_attempts");
        let text = handle.render();
        assert!(
            text.contains("oneid_signature_duration_seconds_count{alg=\"ES256\"}"),
            "{text}"
        );
        assert!(
            text.contains("oneid_signature_duration_seconds_bucket{alg=\"ES256\",le="),
            "{text}"
        );
        assert!(
            text.contains("# TYPE oneid_limits_tripped_total counter"),
            "{text}"
        );
        assert!(
            text.contains("oneid_limits_tripped_total{limit=\"ip_sign_in_attempts\"}"),
            "{text}"
        );
    }
}
