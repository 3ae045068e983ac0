//! Test support for the Redis store, shared by its unit tests, the limit tests and the
//! integration suite: each test works under a random key prefix of its own
//! ([`random_redis_prefix`]), whose keys a [`RedisTestKeys`] guard deletes when the test ends.
//!
//! `ProbedStore` (the crate's unit tests only) is the memory store under a probe, for the tests
//! that count or hold the store's reads.
//!
//! The Redis tests run when `ONEID_TEST_REDIS_URL` names a Redis they may write to, for example
//! `redis://127.0.0.1:6379`; unset, they are skipped, saying so.

use std::time::Duration;

#[cfg(test)]
pub use probe::ProbedStore;

/// The environment variable naming the Redis tests may use.
pub const TEST_REDIS_URL: &str = "ONEID_TEST_REDIS_URL";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A key prefix of one test's own in the shared test Redis: `oneid-test-`, 16 random hex digits
/// and a colon (no glob characters, so it matches itself in `SCAN MATCH`).
pub fn random_redis_prefix() -> String {
    format!("oneid-test-{:016x}:", rand::random::<u64>())
}

/// The keys one test wrote under its prefix in the test Redis, deleted when the guard is
/// dropped, whether the test passed or failed (the keys carry real TTLs too, so a killed run
/// leaves nothing for long).
///
/// The keys are found with `SCAN MATCH`, a page at a time, not with `KEYS`: the test Redis is
/// shared by every test running in parallel, and `KEYS` blocks it while it walks the whole
/// keyspace.
pub struct RedisTestKeys {
    client: ::redis::Client,
    prefix: String,
}

impl RedisTestKeys {
    /// A guard for the keys under `prefix` in the Redis `url` names.
    ///
    /// # Panics
    ///
    /// When `url` is not a Redis URL, or `prefix` holds a glob character (it would match other
    /// tests' keys).
    pub fn new(url: &str, prefix: &str) -> Self {
        assert!(
            !prefix.contains(['*', '?', '[', ']', '\\']),
            "a test key prefix is matched literally: {prefix}"
        );
        Self {
            client: ::redis::Client::open(url).expect("test Redis URL"),
            prefix: prefix.to_owned(),
        }
    }

    /// The prefix this guard cleans up after.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Every key under the prefix now.
    pub fn keys(&self) -> ::redis::RedisResult<Vec<Vec<u8>>> {
        let mut conn = self.connection()?;
        let (mut cursor, mut found) = (0_u64, Vec::new());
        loop {
            let (next, keys): (u64, Vec<Vec<u8>>) = ::redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{}*", self.prefix))
                .arg("COUNT")
                .arg(1000)
                .query(&mut conn)?;
            found.extend(keys);
            if next == 0 {
                return Ok(found);
            }
            cursor = next;
        }
    }

    /// Deletes every key under the prefix.
    pub fn delete_all(&self) -> ::redis::RedisResult<()> {
        let keys = self.keys()?;
        if !keys.is_empty() {
            ::redis::cmd("DEL")
                .arg(keys)
                .query::<()>(&mut self.connection()?)?;
        }
        Ok(())
    }

    fn connection(&self) -> ::redis::RedisResult<::redis::Connection> {
        self.client.get_connection_with_timeout(CONNECT_TIMEOUT)
    }
}

impl Drop for RedisTestKeys {
    fn drop(&mut self) {
        if let Err(e) = self.delete_all() {
            // Never panic in Drop (it may run while a failed test unwinds); say what is left.
            eprintln!("could not delete test keys under {}: {e}", self.prefix);
        }
    }
}

/// Compiled for the crate's unit tests only: the shipped binary carries no test double.
#[cfg(test)]
mod probe {
    use std::{
        sync::{
            Arc,
            atomic::{AtomicBool, AtomicUsize, Ordering},
        },
        time::Duration,
    };

    use async_trait::async_trait;
    use tokio::sync::watch;

    use crate::{
        clock::Clock,
        store::{EphemeralStore, MemoryStore, StoreError, Usage},
    };

    /// The memory store under a probe: every read counted; as a store in another process
    /// ([`ProbedStore::remote`]), each answered read is also held at a gate (its reply on the way
    /// back) until the test opens it, and the next read can be made to fail inside the store.
    pub struct ProbedStore {
        inner: MemoryStore,
        remote: bool,
        reads: AtomicUsize,
        gate: watch::Sender<bool>,
        fail_next_read: AtomicBool,
    }

    impl ProbedStore {
        /// In this process, as the embedded pair's store: reads are counted, never held.
        pub fn local(clock: Arc<dyn Clock>) -> Arc<Self> {
            Self::new(clock, false)
        }

        /// In another process, as Redis is: reads wait at the gate until [`ProbedStore::open`].
        pub fn remote() -> Arc<Self> {
            Self::new(Arc::new(crate::clock::SystemClock), true)
        }

        fn new(clock: Arc<dyn Clock>, remote: bool) -> Arc<Self> {
            Arc::new(Self {
                inner: MemoryStore::new(clock),
                remote,
                reads: AtomicUsize::new(0),
                gate: watch::Sender::new(!remote),
                fail_next_read: AtomicBool::new(false),
            })
        }

        /// The store underneath, to read or write without the probe.
        pub fn inner(&self) -> &MemoryStore {
            &self.inner
        }

        /// How many reads (`get`) were answered so far.
        pub fn reads(&self) -> usize {
            self.reads.load(Ordering::SeqCst)
        }

        /// Returns once `n` reads were answered (they may still be held at the gate).
        pub async fn until_reads(&self, n: usize) {
            while self.reads() < n {
                tokio::task::yield_now().await;
            }
        }

        /// Lets every held read, and every later one, through.
        pub fn open(&self) {
            self.gate.send_replace(true);
        }

        /// The next read panics after passing the gate: a bug in the task that runs the store.
        pub fn fail_next_read(&self) {
            self.fail_next_read.store(true, Ordering::SeqCst);
        }
    }

    #[async_trait]
    impl EphemeralStore for ProbedStore {
        async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
            self.inner.put(key, value, ttl).await
        }
        async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            let value = self.inner.get(key).await;
            self.reads.fetch_add(1, Ordering::SeqCst);
            let _ = self.gate.subscribe().wait_for(|open| *open).await;
            if self.fail_next_read.swap(false, Ordering::SeqCst) {
                panic!("the store's task failed");
            }
            value
        }
        async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            self.inner.take(key).await
        }
        async fn delete(&self, key: &str) -> Result<(), StoreError> {
            self.inner.delete(key).await
        }
        async fn increment(&self, key: &str, ttl: Duration) -> Result<i64, StoreError> {
            self.inner.increment(key, ttl).await
        }
        fn is_remote(&self) -> bool {
            self.remote
        }
        async fn usage(&self) -> Result<Usage, StoreError> {
            self.inner.usage().await
        }
    }
}
