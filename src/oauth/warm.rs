//! What the protocol core keeps warm in memory between requests: parsed clients, and the live
//! grants that client_credentials tokens share (see [`super::grant::client_credentials`]).
//! With both warm, a client_credentials token or the introspection of one needs neither the
//! database nor the blocking pool.
//!
//! A copy must never outlive a change, on this instance or any other that shares the database.
//! So every change to a client, and every revocation that can reach a service grant, puts a new
//! random *epoch* into the ephemeral store ([`Warm::invalidate`]), the one place every instance
//! shares (Redis on the scale pair), and every request that reads from the cache first compares
//! that epoch with the one its copies were made under ([`Warm::sync`]); a different one empties
//! the cache. A copy is also used for at most [`MAX_AGE_SECS`], so that a change the epoch cannot
//! carry costs at most that much staleness.
//!
//! Copies are made only of what was found: a stranger naming made-up client ids adds nothing,
//! and the whole cache is bounded by [`MAX_ENTRIES`].
//!
//! Where the store is another process (Redis), the requests that want the epoch at the same
//! time share one read of it ([`SharedReads`]). A request never joins a read that was already
//! sent when it arrived, which might have been answered before a change it must see; it waits
//! for the next one. So the guarantee is the same as one read per request, and under load a
//! read serves every request that arrived while the one before it was out.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration as StdDuration,
};

use chrono::{DateTime, Duration, Utc};
use tokio::sync::watch;

use crate::{
    db::models::{client::Client, grant::Grant},
    domain::{ClientId, Scopes, random_token_of},
    store::{EphemeralStore, StoreError},
};

/// The store key of the epoch: shared by every instance of one deployment (the store adds the
/// deployment's prefix).
const EPOCH_KEY: &str = "oauth:warm-epoch";

/// How long the epoch stays in the store. Long enough that it outlives any copy; when it does
/// expire, it reads as a change (nothing) and the caches empty, which is safe.
const EPOCH_TTL: StdDuration = StdDuration::from_secs(30 * 24 * 3600);

/// The longest a copy is used, whatever the epoch says: what a change costs in staleness where
/// the epoch cannot carry it (the command line on the embedded pair, whose in-memory store is
/// its own process's) or its write was lost. One row read per client every few seconds is
/// nothing; a disabled client refused seconds late is the price.
pub const MAX_AGE_SECS: i64 = 5;

/// Clients plus service grants held at most; past it the cache starts again empty. Registered
/// clients are few (an administrator adds them), so this is a guard, not a working size.
pub const MAX_ENTRIES: usize = 10_000;

/// The warm copies of one process; cheap to clone (one handle).
#[derive(Clone)]
pub struct Warm {
    store: Arc<dyn EphemeralStore>,
    inner: Arc<Mutex<Inner>>,
    /// Present when the store is remote ([`EphemeralStore::is_remote`]); an in-process store
    /// answers faster than a shared read could be arranged.
    reads: Option<Arc<SharedReads>>,
}

/// The epoch a copy was made under: what [`Warm::sync`] read before the copy's source was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Epoch(Option<Vec<u8>>);

#[derive(Default)]
struct Inner {
    /// The epoch the copies below were made under; `None` before the first sync.
    epoch: Option<Epoch>,
    clients: HashMap<String, (Client, DateTime<Utc>)>,
    /// Live service grants by id; one per client and scope is joined by new tokens.
    grants: HashMap<String, (Grant, DateTime<Utc>)>,
}

impl Inner {
    fn clear(&mut self) {
        self.clients.clear();
        self.grants.clear();
    }

    fn room(&mut self) {
        if self.clients.len() + self.grants.len() >= MAX_ENTRIES {
            self.clear();
        }
    }
}

/// Whether a copy made at `kept` may still be used at `now`.
fn fresh(kept: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now < kept + Duration::seconds(MAX_AGE_SECS) && kept <= now
}

