//! The in-process store for the embedded default: one machine, one process.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{EphemeralStore, StoreError, Usage};
use crate::clock::Clock;

struct Entry {
    value: Vec<u8>,
    expires_at: DateTime<Utc>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    writes_since_sweep: usize,
    last_sweep: Option<DateTime<Utc>>,
}

/// A map behind one mutex. Expiry follows the injected clock, so tests can move time.
///
/// Expired entries are dropped when read, and swept from the whole map every
/// [`MemoryStore::SWEEP_EVERY`] writes or [`MemoryStore::SWEEP_INTERVAL`], whichever comes first:
/// memory stays bounded by what is live, at an amortised O(1) per write.
pub struct MemoryStore {
    inner: Mutex<Inner>,
    clock: Arc<dyn Clock>,
}

impl MemoryStore {
    const SWEEP_EVERY: usize = 1024;
    const SWEEP_INTERVAL: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            clock,
        }
    }

    /// Live entries; for tests and metrics.
    pub fn len(&self) -> usize {
        let now = self.clock.now();
        self.lock()
            .entries
            .values()
            .filter(|e| e.expires_at > now)
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries held, live or not yet swept.
    pub fn held(&self) -> usize {
        self.lock().entries.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map half-updated (each operation is
        // one HashMap call), so a poisoned lock is safe to keep using.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self, now: DateTime<Utc>, f: impl FnOnce(&mut HashMap<String, Entry>) -> i64) -> i64 {
        let mut inner = self.lock();
        let result = f(&mut inner.entries);
        inner.writes_since_sweep += 1;
        let due = inner
            .last_sweep
            .is_none_or(|last| now - last >= Self::SWEEP_INTERVAL);
        if inner.writes_since_sweep >= Self::SWEEP_EVERY || due {
            inner.entries.retain(|_, e| e.expires_at > now);
            inner.writes_since_sweep = 0;
            inner.last_sweep = Some(now);
        }
        result
    }
}

/// Runs one operation, timed for the metrics: the wait for the lock is included, which is what
/// grows when many workers share the map.
fn timed<T>(
    op: &'static str,
    work: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let started = Instant::now();
    let result = work();
    super::observe("memory", op, started, &result);
    result
}

fn expiry(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(ttl).unwrap_or(chrono::TimeDelta::MAX)
}

#[async_trait]
impl EphemeralStore for MemoryStore {
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        timed("put", || {
            let now = self.clock.now();
            self.write(now, |map| {
                map.insert(
                    key.to_owned(),
                    Entry {
                        value,
                        expires_at: expiry(now, ttl),
                    },
                );
                0
            });
            Ok(())
        })
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        timed("get", || {
            let now = self.clock.now();
            let inner = self.lock();
            Ok(inner
                .entries
                .get(key)
                .filter(|e| e.expires_at > now)
                .map(|e| e.value.clone()))
        })
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        timed("take", || {
            let now = self.clock.now();
            let mut inner = self.lock();
            Ok(inner
                .entries
                .remove(key)
                .filter(|e| e.expires_at > now)
                .map(|e| e.value))
        })
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        timed("delete", || {
            self.lock().entries.remove(key);
            Ok(())
        })
    }

    async fn increment(&self, key: &str, ttl: Duration) -> Result<i64, StoreError> {
        timed("increment", || {
            let now = self.clock.now();
            let mut corrupt = false;
            let count = self.write(now, |map| {
                let live = map.get(key).filter(|e| e.expires_at > now);
                let (current, expires_at) = match live {
                    Some(entry) => match std::str::from_utf8(&entry.value)
                        .ok()
                        .and_then(|s| s.parse::<i64>().ok())
                    {
                        Some(n) => (n, entry.expires_at),
                        None => {
                            corrupt = true;
                            return 0;
                        }
                    },
                    None => (0, expiry(now, ttl)),
                };
                let next = current.saturating_add(1);
                map.insert(
                    key.to_owned(),
                    Entry {
                        value: next.to_string().into_bytes(),
                        expires_at,
                    },
                );
                next
            });
            if corrupt {
                Err(StoreError::Corrupt {
                    key: key.to_owned(),
                })
            } else {
                Ok(count)
            }
        })
    }

    async fn usage(&self) -> Result<Usage, StoreError> {
        timed("usage", || {
            let now = self.clock.now();
            let inner = self.lock();
            Ok(inner
                .entries
                .iter()
                .filter(|(_, e)| e.expires_at > now)
                .fold(Usage::default(), |u, (key, e)| Usage {
                    entries: u.entries + 1,
                    bytes: u.bytes + key.len() + e.value.len(),
                }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        clock::MockClock,
        store::contract::{self, Harness, MINUTE},
    };

    fn store() -> (MockClock, Arc<MemoryStore>) {
        let clock = MockClock::starting_now();
        (clock.clone(), Arc::new(MemoryStore::new(Arc::new(clock))))
    }

    async fn harness() -> Option<Harness> {
        let (clock, store) = store();
        Some(Harness {
            store,
            clock,
            _guard: Box::new(()),
        })
    }

    contract::contract_tests!(harness);

    #[tokio::test]
    async fn expired_entries_are_swept_so_memory_stays_bounded() {
        let (clock, store) = store();
        for i in 0..5_000 {
            store
                .put(&format!("k{i}"), vec![0; 16], MINUTE)
                .await
                .unwrap();
        }
        clock.advance(chrono::Duration::minutes(2));
        for i in 0..MemoryStore::SWEEP_EVERY {
            store
                .put(&format!("fresh{i}"), vec![0; 16], MINUTE)
                .await
                .unwrap();
        }
        assert!(
            store.held() <= MemoryStore::SWEEP_EVERY,
            "held {}",
            store.held()
        );
        assert_eq!(store.len(), MemoryStore::SWEEP_EVERY);
    }
}
