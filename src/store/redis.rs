//! The shared store: Redis, so several OneID instances see the same sessions, codes and counters.
//!
//! Time comes from the injected clock, not from Redis, so a test that moves a mock clock sees
//! the same expiries here as with the memory store. Each value is stored behind its logical
//! expiry (8 bytes, big-endian unix milliseconds) and reads treat a value whose expiry has passed
//! as absent. Each key also gets a real `PX` TTL equal to its ttl, so Redis reclaims memory by
//! itself. Expiry has millisecond precision.
//!
//! Nothing here may hang a request: the store connects on first use (a Redis that is down at
//! start delays nothing), every operation has a deadline, and every failure, slowness included,
//! is [`StoreError::Unavailable`] with a message that never carries the URL's password; but a
//! Redis at its `maxmemory` answers `OOM`, which is [`StoreError::Full`]: it is not down, and
//! what it needs is memory, not the network.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use async_trait::async_trait;
use redis::{
    RedisError,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use tokio::{sync::OnceCell, task::JoinHandle};

use super::{EphemeralStore, StoreError, Usage};
use crate::{
    clock::Clock,
    config::RedisSettings,
    domain::{mask, redact_url, url_passwords},
};

/// Bytes of logical expiry before every stored value.
const EXPIRY_LEN: usize = 8;

/// The longest TTL handed to Redis (100 years); anything longer means "until evicted".
const MAX_TTL_MS: u64 = 100 * 365 * 24 * 3600 * 1000;

/// Connection attempts after the first one, each after a short backoff.
const CONNECT_RETRIES: usize = 2;

/// The error code the increment script answers for a value that is not a counter.
const CORRUPT_CODE: &str = "ONEID_CORRUPT";

/// Redis's error code for a write refused at `maxmemory` under `noeviction` (the policy the
/// README asks for), from a command or from a script's `redis.call`.
const OOM_CODE: &str = "OOM";

/// A fixed-window counter, atomic across every instance. KEYS[1]: the counter; ARGV[1]: now and
/// ARGV[2]: ttl, both in milliseconds. The value is the 8-byte big-endian expiry followed by the
/// count in decimal. A missing or expired counter opens a new window with count 1; a live one
/// counts on and keeps both its expiries.
const INCREMENT_LUA: &str = r"
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local raw = redis.call('GET', KEYS[1])
if raw then
  if string.len(raw) < 8 then
    return redis.error_reply('ONEID_CORRUPT not a counter')
  end
  local expiry = 0
  for i = 1, 8 do
    expiry = expiry * 256 + string.byte(raw, i)
  end
  if expiry > now then
    local count = tonumber(string.sub(raw, 9))
    if not count then
      return redis.error_reply('ONEID_CORRUPT not a counter')
    end
    count = count + 1
    redis.call('SET', KEYS[1], string.sub(raw, 1, 8) .. string.format('%d', count), 'KEEPTTL')
    return count
  end
end
local expiry = now + ttl
local bytes = {}
for i = 8, 1, -1 do
  bytes[i] = expiry % 256
  expiry = math.floor(expiry / 256)
end
redis.call('SET', KEYS[1], string.char(unpack(bytes)) .. '1', 'PX', ttl)
return 1
";

/// Ephemeral state in Redis, every key under one prefix.
///
/// Cheap to share behind an `Arc`; one multiplexed connection serves every caller and
/// reconnects by itself after an outage (the first operation after a drop fails, later ones
/// use the new connection).
pub struct RedisStore {
    shared: Arc<Shared>,
}

struct Shared {
    client: redis::Client,
    config: ConnectionManagerConfig,
    /// Set by the first operation that reaches Redis; empty while it never has.
    manager: OnceCell<ConnectionManager>,
    /// The runtime that built the store. Every operation runs there, so the connection's
    /// background tasks live as long as the application, whichever worker or blocking thread
    /// asked; `None` when built outside a runtime (then the caller's runtime is used).
    runtime: Option<tokio::runtime::Handle>,
    clock: Arc<dyn Clock>,
    prefix: String,
    /// Time allowed to one operation, a fresh connection included.
    deadline: Duration,
    /// The URL with its password masked, for messages and logs.
    url: String,
    /// Password spellings (as typed and decoded) scrubbed from driver messages.
    secrets: Vec<String>,
    increment: redis::Script,
}

impl RedisStore {
    /// Prepares the store without connecting: this never blocks, and it fails only for a URL
    /// the Redis client cannot use.
    pub fn new(
        url: &str,
        settings: &RedisSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        let redacted = redact_url(url);
        let client = redis::Client::open(url).map_err(|_| {
            StoreError::Unavailable(format!("`{redacted}` is not a usable Redis URL"))
        })?;
        let connect_timeout = Duration::from_millis(settings.connect_timeout_ms.max(1));
        let response_timeout = Duration::from_millis(settings.response_timeout_ms.max(1));
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(Some(response_timeout))
            .set_number_of_retries(CONNECT_RETRIES)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(200));
        // As written and percent-decoded: the driver's messages may carry either.
        let secrets = url_passwords(url);
        Ok(Self {
            shared: Arc::new(Shared {
                client,
                config,
                manager: OnceCell::new(),
                runtime: tokio::runtime::Handle::try_current().ok(),
                clock,
                prefix: settings.key_prefix.clone(),
                deadline: connect_timeout + response_timeout,
                url: redacted,
                secrets,
                increment: redis::Script::new(INCREMENT_LUA),
            }),
        })
    }

    /// The URL with its password masked; safe to log.
    pub fn redacted_url(&self) -> &str {
        &self.shared.url
    }

    pub fn key_prefix(&self) -> &str {
        &self.shared.prefix
    }

    /// Time allowed to one operation before it answers [`StoreError::Unavailable`].
    pub fn deadline(&self) -> Duration {
        self.shared.deadline
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.shared.prefix)
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.shared.clock.now().timestamp_millis()).unwrap_or(0)
    }

    /// Runs one operation on a (possibly new) connection, within the deadline; timed for the
    /// metrics.
    async fn run<T, F, Fut>(&self, op: &'static str, key: &str, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Shared>, ConnectionManager) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, RedisError>> + Send + 'static,
    {
        let started = std::time::Instant::now();
        let result = self.run_unmetered(op, key, work).await;
        super::observe("redis", op_label(op), started, &result);
        result
    }

    async fn run_unmetered<T, F, Fut>(
        &self,
        op: &'static str,
        key: &str,
        work: F,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Shared>, ConnectionManager) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, RedisError>> + Send + 'static,
    {
        let shared = self.shared.clone();
        let task = async move {
            let connection = shared.connection().await?;
            work(shared, connection).await
        };
        let deadline = self.shared.deadline;
        let outcome = match &self.shared.runtime {
            Some(runtime) => {
                let joined = AbortOnDrop(runtime.spawn(task));
                tokio::time::timeout(deadline, joined).await.map(|joined| {
                    joined.unwrap_or_else(|e| {
                        Err(RedisError::from((
                            redis::ErrorKind::Client,
                            "store task ended early",
                            e.to_string(),
                        )))
                    })
                })
            }
            None => tokio::time::timeout(deadline, task).await,
        };
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) if e.code() == Some(CORRUPT_CODE) => Err(StoreError::Corrupt {
                key: key.to_owned(),
            }),
            Ok(Err(e)) if e.code() == Some(OOM_CODE) => Err(StoreError::Full(self.detail(op, &e))),
            Ok(Err(e)) => Err(self.unavailable(op, &e.to_string())),
            Err(_) => {
                Err(self.unavailable(op, &format!("no answer within {} ms", deadline.as_millis())))
            }
        }
    }

    fn unavailable(&self, op: &str, detail: &str) -> StoreError {
        StoreError::Unavailable(self.detail(op, &detail))
    }

    /// What failed, where: the operation and the redacted URL, never the password.
    fn detail(&self, op: &str, detail: &dyn std::fmt::Display) -> String {
        let detail = mask(detail.to_string(), &self.shared.secrets);
        format!("redis {op} at {}: {detail}", self.shared.url)
    }
}

