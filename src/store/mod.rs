//! Short-lived state with a time to live: browser sessions, pending verification codes,
//! attempt counters. One small contract, two implementations: in this process's memory, or in
//! a Redis shared by every instance. Both take time from the injected clock.

#[cfg(test)]
mod contract;
mod memory;
mod redis;
pub mod testing;

use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Serialize, de::DeserializeOwned};

pub use memory::MemoryStore;
pub use redis::RedisStore;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("ephemeral store unavailable: {0}")]
    Unavailable(String),
    #[error("ephemeral store holds an unreadable value under {key}")]
    Corrupt { key: String },
    /// The store has no room for the write, which is refused and leaves nothing behind: the
    /// in-process store's budget (`memory_store.max_mib`) is spent on entries that have not
    /// expired, or Redis is at its `maxmemory` (its `OOM` error, under `noeviction`).
    #[error("ephemeral store full: {0}")]
    Full(String),
}

impl StoreError {
    /// A bounded name for the metrics' `error` label.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "unavailable",
            Self::Corrupt { .. } => "corrupt",
            Self::Full(_) => "full",
        }
    }
}

/// Records one operation of `store` (`memory` or `redis`) for the metrics.
fn observe<T>(
    store: &'static str,
    op: &'static str,
    started: Instant,
    result: &Result<T, StoreError>,
) {
    let error = result.as_ref().err().map(StoreError::kind);
    crate::telemetry::store_op(store, op, started.elapsed(), error);
}

/// The TTL contract. Every operation on one key is atomic with respect to every other.
#[async_trait]
pub trait EphemeralStore: Send + Sync + 'static {
    /// Stores `value` under `key`, replacing what was there; it disappears after `ttl`.
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError>;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Gets and deletes in one step: of several concurrent takers, exactly one gets the value.
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    async fn delete(&self, key: &str) -> Result<(), StoreError>;

    /// Adds one and returns the new count. A missing key starts at 0 and gets `ttl`; an existing
    /// counter keeps its expiry, so a counter is a fixed window that opened at its first hit.
    async fn increment(&self, key: &str, ttl: Duration) -> Result<i64, StoreError>;

    /// Whether every operation is a round trip to another process (Redis), rather than a
    /// lookup in this one's memory: a caller that reads one hot key on every request (the
    /// protocol core's epoch of its warm copies) shares reads only where this is true.
    fn is_remote(&self) -> bool {
        false
    }

    /// Checks that the store answers; for readiness probes. In-process stores always do.
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// What the store holds for this deployment: entries, and the bytes of their keys and
    /// values (without the store's own overhead). For tests and metrics only: on Redis it walks
    /// every key under the prefix.
    async fn usage(&self) -> Result<Usage, StoreError>;
}

/// See [`EphemeralStore::usage`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub entries: usize,
    /// Keys (without the deployment's prefix) plus values.
    pub bytes: usize,
}

impl dyn EphemeralStore {
    pub async fn put_json<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value).map_err(|_| StoreError::Corrupt {
            key: key.to_owned(),
        })?;
        self.put(key, bytes, ttl).await
    }

    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        decode(key, self.get(key).await?)
    }

    pub async fn take_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        decode(key, self.take(key).await?)
    }
}

fn decode<T: DeserializeOwned>(key: &str, bytes: Option<Vec<u8>>) -> Result<Option<T>, StoreError> {
    bytes
        .map(|b| {
            serde_json::from_slice(&b).map_err(|_| StoreError::Corrupt {
                key: key.to_owned(),
            })
        })
        .transpose()
}

/// Converts a positive chrono duration to a TTL; past instants give the shortest TTL.
pub fn ttl_until(
    now: chrono::DateTime<chrono::Utc>,
    until: chrono::DateTime<chrono::Utc>,
) -> Duration {
    (until - now)
        .to_std()
        .unwrap_or(Duration::from_millis(1))
        .max(Duration::from_millis(1))
}