impl Warm {
    pub fn new(store: Arc<dyn EphemeralStore>) -> Self {
        let reads = store.is_remote().then(|| Arc::new(SharedReads::new()));
        Self {
            store,
            inner: Arc::default(),
            reads,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves only copies behind; dropping them is safe.
        self.inner.lock().unwrap_or_else(|poisoned| {
            let mut inner = poisoned.into_inner();
            inner.clear();
            inner.epoch = None;
            inner
        })
    }

    /// Reads the deployment's epoch and empties the cache when it moved. Called once per
    /// request, before any copy is read or made; the epoch returned tags the copies this
    /// request makes ([`Warm::keep_client`], [`Warm::keep_grant`]).
    pub async fn sync(&self) -> Result<Epoch, StoreError> {
        let epoch = match &self.reads {
            Some(reads) => reads.read(&self.store).await?,
            None => Epoch(self.store.get(EPOCH_KEY).await?),
        };
        let mut inner = self.lock();
        if inner.epoch.as_ref() != Some(&epoch) {
            inner.clear();
            inner.epoch = Some(epoch.clone());
        }
        Ok(epoch)
    }

    /// Tells every instance that clients or service grants changed: a new epoch in the store,
    /// and this instance's copies dropped at once. Called after the database write.
    pub async fn invalidate(&self) -> Result<(), StoreError> {
        {
            let mut inner = self.lock();
            inner.clear();
            inner.epoch = None;
        }
        let epoch = random_token_of(16).into_bytes();
        self.store.put(EPOCH_KEY, epoch, EPOCH_TTL).await
    }

    /// [`Warm::invalidate`], for a change that is already written: a store failure is logged
    /// rather than turned into the change's failure; [`MAX_AGE_SECS`] bounds what it costs.
    pub async fn invalidate_after_write(&self) {
        if let Err(e) = self.invalidate().await {
            tracing::error!(error = %e, "could not publish a client or grant change to other instances; their copies expire within {MAX_AGE_SECS} s");
        }
    }

    /// The warm copy of the client registered as `raw_id`.
    pub fn client(&self, raw_id: &str, now: DateTime<Utc>) -> Option<Client> {
        let inner = self.lock();
        inner
            .clients
            .get(raw_id)
            .filter(|(_, kept)| fresh(*kept, now))
            .map(|(client, _)| client.clone())
    }

    /// Keeps a client read from the database after `epoch` was read; dropped if the epoch has
    /// moved since, since the read may predate the change.
    pub fn keep_client(&self, epoch: &Epoch, client: &Client, now: DateTime<Utc>) {
        let mut inner = self.lock();
        if inner.epoch.as_ref() == Some(epoch) {
            inner.room();
            inner
                .clients
                .insert(client.id.to_string(), (client.clone(), now));
        }
    }

    /// The warm copy of a live service grant by id (introspection of a client_credentials
    /// token).
    pub fn grant(&self, id: &str, now: DateTime<Utc>) -> Option<Grant> {
        let inner = self.lock();
        inner
            .grants
            .get(id)
            .filter(|(_, kept)| fresh(*kept, now))
            .map(|(grant, _)| grant.clone())
    }

    /// The live service grant of `client` for exactly `scope` that outlives `until`, as
    /// [`crate::db::models::grant::live_service_grant`] would find it.
    pub fn service_grant(
        &self,
        client: &ClientId,
        scope: &Scopes,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<Grant> {
        let inner = self.lock();
        inner
            .grants
            .values()
            .filter(|(grant, kept)| {
                fresh(*kept, now)
                    && &grant.client_id == client
                    && &grant.scope == scope
                    && grant.revoked_at.is_none()
                    && grant.expires_at > until
            })
            .map(|(grant, _)| grant)
            .max_by_key(|grant| grant.created_at)
            .cloned()
    }

    /// Keeps a service grant (no person: only these are revoked under an epoch change) read
    /// or written after `epoch` was read.
    pub fn keep_grant(&self, epoch: &Epoch, grant: &Grant, now: DateTime<Utc>) {
        if grant.account_id.is_some() || grant.sid.is_some() || grant.revoked_at.is_some() {
            return;
        }
        let mut inner = self.lock();
        if inner.epoch.as_ref() == Some(epoch) {
            inner.room();
            inner.grants.insert(grant.id.clone(), (grant.clone(), now));
        }
    }
}

/// Reads of the epoch from a remote store, shared by the requests waiting at the same time.
///
/// Reads go out one at a time, numbered in *rounds*. A request that arrives asks for the round
/// after the last one sent, so its read is sent after it arrived and sees every change that was
/// complete by then, exactly as a read of its own would. While a round is out, the requests
/// arriving gather for the next one, which the same task sends as soon as the round is back.
struct SharedReads {
    rounds: Mutex<Rounds>,
    /// The last round answered, and its answer; every waiting request watches it.
    answered: watch::Sender<Answer>,
}

#[derive(Default)]
struct Rounds {
    /// The number of the last round sent (0: none yet).
    sent: u64,
    /// Whether a waiting request asked for the round after `sent`.
    next_wanted: bool,
    /// Whether a task is sending rounds; it stops when none is wanted.
    running: bool,
}

#[derive(Clone)]
struct Answer {
    round: u64,
    epoch: Result<Epoch, StoreError>,
}

impl SharedReads {
    fn new() -> Self {
        Self {
            rounds: Mutex::default(),
            answered: watch::Sender::new(Answer {
                round: 0,
                epoch: Err(StoreError::Unavailable("no read of the epoch yet".into())),
            }),
        }
    }

    fn rounds(&self) -> MutexGuard<'_, Rounds> {
        // The counters are only ever changed whole, under the lock; a panic elsewhere while it
        // was held left them consistent.
        self.rounds
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The epoch as read by a round sent after this call began.
    async fn read(self: &Arc<Self>, store: &Arc<dyn EphemeralStore>) -> Result<Epoch, StoreError> {
        let mut answers = self.answered.subscribe();
        let round = {
            let mut rounds = self.rounds();
            let round = rounds.sent + 1;
            rounds.next_wanted = true;
            if !rounds.running {
                rounds.running = true;
                let sender = Sender {
                    reads: self.clone(),
                    finished: false,
                };
                let store = store.clone();
                // Its own task: a request that gives up (its client went away) must not take
                // the others' read with it.
                tokio::spawn(async move { sender.send_rounds(&store).await });
            }
            round
        };
        let answer = answers
            .wait_for(|answer| answer.round >= round)
            .await
            .map_err(|_| StoreError::Unavailable("the epoch's reader is gone".into()))?;
        answer.epoch.clone()
    }
}

/// The task sending rounds. Dropped early (its runtime shutting down, a panic in the store),
/// it answers every waiting request with an error rather than leave it waiting, and lets the
/// next request start a new task.
struct Sender {
    reads: Arc<SharedReads>,
    /// Set when it stops because no round is wanted.
    finished: bool,
}

impl Sender {
    async fn send_rounds(mut self, store: &Arc<dyn EphemeralStore>) {
        loop {
            let round = {
                let mut rounds = self.reads.rounds();
                if !rounds.next_wanted {
                    rounds.running = false;
                    self.finished = true;
                    return;
                }
                rounds.next_wanted = false;
                rounds.sent += 1;
                rounds.sent
            };
            let epoch = store.get(EPOCH_KEY).await.map(Epoch);
            self.reads.answered.send_replace(Answer { round, epoch });
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let round = {
            let mut rounds = self.reads.rounds();
            rounds.running = false;
            if std::mem::take(&mut rounds.next_wanted) {
                rounds.sent += 1;
            }
            rounds.sent
        };
        self.reads.answered.send_replace(Answer {
            round,
            epoch: Err(StoreError::Unavailable(
                "the read of the epoch stopped before it was answered".into(),
            )),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        domain::{AccountId, GrantType},
        oauth::grant::tests::client,
        store::{MemoryStore, testing::ProbedStore},
    };

    fn service_grant(client: &Client, scope: &str, now: DateTime<Utc>) -> Grant {
        Grant {
            id: random_token_of(8),
            client_id: client.id.clone(),
            account_id: None,
            scope: Scopes::parse_lenient(scope),
            created_at: now,
            expires_at: now + Duration::days(30),
            revoked_at: None,
            sid: None,
        }
    }

    fn two_instances() -> (Warm, Warm) {
        let store: Arc<dyn EphemeralStore> =
            Arc::new(MemoryStore::new(Arc::new(crate::clock::SystemClock)));
        (Warm::new(store.clone()), Warm::new(store))
    }

    #[tokio::test]
    async fn a_change_on_one_instance_empties_the_other_at_its_next_request() {
        let (a, b) = two_instances();
        let now = Utc::now();
        let backup = client(None, "openid", &[GrantType::ClientCredentials]);
        let epoch = b.sync().await.unwrap();
        b.keep_client(&epoch, &backup, now);
        assert!(b.client(backup.id.as_str(), now).is_some());

        a.invalidate().await.unwrap();
        // B still holds its copy until it next looks at the epoch, which every request does
        // before reading a copy.
        b.sync().await.unwrap();
        assert!(b.client(backup.id.as_str(), now).is_none());
    }

    #[tokio::test]
    async fn a_copy_read_before_a_change_is_not_kept_after_it() {
        let (a, b) = two_instances();
        let now = Utc::now();
        let backup = client(None, "openid", &[GrantType::ClientCredentials]);
        let before = b.sync().await.unwrap();
        a.invalidate().await.unwrap();
        b.sync().await.unwrap();
        // The database read that started under the old epoch finishes now: not kept.
        b.keep_client(&before, &backup, now);
        assert!(b.client(backup.id.as_str(), now).is_none());
    }

    #[tokio::test]
    async fn copies_expire_and_only_live_service_grants_are_kept() {
        let (warm, _) = two_instances();
        let now = Utc::now();
        let backup = client(None, "openid email", &[GrantType::ClientCredentials]);
        let epoch = warm.sync().await.unwrap();
        warm.keep_client(&epoch, &backup, now);
        let later = now + Duration::seconds(MAX_AGE_SECS);
        assert!(warm.client(backup.id.as_str(), later).is_none());

        let grant = service_grant(&backup, "email", now);
        warm.keep_grant(&epoch, &grant, now);
        let scope = Scopes::parse_lenient("email");
        let until = now + Duration::hours(1);
        assert_eq!(
            warm.service_grant(&backup.id, &scope, until, now)
                .map(|g| g.id),
            Some(grant.id.clone())
        );
        // Another scope, or a token that would outlive the grant, does not join it.
        assert!(
            warm.service_grant(&backup.id, &Scopes::parse_lenient("openid"), until, now)
                .is_none()
        );
        assert!(
            warm.service_grant(&backup.id, &scope, grant.expires_at, now)
                .is_none()
        );

        let person = Grant {
            account_id: Some(AccountId::generate()),
            ..service_grant(&backup, "email", now)
        };
        warm.keep_grant(&epoch, &person, now);
        assert!(warm.grant(&person.id, now).is_none());
    }

    #[tokio::test]
    async fn the_cache_is_bounded() {
        let (warm, _) = two_instances();
        let now = Utc::now();
        let epoch = warm.sync().await.unwrap();
        let backup = client(None, "openid", &[GrantType::ClientCredentials]);
        for _ in 0..=MAX_ENTRIES {
            warm.keep_grant(&epoch, &service_grant(&backup, "openid", now), now);
        }
        let inner = warm.lock();
        assert!(inner.clients.len() + inner.grants.len() <= MAX_ENTRIES);
    }

    /// Awaits a request's answer; a request left waiting fails the test rather than hang it.
    async fn answered<T>(request: tokio::task::JoinHandle<T>) -> T {
        tokio::time::timeout(StdDuration::from_secs(10), request)
            .await
            .expect("answered, not left waiting")
            .unwrap()
    }

    /// The guarantee shared reads must keep: a request sees every change complete before it
    /// arrived, even while a read answered before that change is still on its way back.
    #[tokio::test]
    async fn a_request_does_not_join_a_read_sent_before_it_arrived() {
        let remote = ProbedStore::remote();
        let store: Arc<dyn EphemeralStore> = remote.clone();
        let (a, b) = (Warm::new(store.clone()), Warm::new(store));
        let early = tokio::spawn({
            let b = b.clone();
            async move { b.sync().await }
        });
        remote.until_reads(1).await;

        a.invalidate().await.unwrap();
        let late = tokio::spawn({
            let b = b.clone();
            async move { b.sync().await }
        });
        tokio::task::yield_now().await;
        remote.open();

        // The early request may take either answer (both reads were sent after it arrived);
        // the late one must take the second.
        answered(early).await.unwrap();
        let late = answered(late).await.unwrap();
        let changed = Epoch(remote.inner().get(EPOCH_KEY).await.unwrap());
        assert_ne!(changed, Epoch(None));
        assert_eq!(late, changed);
        assert_eq!(remote.reads(), 2);
    }

    #[tokio::test]
    async fn requests_arriving_while_a_read_is_out_share_the_next_one() {
        let remote = ProbedStore::remote();
        let warm = Warm::new(remote.clone());
        let first = tokio::spawn({
            let warm = warm.clone();
            async move { warm.sync().await }
        });
        remote.until_reads(1).await;
        let waiting: Vec<_> = (0..20)
            .map(|_| {
                let warm = warm.clone();
                tokio::spawn(async move { warm.sync().await })
            })
            .collect();
        // Let every one of them ask for its round before the first read comes back.
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
        remote.open();
        answered(first).await.unwrap();
        for request in waiting {
            answered(request).await.unwrap();
        }
        assert_eq!(
            remote.reads(),
            2,
            "one read for the first request, one for the other 20"
        );
        // Alone again: a request reads for itself.
        warm.sync().await.unwrap();
        assert_eq!(remote.reads(), 3);
    }

    /// The task sending reads fails (here: panics inside the store): every request waiting on
    /// it gets an error instead of waiting forever, and the next request reads again.
    #[tokio::test]
    async fn a_failed_read_answers_its_waiters_and_the_next_request_reads_again() {
        let remote = ProbedStore::remote();
        remote.fail_next_read();
        let warm = Warm::new(remote.clone());
        let first = tokio::spawn({
            let warm = warm.clone();
            async move { warm.sync().await }
        });
        remote.until_reads(1).await;
        let second = tokio::spawn({
            let warm = warm.clone();
            async move { warm.sync().await }
        });
        tokio::task::yield_now().await;
        remote.open();
        assert!(matches!(
            answered(first).await,
            Err(StoreError::Unavailable(_))
        ));
        assert!(matches!(
            answered(second).await,
            Err(StoreError::Unavailable(_))
        ));
        assert_eq!(warm.sync().await.unwrap(), Epoch(None));
        assert_eq!(remote.reads(), 2);
    }
}