impl Shared {
    /// The connection manager, created by the first caller that reaches Redis. A failed attempt
    /// leaves the cell empty, so the next operation tries again from scratch.
    async fn connection(&self) -> Result<ConnectionManager, RedisError> {
        self.manager
            .get_or_try_init(|| async {
                let manager =
                    ConnectionManager::new_with_config(self.client.clone(), self.config.clone())
                        .await?;
                tracing::info!(url = %self.url, prefix = %self.prefix, "connected to Redis");
                Ok(manager)
            })
            .await
            .cloned()
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.shared.url)
            .field("prefix", &self.shared.prefix)
            .field("deadline", &self.shared.deadline)
            .field("connected", &self.shared.manager.initialized())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl EphemeralStore for RedisStore {
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        let ttl_ms = ttl_ms(ttl);
        let sealed = seal(self.now_ms().saturating_add(ttl_ms), &value);
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)).arg(sealed).arg("PX").arg(ttl_ms);
        self.run("SET", key, move |_, mut c| async move {
            cmd.query_async::<()>(&mut c).await
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.key(key));
        let raw = self
            .run("GET", key, move |_, mut c| async move {
                cmd.query_async::<Option<Vec<u8>>>(&mut c).await
            })
            .await?;
        unseal(key, self.now_ms(), raw)
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut cmd = redis::cmd("GETDEL");
        cmd.arg(self.key(key));
        let raw = self
            .run("GETDEL", key, move |_, mut c| async move {
                cmd.query_async::<Option<Vec<u8>>>(&mut c).await
            })
            .await?;
        unseal(key, self.now_ms(), raw)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.key(key));
        self.run("DEL", key, move |_, mut c| async move {
            cmd.query_async::<()>(&mut c).await
        })
        .await
    }

    async fn increment(&self, key: &str, ttl: Duration) -> Result<i64, StoreError> {
        let (full_key, now_ms, ttl_ms) = (self.key(key), self.now_ms(), ttl_ms(ttl));
        self.run("increment", key, move |shared, mut c| async move {
            shared
                .increment
                .key(full_key)
                .arg(now_ms)
                .arg(ttl_ms)
                .invoke_async::<i64>(&mut c)
                .await
        })
        .await
    }

    fn is_remote(&self) -> bool {
        true
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.run("PING", "", |_, mut c| async move {
            redis::cmd("PING").query_async::<()>(&mut c).await
        })
        .await
    }

    /// SCAN over the prefix (glob characters in it escaped), then STRLEN of each key found. Keys
    /// whose logical expiry passed but whose real TTL has not are counted: Redis still holds them.
    async fn usage(&self) -> Result<Usage, StoreError> {
        let pattern = format!("{}*", escape_glob(&self.shared.prefix));
        let prefix_len = self.shared.prefix.len();
        self.run("SCAN", "", move |_, mut c| async move {
            let mut usage = Usage::default();
            let mut cursor = 0u64;
            loop {
                let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut c)
                    .await?;
                for key in keys {
                    let len: usize = redis::cmd("STRLEN").arg(&key).query_async(&mut c).await?;
                    usage.entries += 1;
                    usage.bytes +=
                        key.len().saturating_sub(prefix_len) + len.saturating_sub(EXPIRY_LEN);
                }
                if next == 0 {
                    return Ok::<_, RedisError>(usage);
                }
                cursor = next;
            }
        })
        .await
    }
}

