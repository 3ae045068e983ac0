//! An account context over a temporary SQLite database and the memory store, with the
//! messages it sends captured, for unit tests of the account logic: no application, no HTTP.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{AccountKeys, AccountSettings, Context, password_pool::PasswordPool};
use crate::{
    clock::MockClock,
    config::Settings,
    domain::{ClientInfo, PasswordHasher},
    notify::{Envelope, Notifier, NotifyError, Sender},
    session::testing::TestSessions,
    store::MemoryStore,
};

/// Keeps every message instead of sending it.
#[derive(Default)]
pub(crate) struct Captured(Mutex<Vec<Envelope>>);

impl Captured {
    /// The code of the latest message that carried one. Security notices go out from a
    /// spawned task and may land after a later code, so "the latest message" is not enough.
    pub fn last_code(&self) -> Option<String> {
        let sent = self.0.lock().unwrap();
        sent.iter()
            .rev()
            .find_map(|e| e.code.as_ref())
            .map(|c| c.expose().to_owned())
    }

    pub fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// Every message sent so far.
    pub fn all(&self) -> Vec<Envelope> {
        self.0.lock().unwrap().clone()
    }
}

#[async_trait]
impl Sender for Captured {
    fn name(&self) -> &'static str {
        "captured"
    }

    async fn deliver(&self, envelope: &Envelope) -> Result<(), NotifyError> {
        self.0.lock().unwrap().push(envelope.clone());
        Ok(())
    }
}

pub(crate) struct TestAccounts {
    /// Kept so the database outlives the test.
    pub _sessions: TestSessions,
    pub clock: MockClock,
    pub store: Arc<MemoryStore>,
    pub sent: Arc<Captured>,
    pub ctx: Context,
}

/// A fresh account context under `settings`.
pub(crate) async fn context(settings: &Settings) -> TestAccounts {
    let sessions = crate::session::testing::context(settings).await;
    let clock = sessions.clock.clone();
    let store = Arc::new(MemoryStore::new(Arc::new(clock.clone())));
    let sent = Arc::new(Captured::default());
    let ctx = Context {
        db: sessions.ctx.db.clone(),
        store: store.clone(),
        clock: sessions.ctx.clock.clone(),
        notifier: Notifier::new(sent.clone(), sent.clone(), "id.example".into()),
        passwords: PasswordHasher::new(),
        password_pool: PasswordPool::start(1, 8).unwrap(),
        settings: Arc::new(AccountSettings::from_settings(settings)),
        keys: AccountKeys::derive(&sessions.kek),
        audit: sessions.ctx.audit.clone(),
        session: sessions.ctx.clone(),
        passkeys: crate::account::passkeys::RelyingParty::from_issuer(&settings.issuer)
            .ok()
            .map(Arc::new),
    };
    TestAccounts {
        _sessions: sessions,
        clock,
        store,
        sent,
        ctx,
    }
}

/// A request from nowhere in particular: no address, so no per-address limit applies.
pub(crate) fn nobody() -> ClientInfo {
    ClientInfo::default()
}

/// Lets tasks spawned by the code under test (background deliveries) run to completion.
pub(crate) async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}
