//! The TTL contract as checks that every store must pass: the memory store always, the Redis
//! store when `ONEID_TEST_REDIS_URL` is set. Each check takes a fresh, empty store and the mock
//! clock it reads; [`contract_tests!`] turns the list into one `#[tokio::test]` per check.

use std::{sync::Arc, time::Duration};

use super::{EphemeralStore, StoreError};
use crate::clock::MockClock;

pub(super) const MINUTE: Duration = Duration::from_secs(60);

/// A store under test, its clock, and whatever must live as long as the test (the Redis
/// harness keeps a guard that deletes the test's keys when dropped).
pub(super) struct Harness {
    pub store: Arc<dyn EphemeralStore>,
    pub clock: MockClock,
    pub _guard: Box<dyn Send>,
}

/// Defines one test per contract check, each on a store made by `$harness`, an async fn
/// returning `Option<Harness>` (`None`: skip, the backend is not configured).
macro_rules! contract_tests {
    ($harness:path) => {
        $crate::store::contract::contract_tests!(@each $harness;
            values_expire_after_their_ttl,
            put_replaces_the_value_and_its_ttl,
            delete_removes_and_missing_keys_are_absent,
            values_keep_every_byte,
            take_removes_the_value_and_respects_expiry,
            take_hands_the_value_to_exactly_one_caller,
            counters_are_atomic_and_keep_their_first_expiry,
            counters_are_independent_per_key,
            incrementing_a_value_that_is_not_a_counter_is_corrupt,
            millisecond_ttls_are_honoured,
            typed_helpers_round_trip_json,
            ping_answers,
        );
    };
    (@each $harness:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                let Some(harness) = $harness().await else { return };
                $crate::store::contract::$check(harness.store.clone(), harness.clock.clone()).await;
            }
        )*
    };
}
pub(super) use contract_tests;

fn secs(n: i64) -> chrono::TimeDelta {
    chrono::TimeDelta::seconds(n)
}

pub(super) async fn values_expire_after_their_ttl(
    store: Arc<dyn EphemeralStore>,
    clock: MockClock,
) {
    store.put("k", b"v".to_vec(), MINUTE).await.unwrap();
    clock.advance(secs(59));
    assert_eq!(store.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    clock.advance(secs(1));
    assert_eq!(store.get("k").await.unwrap(), None);
    assert_eq!(store.take("k").await.unwrap(), None);
}

pub(super) async fn put_replaces_the_value_and_its_ttl(
    store: Arc<dyn EphemeralStore>,
    clock: MockClock,
) {
    store.put("k", b"old".to_vec(), MINUTE).await.unwrap();
    clock.advance(secs(50));
    store.put("k", b"new".to_vec(), MINUTE).await.unwrap();
    clock.advance(secs(50));
    assert_eq!(store.get("k").await.unwrap().as_deref(), Some(&b"new"[..]));
    clock.advance(secs(10));
    assert_eq!(store.get("k").await.unwrap(), None);
}

pub(super) async fn delete_removes_and_missing_keys_are_absent(
    store: Arc<dyn EphemeralStore>,
    _clock: MockClock,
) {
    assert_eq!(store.get("never").await.unwrap(), None);
    assert_eq!(store.take("never").await.unwrap(), None);
    store.delete("never").await.unwrap();
    store.put("k", b"v".to_vec(), MINUTE).await.unwrap();
    store.delete("k").await.unwrap();
    assert_eq!(store.get("k").await.unwrap(), None);
}

pub(super) async fn values_keep_every_byte(store: Arc<dyn EphemeralStore>, _clock: MockClock) {
    let all: Vec<u8> = (0..=255).collect();
    store.put("bytes", all.clone(), MINUTE).await.unwrap();
    store.put("empty", Vec::new(), MINUTE).await.unwrap();
    assert_eq!(store.get("bytes").await.unwrap(), Some(all));
    assert_eq!(store.get("empty").await.unwrap(), Some(Vec::new()));
}

pub(super) async fn take_removes_the_value_and_respects_expiry(
    store: Arc<dyn EphemeralStore>,
    clock: MockClock,
) {
    store.put("once", b"x".to_vec(), MINUTE).await.unwrap();
    assert_eq!(
        store.take("once").await.unwrap().as_deref(),
        Some(&b"x"[..])
    );
    assert_eq!(store.take("once").await.unwrap(), None);
    assert_eq!(store.get("once").await.unwrap(), None);
    store.put("late", b"x".to_vec(), MINUTE).await.unwrap();
    clock.advance(secs(60));
    assert_eq!(store.take("late").await.unwrap(), None);
}

pub(super) async fn take_hands_the_value_to_exactly_one_caller(
    store: Arc<dyn EphemeralStore>,
    _clock: MockClock,
) {
    for round in 0..5 {
        let key = format!("code{round}");
        store.put(&key, b"x".to_vec(), MINUTE).await.unwrap();
        let takers = (0..20).map(|_| {
            let (store, key) = (store.clone(), key.clone());
            tokio::spawn(async move { store.take(&key).await.unwrap() })
        });
        let winners = futures_util::future::join_all(takers)
            .await
            .into_iter()
            .filter(|r| r.as_ref().unwrap().is_some())
            .count();
        assert_eq!(winners, 1, "round {round}");
    }
}

pub(super) async fn counters_are_atomic_and_keep_their_first_expiry(
    store: Arc<dyn EphemeralStore>,
    clock: MockClock,
) {
    let bumps = (0..50).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.increment("n", MINUTE).await.unwrap() })
    });
    let mut seen: Vec<i64> = futures_util::future::join_all(bumps)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (1..=50).collect::<Vec<_>>());
    clock.advance(secs(30));
    assert_eq!(store.increment("n", MINUTE).await.unwrap(), 51);
    assert_eq!(store.get("n").await.unwrap().as_deref(), Some(&b"51"[..]));
    clock.advance(secs(30));
    assert_eq!(
        store.increment("n", MINUTE).await.unwrap(),
        1,
        "window restarts after the first hit's TTL"
    );
    clock.advance(secs(59));
    assert_eq!(store.increment("n", MINUTE).await.unwrap(), 2);
    clock.advance(secs(1));
    assert_eq!(store.get("n").await.unwrap(), None);
}

