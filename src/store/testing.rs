//! Test support for the Redis store, shared by its unit tests, the limit tests and the
//! integration suite: each test works under a random key prefix of its own
//! ([`random_redis_prefix`]), whose keys a [`RedisTestKeys`] guard deletes when the test ends.
//!
//! The Redis tests run when `ONEID_TEST_REDIS_URL` names a Redis they may write to, for example
//! `redis://127.0.0.1:6379`; unset, they are skipped, saying so.

use std::time::Duration;

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