/// The store operation a command serves, named as the memory store's are in the metrics.
fn op_label(command: &str) -> &'static str {
    match command {
        "SET" => "put",
        "GET" => "get",
        "GETDEL" => "take",
        "DEL" => "delete",
        "increment" => "increment",
        "PING" => "ping",
        "SCAN" => "usage",
        _ => "other",
    }
}

/// `prefix` as a literal in a Redis glob pattern.
fn escape_glob(prefix: &str) -> String {
    let mut escaped = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The TTL in whole milliseconds, at least 1 (Redis refuses `PX 0`).
fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_TTL_MS)
}

fn seal(expires_ms: u64, value: &[u8]) -> Vec<u8> {
    let mut sealed = Vec::with_capacity(EXPIRY_LEN + value.len());
    sealed.extend_from_slice(&expires_ms.to_be_bytes());
    sealed.extend_from_slice(value);
    sealed
}

/// The value if it is still live at `now_ms`.
fn unseal(key: &str, now_ms: u64, raw: Option<Vec<u8>>) -> Result<Option<Vec<u8>>, StoreError> {
    let Some(raw) = raw else { return Ok(None) };
    let Some((expiry, value)) = raw.split_first_chunk::<EXPIRY_LEN>() else {
        return Err(StoreError::Corrupt {
            key: key.to_owned(),
        });
    };
    Ok((u64::from_be_bytes(*expiry) > now_ms).then(|| value.to_vec()))
}