pub(super) async fn counters_are_independent_per_key(
    store: Arc<dyn EphemeralStore>,
    _clock: MockClock,
) {
    assert_eq!(store.increment("a", MINUTE).await.unwrap(), 1);
    assert_eq!(store.increment("a", MINUTE).await.unwrap(), 2);
    assert_eq!(store.increment("b", MINUTE).await.unwrap(), 1);
    store.delete("a").await.unwrap();
    assert_eq!(store.increment("a", MINUTE).await.unwrap(), 1);
}

pub(super) async fn incrementing_a_value_that_is_not_a_counter_is_corrupt(
    store: Arc<dyn EphemeralStore>,
    _clock: MockClock,
) {
    store.put("text", b"abc".to_vec(), MINUTE).await.unwrap();
    assert!(matches!(
        store.increment("text", MINUTE).await,
        Err(StoreError::Corrupt { key }) if key == "text"
    ));
}

pub(super) async fn millisecond_ttls_are_honoured(
    store: Arc<dyn EphemeralStore>,
    clock: MockClock,
) {
    store
        .put("brief", b"v".to_vec(), Duration::from_millis(1))
        .await
        .unwrap();
    clock.advance(chrono::TimeDelta::milliseconds(1));
    assert_eq!(store.get("brief").await.unwrap(), None);
}

pub(super) async fn typed_helpers_round_trip_json(
    store: Arc<dyn EphemeralStore>,
    _clock: MockClock,
) {
    store.put_json("j", &vec![1, 2, 3], MINUTE).await.unwrap();
    assert_eq!(
        store.get_json::<Vec<i32>>("j").await.unwrap(),
        Some(vec![1, 2, 3])
    );
    assert_eq!(
        store.take_json::<Vec<i32>>("j").await.unwrap(),
        Some(vec![1, 2, 3])
    );
    assert_eq!(store.get_json::<Vec<i32>>("j").await.unwrap(), None);
}

pub(super) async fn ping_answers(store: Arc<dyn EphemeralStore>, _clock: MockClock) {
    store.ping().await.unwrap();
}
