//! The in-process store for the embedded default: one machine, one process.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{EphemeralStore, StoreError, Usage};
use crate::{clock::Clock, config::MemoryStoreSettings};

struct Entry {
    value: Vec<u8>,
    expires_at: DateTime<Utc>,
}

/// What one entry counts against the budget besides its key and its value's allocation: the
/// map's slot (the key's `String` and the entry, 64 bytes, in a table that is 7/16 to 7/8 full,
/// so up to 146 bytes) and glibc's header on the key's and the value's heap blocks (16 bytes
/// each). Rounded up, so that the budget bounds what the process really holds.
const ENTRY_OVERHEAD: usize = 176;

/// The value's capacity, not its length: `serde_json::to_vec` leaves spare room in the vector,
/// and the allocation is what the process holds. A stored value's capacity never changes, so
/// adding and removing an entry count the same.
fn cost(key: &str, value: &Vec<u8>) -> usize {
    key.len() + value.capacity() + ENTRY_OVERHEAD
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// The [`cost`] of every entry held, live or not yet swept; kept exact by every change.
    bytes: usize,
    writes_since_sweep: usize,
    last_sweep: Option<DateTime<Utc>>,
}

impl Inner {
    fn sweep(&mut self, now: DateTime<Utc>) {
        let mut freed = 0;
        self.entries.retain(|key, e| {
            let live = e.expires_at > now;
            if !live {
                freed += cost(key, &e.value);
            }
            live
        });
        self.bytes -= freed;
        self.writes_since_sweep = 0;
        self.last_sweep = Some(now);
    }

    fn remove(&mut self, key: &str) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        self.bytes -= cost(key, &entry.value);
        Some(entry)
    }

    /// Puts `entry` under `key` if the budget allows what it adds (a replacement that is no
    /// larger always fits). When it does not, expired entries are swept first, at most once per
    /// [`MemoryStore::FULL_SWEEP_INTERVAL`]: a stranger who keeps a full store busy must not
    /// make every refused write walk the whole map.
    fn insert(
        &mut self,
        now: DateTime<Utc>,
        budget: usize,
        key: &str,
        entry: Entry,
    ) -> Result<(), StoreError> {
        let added = cost(key, &entry.value);
        // Below the budget even if nothing is replaced (the usual case), it fits without
        // looking up what the key holds.
        let fits = |inner: &Self| {
            inner.bytes.saturating_add(added) <= budget || {
                let replaced = inner
                    .entries
                    .get(key)
                    .map_or(0, |old| cost(key, &old.value));
                added <= replaced || inner.bytes - replaced + added <= budget
            }
        };
        if !fits(self) {
            let swept_lately = self
                .last_sweep
                .is_some_and(|last| now - last < MemoryStore::FULL_SWEEP_INTERVAL);
            if !swept_lately {
                self.sweep(now);
            }
            if !fits(self) {
                return Err(StoreError::Full(format!(
                    "{} MiB of live entries in process (memory_store.max_mib)",
                    budget >> 20
                )));
            }
        }
        if let Some(old) = self.entries.insert(key.to_owned(), entry) {
            self.bytes -= cost(key, &old.value);
        }
        self.bytes += added;
        Ok(())
    }
}

/// A map behind one mutex. Expiry follows the injected clock, so tests can move time.
///
/// Expired entries are dropped when taken, and swept from the whole map every
/// [`MemoryStore::SWEEP_EVERY`] writes or [`MemoryStore::SWEEP_INTERVAL`], whichever comes first.
///
/// What the entries hold (keys, the values' allocations and [`ENTRY_OVERHEAD`] each, see
/// [`cost`]) never exceeds the budget
/// (`memory_store.max_mib`): a write that would is refused with [`StoreError::Full`], which every
/// face answers with 503 and `Retry-After`, and nothing of it is kept. Per-address limits bound
/// what one stranger may park; the budget bounds all of them together, so requests from many
/// addresses cannot take the process's memory. Refusing rather than evicting is deliberate:
/// evicting would let a flood push out the counters that hold back password and code guessing,
/// and the sessions of people signed in.
pub struct MemoryStore {
    inner: Mutex<Inner>,
    clock: Arc<dyn Clock>,
    budget: usize,
}

