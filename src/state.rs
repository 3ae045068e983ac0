//! Everything a request may need, built once at start and shared by every worker.

use std::sync::Arc;

use anyhow::Context;

use crate::{
    clock::Clock,
    config::Settings,
    db::Db,
    domain::PasswordHasher,
    notify::Notifier,
    session::SessionStore,
    store::{EphemeralStore, MemoryStore},
};

pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub store: Arc<dyn EphemeralStore>,
    pub sessions: SessionStore,
    pub notifier: Notifier,
    pub clock: Arc<dyn Clock>,
    pub passwords: PasswordHasher,
}

impl AppState {
    /// Opens the database and applies pending migrations, then wires the rest.
    pub fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let db = open_database(&settings)?;
        let store: Arc<dyn EphemeralStore> = Arc::new(MemoryStore::new(clock.clone()));
        let notifier = Notifier::from_settings(&settings).context("setting up notifications")?;
        let settings = Arc::new(settings);
        Ok(Self {
            sessions: SessionStore::new(store.clone(), clock.clone(), settings.clone()),
            settings,
            db,
            store,
            notifier,
            clock,
            passwords: PasswordHasher::new(),
        })
    }
}

/// Connects to the configured database and brings its schema up to date.
pub fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect(&settings.database_url, settings.database.pool_size, settings.connect_timeout(), settings.database.busy_timeout_ms)
        .context("opening the database")?;
    let applied = db.migrate().context("applying migrations")?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(db)
}
