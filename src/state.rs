//! Everything a request may need, built once at start and shared by every worker.

use std::sync::Arc;

use anyhow::Context;

use crate::{
    audit::Audit,
    clock::Clock,
    config::Settings,
    db::Db,
    domain::{Issuer, PasswordHasher},
    notify::Notifier,
    oidc::keys::{self, KeyEncryptionKey, SigningKeys},
    session::SessionStore,
    store::{EphemeralStore, MemoryStore, RedisStore},
};

pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub store: Arc<dyn EphemeralStore>,
    pub sessions: SessionStore,
    pub clock: Arc<dyn Clock>,
    pub password_pool: crate::account::password_pool::PasswordPool,
    pub kek: KeyEncryptionKey,
    /// The signing keys; replaced whole after a rotation.
    pub keys: SigningKeys,
    /// The issuer identifier, from `settings.issuer`.
    pub issuer: Issuer,
    /// The discovery document, serialized once (it only depends on the issuer) and shared by
    /// every response rather than copied into each.
    pub discovery_json: bytes::Bytes,
    pub audit: Audit,
    /// The protocol core's view of the above.
    pub oauth: crate::oauth::Context,
    /// What operators do (`admin`), for the faces that let them.
    pub admin: crate::admin::Context,
    /// The sessions' durable side: ending, recording, rechecking.
    pub session: crate::session::Context,
    /// Account logic: codes, sign-up, sign-in, recovery, locks.
    pub account: crate::account::Context,
}

impl AppState {
    /// Opens the database and applies pending migrations, makes sure signing keys exist, then
    /// wires the rest. The server's state: audit events are written by a writer task.
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        Self::build_with(settings, clock, Audit::queued).await
    }

    /// [`Self::build`] for one command of the shell, whose process exits when it is done:
    /// each audit event is written before the operation that records it returns.
    pub async fn build_for_command(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        Self::build_with(settings, clock, Audit::new).await
    }

    async fn build_with(
        settings: Settings,
        clock: Arc<dyn Clock>,
        audit: fn(Db, Arc<dyn Clock>, &crate::config::AuditSettings) -> Audit,
    ) -> anyhow::Result<Self> {
        let db = open_database(&settings)?;
        let kek = KeyEncryptionKey::load_or_create(&settings.keys)?;
        let keys = keys::ensure_keys(&db, &kek, clock.now())
            .await
            .context("loading signing keys")?;
        let store = open_store(&settings, clock.clone())?;
        let notifier = Notifier::from_settings(&settings).context("setting up notifications")?;
        let password_pool = crate::account::password_pool::PasswordPool::with_settings(
            settings.passwords.threads,
            settings.passwords.queue,
        )
        .context("starting the password threads")?;
        let settings = Arc::new(settings);
        let issuer = Issuer::from_url(&settings.issuer);
        let audit = audit(db.clone(), clock.clone(), &settings.audit);
        let keys = SigningKeys::new(keys);
        let warm = crate::oauth::warm::Warm::new(store.clone());
        let oauth = crate::oauth::Context {
            db: db.clone(),
            store: store.clone(),
            clock: clock.clone(),
            keys: keys.clone(),
            issuer: issuer.clone(),
            settings: Arc::new(settings.oauth.clone()),
            audit: audit.clone(),
            confirmation_key: crate::oauth::logout::ConfirmationKey::new(
                kek.derive(crate::oauth::logout::CONFIRMATION_KEY_PURPOSE),
            ),
            warm: warm.clone(),
        };
        let session = crate::session::Context {
            db: db.clone(),
            clock: clock.clone(),
            audit: audit.clone(),
            settings: Arc::new(settings.session.clone()),
            backchannel: crate::logout::Backchannel {
                db: db.clone(),
                clock: clock.clone(),
                keys: keys.clone(),
                issuer: issuer.clone(),
                // Wakes the back-channel logout worker when tokens are queued.
                wake: Arc::new(tokio::sync::Notify::new()),
            },
        };
        let account = crate::account::Context {
            db: db.clone(),
            store: store.clone(),
            clock: clock.clone(),
            notifier,
            passwords: PasswordHasher::new(),
            password_pool: password_pool.clone(),
            settings: Arc::new(crate::account::AccountSettings::from_settings(&settings)),
            keys: crate::account::AccountKeys::derive(&kek),
            audit: audit.clone(),
            session: session.clone(),
            passkeys: relying_party(&settings.issuer),
        };
        let admin = crate::admin::Context {
            db: db.clone(),
            clock: clock.clone(),
            audit: audit.clone(),
            warm,
        };
        Ok(Self {
            oauth,
            sessions: SessionStore::new(store.clone(), clock.clone(), session.settings.clone()),
            settings,
            db,
            store,
            clock,
            password_pool,
            kek,
            keys,
            discovery_json: crate::oidc::discovery::provider_metadata(issuer.as_str())
                .to_string()
                .into(),
            issuer,
            audit,
            session,
            account,
            admin,
        })
    }
}

/// The WebAuthn relying party for the issuer, built once; `None` (passkeys not offered, and
/// said once in the log) when the issuer's host cannot be an RP ID.
fn relying_party(issuer: &url::Url) -> Option<Arc<crate::account::passkeys::RelyingParty>> {
    match crate::account::passkeys::RelyingParty::from_issuer(issuer) {
        Ok(rp) => Some(Arc::new(rp)),
        Err(e) => {
            tracing::warn!(error = %e, "passkeys are not offered");
            None
        }
    }
}

/// Redis when `redis_url` is set, else this process's memory. Never connects: a Redis that is
/// down at start delays nothing, and requests needing it answer 503 until it is back.
pub fn open_store(
    settings: &Settings,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Arc<dyn EphemeralStore>> {
    match &settings.redis_url {
        Some(url) => {
            let store = RedisStore::new(url, &settings.redis, clock).context("setting up Redis")?;
            tracing::info!(
                store = "redis",
                url = %store.redacted_url(),
                prefix = %store.key_prefix(),
                "ephemeral state (sessions, codes, counters) in Redis"
            );
            Ok(Arc::new(store))
        }
        None => {
            tracing::info!(
                store = "memory",
                max_mib = settings.memory_store.max_mib,
                "ephemeral state (sessions, codes, counters) in this process's memory"
            );
            Ok(Arc::new(MemoryStore::with_budget(
                clock,
                settings.memory_store.max_bytes(),
            )))
        }
    }
}

/// Connects to the configured database and brings its schema up to date.
pub fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    let db =
        Db::open(&settings.database_url, &settings.database).context("opening the database")?;

    let applied = db.migrate().context("applying migrations")?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(db)
}