impl MemoryStore {
    const SWEEP_EVERY: usize = 1024;
    const SWEEP_INTERVAL: chrono::TimeDelta = chrono::TimeDelta::seconds(30);
    const FULL_SWEEP_INTERVAL: chrono::TimeDelta = chrono::TimeDelta::seconds(1);

    /// A store with the default budget (`memory_store.max_mib`'s default).
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self::with_budget(clock, MemoryStoreSettings::default().max_bytes())
    }

    /// A store whose entries may hold at most `budget` bytes (see [`cost`]).
    pub fn with_budget(clock: Arc<dyn Clock>, budget: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            clock,
            budget,
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

    /// What the entries held count against the budget, live or not yet swept; for tests.
    #[cfg(test)]
    fn held_bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map half-updated (each operation is
        // one HashMap call and its count), so a poisoned lock is safe to keep using.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs one write under the lock, then the periodic sweep if it is due.
    fn write<T>(
        &self,
        now: DateTime<Utc>,
        f: impl FnOnce(&mut Inner) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut inner = self.lock();
        let result = f(&mut inner);
        inner.writes_since_sweep += 1;
        let due = inner
            .last_sweep
            .is_none_or(|last| now - last >= Self::SWEEP_INTERVAL);
        if inner.writes_since_sweep >= Self::SWEEP_EVERY || due {
            inner.sweep(now);
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
            let entry = Entry {
                value,
                expires_at: expiry(now, ttl),
            };
            self.write(now, |inner| inner.insert(now, self.budget, key, entry))
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
                .remove(key)
                .filter(|e| e.expires_at > now)
                .map(|e| e.value))
        })
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        timed("delete", || {
            self.lock().remove(key);
            Ok(())
        })
    }

    async fn increment(&self, key: &str, ttl: Duration) -> Result<i64, StoreError> {
        timed("increment", || {
            let now = self.clock.now();
            self.write(now, |inner| {
                let live = inner.entries.get(key).filter(|e| e.expires_at > now);
                let (current, expires_at) = match live {
                    Some(entry) => (
                        std::str::from_utf8(&entry.value)
                            .ok()
                            .and_then(|s| s.parse::<i64>().ok())
                            .ok_or_else(|| StoreError::Corrupt {
                                key: key.to_owned(),
                            })?,
                        entry.expires_at,
                    ),
                    None => (0, expiry(now, ttl)),
                };
                let next = current.saturating_add(1);
                let entry = Entry {
                    value: next.to_string().into_bytes(),
                    expires_at,
                };
                inner.insert(now, self.budget, key, entry)?;
                Ok(next)
            })
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

    /// What the entries held cost, counted afresh from the map.
    fn counted(store: &MemoryStore) -> usize {
        let inner = store.lock();
        inner.entries.iter().map(|(k, e)| cost(k, &e.value)).sum()
    }

    fn budgeted(entries: usize) -> (MockClock, MemoryStore) {
        let clock = MockClock::starting_now();
        let budget = entries * cost("k00", &vec![0; 1000]);
        let store = MemoryStore::with_budget(Arc::new(clock.clone()), budget);
        (clock, store)
    }

    /// A store with room for `entries` values of 1,000 bytes, holding them under `k00`, `k01`…
    /// for a minute.
    async fn full(entries: usize) -> (MockClock, MemoryStore) {
        let (clock, store) = budgeted(entries);
        for i in 0..entries {
            store
                .put(&format!("k{i:02}"), vec![1; 1000], MINUTE)
                .await
                .unwrap();
        }
        assert_eq!(store.held_bytes(), store.budget);
        (clock, store)
    }

    #[tokio::test]
    async fn a_full_store_refuses_new_entries_keeps_nothing_of_them_and_serves_what_it_holds() {
        let (_, store) = full(10).await;
        let before = store.usage().await.unwrap();

        let refused = store.put("k10", vec![1; 1000], MINUTE).await.unwrap_err();
        assert!(matches!(refused, StoreError::Full(_)), "{refused:?}");
        assert_eq!(refused.kind(), "full");
        let counter = store.increment("count", MINUTE).await.unwrap_err();
        assert!(matches!(counter, StoreError::Full(_)), "{counter:?}");
        // A larger value under a held key is refused too, and the old one stays.
        let grown = store.put("k00", vec![2; 1001], MINUTE).await.unwrap_err();
        assert!(matches!(grown, StoreError::Full(_)), "{grown:?}");
        assert_eq!(store.get("k00").await.unwrap(), Some(vec![1; 1000]));
        assert_eq!(store.get("k10").await.unwrap(), None);
        assert_eq!(store.get("count").await.unwrap(), None);
        assert_eq!(
            store.usage().await.unwrap(),
            before,
            "nothing refused was kept"
        );

        // What it holds is read, replaced in place and taken as ever.
        store.put("k01", vec![3; 900], MINUTE).await.unwrap();
        assert_eq!(store.get("k01").await.unwrap(), Some(vec![3; 900]));
        assert_eq!(store.take("k02").await.unwrap(), Some(vec![1; 1000]));
        store.delete("k03").await.unwrap();
        // What was freed is room again.
        store.put("k10", vec![1; 1000], MINUTE).await.unwrap();
        assert!(store.increment("count", MINUTE).await.is_ok());
        assert!(store.held_bytes() <= store.budget);
        assert_eq!(store.held_bytes(), counted(&store));
    }

    #[tokio::test]
    async fn a_full_store_takes_writes_again_once_its_entries_expire() {
        let (clock, store) = full(4).await;
        assert!(store.put("k04", vec![0; 1000], MINUTE).await.is_err());
        clock.advance(chrono::Duration::seconds(61));
        // The refused write sweeps what expired before it gives up.
        store.put("k04", vec![0; 1000], MINUTE).await.unwrap();
        assert_eq!(store.held(), 1);
        assert_eq!(store.held_bytes(), counted(&store));
    }

    #[tokio::test]
    async fn the_budget_counts_every_change_exactly() {
        let (clock, store) = budgeted(100);
        for i in 0..50 {
            let key = format!("k{}", i % 17);
            match i % 5 {
                0 => store.put(&key, vec![0; i * 7], MINUTE).await.unwrap(),
                1 => {
                    store
                        .increment(&format!("c{}", i % 3), MINUTE)
                        .await
                        .unwrap();
                }
                2 => {
                    store.take(&key).await.unwrap();
                }
                3 => store.delete(&key).await.unwrap(),
                _ => store.put(&key, vec![1; 3], MINUTE * 2).await.unwrap(),
            }
            assert_eq!(store.held_bytes(), counted(&store), "after step {i}");
        }
        // A value counts with its spare room: that is what it holds of the heap.
        let before = store.held_bytes();
        let mut roomy = Vec::with_capacity(4096);
        roomy.extend_from_slice(b"ten bytes!");
        store.put("roomy", roomy, MINUTE).await.unwrap();
        assert_eq!(
            store.held_bytes() - before,
            "roomy".len() + 4096 + ENTRY_OVERHEAD
        );
        store.delete("roomy").await.unwrap();
        assert_eq!(store.held_bytes(), before);

        clock.advance(chrono::Duration::seconds(90));
        for i in 0..MemoryStore::SWEEP_EVERY {
            store.put("again", vec![0; i % 9], MINUTE).await.unwrap();
        }
        assert_eq!(store.held_bytes(), counted(&store), "after the sweep");
        assert!(store.held() < 17, "the one-minute entries were swept");
    }
}