/// A spawned operation that is cancelled when its caller stops waiting, so a Redis that does
/// not answer leaves no pile of tasks behind.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    //! The contract runs against the Redis named by `ONEID_TEST_REDIS_URL`, each test under its
    //! own random prefix whose keys are deleted when the test ends (they also carry real TTLs).
    //! The failure tests need no Redis and always run.

    use std::time::Instant;

    use super::*;
    use crate::{
        clock::MockClock,
        store::{
            contract::{self, Harness, MINUTE},
            testing::{RedisTestKeys, TEST_REDIS_URL as URL_VAR, random_redis_prefix},
        },
    };

    /// The test Redis, or `None` (announced once) when it is not configured.
    fn test_redis_url() -> Option<String> {
        static ANNOUNCED: std::sync::Once = std::sync::Once::new();
        match std::env::var(URL_VAR) {
            Ok(url) if !url.is_empty() => Some(url),
            _ => {
                ANNOUNCED.call_once(|| {
                    // Straight to standard error, past the test harness's capture, as
                    // `db::testing::say_skipped` writes (a module of the same floor, so not
                    // named here).
                    use std::io::Write;
                    let _ = writeln!(
                        std::io::stderr(),
                        "Redis contract tests SKIPPED: {URL_VAR} is unset; run them with \
                         `{URL_VAR}=redis://127.0.0.1:6379 cargo test -p oneid --lib store`"
                    );
                });
                None
            }
        }
    }

    fn settings(prefix: &str, timeout_ms: u64) -> RedisSettings {
        RedisSettings {
            key_prefix: prefix.to_owned(),
            connect_timeout_ms: timeout_ms,
            response_timeout_ms: timeout_ms,
        }
    }

    async fn harness() -> Option<Harness> {
        let url = test_redis_url()?;
        let prefix = random_redis_prefix();
        let clock = MockClock::starting_now();
        let store = RedisStore::new(&url, &settings(&prefix, 1000), Arc::new(clock.clone()))
            .expect("test Redis URL");
        Some(Harness {
            store: Arc::new(store),
            clock,
            _guard: Box::new(RedisTestKeys::new(&url, &prefix)),
        })
    }

    contract::contract_tests!(harness);

    async fn raw_connection(url: &str) -> redis::aio::MultiplexedConnection {
        redis::Client::open(url)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn keys_carry_the_prefix_a_logical_expiry_and_a_real_ttl() {
        let Some(url) = test_redis_url() else { return };
        let prefix = random_redis_prefix();
        let _cleanup = RedisTestKeys::new(&url, &prefix);
        let clock = MockClock::starting_now();
        let store =
            RedisStore::new(&url, &settings(&prefix, 1000), Arc::new(clock.clone())).unwrap();
        store.put("k", b"value".to_vec(), MINUTE).await.unwrap();
        store.increment("n", MINUTE).await.unwrap();
        let mut raw = raw_connection(&url).await;
        let value: Vec<u8> = redis::cmd("GET")
            .arg(format!("{prefix}k"))
            .query_async(&mut raw)
            .await
            .unwrap();
        let expiry = u64::from_be_bytes(value[..8].try_into().unwrap());
        assert_eq!(&value[8..], b"value");
        assert_eq!(
            expiry,
            u64::try_from((clock.now() + chrono::TimeDelta::seconds(60)).timestamp_millis())
                .unwrap()
        );
        for key in ["k", "n"] {
            let pttl: i64 = redis::cmd("PTTL")
                .arg(format!("{prefix}{key}"))
                .query_async(&mut raw)
                .await
                .unwrap();
            assert!((1..=60_000).contains(&pttl), "{key}: {pttl}");
        }
        clock.advance(chrono::TimeDelta::seconds(30));
        store.increment("n", MINUTE).await.unwrap();
        let pttl: i64 = redis::cmd("PTTL")
            .arg(format!("{prefix}n"))
            .query_async(&mut raw)
            .await
            .unwrap();
        assert!(
            (1..=60_000).contains(&pttl),
            "a counting hit keeps the TTL: {pttl}"
        );
    }

    /// A port nothing listens on now (the OS's pick, released at once).
    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port()
    }

    /// A Redis of this test's own (`redis-server` on a free port, `--save ""`), stopped when
    /// dropped: a test that changes the server's settings cannot share the test Redis.
    struct OwnRedis {
        child: std::process::Child,
        url: String,
    }

    impl OwnRedis {
        /// `None` (announced) when `redis-server` is not installed.
        fn start() -> Option<Self> {
            let port = free_port();
            let spawned = std::process::Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(std::process::Stdio::null())
                .spawn();
            let Ok(child) = spawned else {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "store::redis::tests::a_redis_at_its_maxmemory_is_full_not_unavailable SKIPPED: \
                     it starts a `redis-server` of its own, and none is installed"
                );
                return None;
            };
            let own = Self {
                child,
                url: format!("redis://127.0.0.1:{port}"),
            };
            let client = redis::Client::open(own.url.as_str()).unwrap();
            let started = Instant::now();
            while client.get_connection().is_err() {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "redis-server did not start"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            Some(own)
        }
    }

    impl Drop for OwnRedis {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// A Redis at its `maxmemory` under `noeviction` refuses writes with `OOM`: the store says
    /// full (its metric's `error="full"`), not unavailable, for a plain write and for the
    /// counter's script alike, keeps serving reads, and takes writes again once room is made.
    #[tokio::test]
    async fn a_redis_at_its_maxmemory_is_full_not_unavailable() {
        let Some(redis) = OwnRedis::start() else {
            return;
        };
        let mut admin = redis::Client::open(redis.url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let info: String = redis::cmd("INFO")
            .arg("memory")
            .query_async(&mut admin)
            .await
            .unwrap();
        let used: u64 = info
            .lines()
            .find_map(|line| line.strip_prefix("used_memory:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap();
        // Room for a few hundred KiB above what the empty server holds.
        for (name, value) in [
            ("maxmemory", (used + 512 * 1024).to_string()),
            ("maxmemory-policy", "noeviction".to_owned()),
        ] {
            let _: () = redis::cmd("CONFIG")
                .arg("SET")
                .arg(name)
                .arg(value)
                .query_async(&mut admin)
                .await
                .unwrap();
        }
        let store = RedisStore::new(
            &redis.url,
            &settings("oneid-full:", 2000),
            Arc::new(MockClock::starting_now()),
        )
        .unwrap();

        let value = vec![7_u8; 32 * 1024];
        let mut stored = 0;
        let refused = loop {
            match store
                .put(&format!("k{stored}"), value.clone(), MINUTE)
                .await
            {
                Ok(()) => stored += 1,
                Err(e) => break e,
            }
            assert!(
                stored < 1000,
                "a Redis at its ceiling never refused a write"
            );
        };
        assert!(stored > 0, "the ceiling left no room at all");
        assert!(matches!(refused, StoreError::Full(_)), "{refused:?}");
        assert_eq!(refused.kind(), "full");
        let counted = store.increment("n", MINUTE).await.unwrap_err();
        assert!(matches!(counted, StoreError::Full(_)), "{counted:?}");
        assert_eq!(store.get("k0").await.unwrap(), Some(value.clone()));

        for i in 0..stored {
            store.delete(&format!("k{i}")).await.unwrap();
        }
        store.put("k0", value, MINUTE).await.unwrap();
        assert_eq!(store.increment("n", MINUTE).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn stores_with_different_prefixes_do_not_see_each_other() {
        let Some(url) = test_redis_url() else { return };
        let (p1, p2) = (random_redis_prefix(), random_redis_prefix());
        let _cleanup = (RedisTestKeys::new(&url, &p1), RedisTestKeys::new(&url, &p2));
        let clock = Arc::new(MockClock::starting_now());
        let one = RedisStore::new(&url, &settings(&p1, 1000), clock.clone()).unwrap();
        let two = RedisStore::new(&url, &settings(&p2, 1000), clock).unwrap();
        one.put("k", b"one".to_vec(), MINUTE).await.unwrap();
        assert_eq!(two.get("k").await.unwrap(), None);
        two.put("k", b"two".to_vec(), MINUTE).await.unwrap();
        assert_eq!(one.take("k").await.unwrap().as_deref(), Some(&b"one"[..]));
        assert_eq!(two.get("k").await.unwrap().as_deref(), Some(&b"two"[..]));
        assert_eq!(one.increment("n", MINUTE).await.unwrap(), 1);
        assert_eq!(one.increment("n", MINUTE).await.unwrap(), 2);
        assert_eq!(two.increment("n", MINUTE).await.unwrap(), 1);
        two.delete("n").await.unwrap();
        assert_eq!(one.increment("n", MINUTE).await.unwrap(), 3);
    }

    #[tokio::test]
    async fn the_cleanup_guard_deletes_every_key_under_its_prefix() {
        let Some(url) = test_redis_url() else { return };
        let prefix = random_redis_prefix();
        let guard = RedisTestKeys::new(&url, &prefix);
        let store = RedisStore::new(
            &url,
            &settings(&prefix, 1000),
            Arc::new(crate::clock::SystemClock),
        )
        .unwrap();
        for i in 0..30 {
            store.put(&format!("k{i}"), vec![1], MINUTE).await.unwrap();
        }
        assert_eq!(guard.keys().unwrap().len(), 30);
        guard.delete_all().unwrap();
        assert!(guard.keys().unwrap().is_empty());
    }

    /// Several OneID instances: separate connections, one prefix.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn take_and_increment_are_atomic_across_instances() {
        let Some(url) = test_redis_url() else { return };
        let prefix = random_redis_prefix();
        let _cleanup = RedisTestKeys::new(&url, &prefix);
        let clock = Arc::new(MockClock::starting_now());
        let instances: Vec<Arc<RedisStore>> = (0..4)
            .map(|_| {
                Arc::new(RedisStore::new(&url, &settings(&prefix, 1000), clock.clone()).unwrap())
            })
            .collect();
        instances[0]
            .put("code", b"x".to_vec(), MINUTE)
            .await
            .unwrap();
        let takers = (0..20).map(|i| {
            let store = instances[i % instances.len()].clone();
            tokio::spawn(async move { store.take("code").await.unwrap() })
        });
        let winners = futures_util::future::join_all(takers)
            .await
            .into_iter()
            .filter(|r| r.as_ref().unwrap().is_some())
            .count();
        assert_eq!(winners, 1);
        let bumps = (0..100).map(|i| {
            let store = instances[i % instances.len()].clone();
            tokio::spawn(async move { store.increment("n", MINUTE).await.unwrap() })
        });
        let mut seen: Vec<i64> = futures_util::future::join_all(bumps)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (1..=100).collect::<Vec<_>>());
    }

    type Operation<'a> = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'a>>;

    /// Every operation of `store`, each of which must fail as unavailable within `limit`.
    async fn assert_every_operation_is_unavailable(store: &RedisStore, limit: Duration) {
        let ops: Vec<(&str, Operation<'_>)> = vec![
            ("put", Box::pin(store.put("k", b"v".to_vec(), MINUTE))),
            ("get", Box::pin(async { store.get("k").await.map(drop) })),
            ("take", Box::pin(async { store.take("k").await.map(drop) })),
            ("delete", Box::pin(store.delete("k"))),
            (
                "increment",
                Box::pin(async { store.increment("n", MINUTE).await.map(drop) }),
            ),
            ("ping", Box::pin(store.ping())),
        ];
        for (name, op) in ops {
            let started = Instant::now();
            let outcome = op.await;
            let took = started.elapsed();
            match outcome {
                Err(StoreError::Unavailable(message)) => {
                    assert!(!message.contains("hunter2"), "{name}: {message}");
                    assert!(message.contains("***"), "{name}: {message}");
                }
                other => panic!("{name}: expected Unavailable, got {other:?}"),
            }
            assert!(took <= limit, "{name} took {took:?}, limit {limit:?}");
        }
    }

    #[tokio::test]
    async fn a_closed_port_answers_unavailable_quickly_without_the_password() {
        let store = RedisStore::new(
            "redis://:hunter2@127.0.0.1:1",
            &settings("oneid-test:", 200),
            Arc::new(MockClock::starting_now()),
        )
        .unwrap();
        assert_eq!(store.deadline(), Duration::from_millis(400));
        assert_every_operation_is_unavailable(&store, 2 * store.deadline()).await;
        let debug = format!("{store:?}");
        assert!(
            !debug.contains("hunter2") && debug.contains("***"),
            "{debug}"
        );
        assert!(!store.redacted_url().contains("hunter2"));
    }

    /// A server that accepts connections and never answers: only the deadlines end the wait.
    #[tokio::test]
    async fn a_silent_server_answers_unavailable_within_the_deadline() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let store = RedisStore::new(
            &format!("redis://:hunter2@127.0.0.1:{port}"),
            &settings("oneid-test:", 200),
            Arc::new(MockClock::starting_now()),
        )
        .unwrap();
        assert_every_operation_is_unavailable(&store, 2 * store.deadline()).await;
        silent.abort();
    }

    #[test]
    fn construction_neither_connects_nor_blocks_even_outside_a_runtime() {
        for url in [
            "redis://127.0.0.1:1",
            // TEST-NET-1 (RFC 5737): never routed, so a connection attempt would hang.
            "redis://192.0.2.1:6379",
            "redis://no-such-host.invalid:6379",
        ] {
            let started = Instant::now();
            let store = RedisStore::new(
                url,
                &settings("oneid-test:", 5_000),
                Arc::new(MockClock::starting_now()),
            )
            .unwrap();
            assert!(started.elapsed() < Duration::from_millis(100), "{url}");
            assert!(format!("{store:?}").contains("connected: false"));
        }
        assert!(
            RedisStore::new(
                "rediss://cache:6379",
                &settings("oneid-test:", 100),
                Arc::new(MockClock::starting_now())
            )
            .is_err()
        );
    }

    /// A TCP forwarder to the test Redis that can be stopped and started on the same port, to
    /// play an outage.
    struct Forwarder {
        accept: tokio::task::JoinHandle<()>,
    }

    impl Forwarder {
        async fn start(port: u16, upstream: String) -> Self {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap();
            let accept = tokio::spawn(async move {
                // Dropped with this task: aborts every forwarded connection.
                let mut connections = tokio::task::JoinSet::new();
                while let Ok((mut inbound, _)) = listener.accept().await {
                    let upstream = upstream.clone();
                    connections.spawn(async move {
                        if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                }
            });
            Self { accept }
        }

        async fn stop(self) {
            self.accept.abort();
            let _ = self.accept.await;
        }
    }

    /// Polls `ping` until it gives `want_ok`, for at most three seconds.
    async fn until_ping_is(store: &RedisStore, want_ok: bool) {
        let started = Instant::now();
        loop {
            if store.ping().await.is_ok() == want_ok {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "ping never became {}",
                if want_ok { "ok" } else { "unavailable" }
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Redis down at start, then up, then down, then up again: one store lives through it all.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_store_recovers_when_redis_comes_back() {
        let Some(url) = test_redis_url() else { return };
        let real = url::Url::parse(&url).unwrap();
        let upstream = format!(
            "{}:{}",
            real.host_str().unwrap(),
            real.port().unwrap_or(6379)
        );
        let port = free_port();
        let mut through_forwarder = real.clone();
        through_forwarder.set_host(Some("127.0.0.1")).unwrap();
        through_forwarder.set_port(Some(port)).unwrap();
        let prefix = random_redis_prefix();
        let _cleanup = RedisTestKeys::new(&url, &prefix);
        let store = RedisStore::new(
            through_forwarder.as_str(),
            &settings(&prefix, 300),
            Arc::new(MockClock::starting_now()),
        )
        .unwrap();

        assert!(matches!(
            store.ping().await,
            Err(StoreError::Unavailable(_))
        ));
        let forwarder = Forwarder::start(port, upstream.clone()).await;
        until_ping_is(&store, true).await;
        store.put("k", b"kept".to_vec(), MINUTE).await.unwrap();

        forwarder.stop().await;
        until_ping_is(&store, false).await;
        let forwarder = Forwarder::start(port, upstream).await;
        until_ping_is(&store, true).await;
        assert_eq!(store.get("k").await.unwrap().as_deref(), Some(&b"kept"[..]));
        forwarder.stop().await;
    }

    #[test]
    fn values_are_sealed_behind_their_expiry() {
        let sealed = seal(1_000, b"abc");
        assert_eq!(sealed.len(), EXPIRY_LEN + 3);
        assert_eq!(
            unseal("k", 999, Some(sealed.clone())).unwrap().as_deref(),
            Some(&b"abc"[..])
        );
        assert_eq!(unseal("k", 1_000, Some(sealed)).unwrap(), None);
        assert!(matches!(
            unseal("k", 0, Some(vec![1, 2, 3])),
            Err(StoreError::Corrupt { .. })
        ));
        assert_eq!(ttl_ms(Duration::ZERO), 1);
        assert_eq!(ttl_ms(Duration::MAX), MAX_TTL_MS);
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("redis://user:hunter2@cache:6379/1"),
            "redis://user:***@cache:6379/1"
        );
        assert_eq!(redact_url("redis://cache:6379"), "redis://cache:6379");
        assert!(!redact_url("redis//:hunter2@cache").contains("hunter2"));
    }
}
