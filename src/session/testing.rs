//! A session context over a temporary SQLite database, for unit tests of the core: no
//! application, no HTTP.

use std::sync::Arc;

use tempfile::TempDir;

use super::Context;
use crate::{
    audit::Audit,
    clock::{Clock, MockClock},
    config::{KeySettings, Settings},
    db::Db,
    domain::Issuer,
    logout::Backchannel,
    oidc::keys::{self, KeyEncryptionKey, SigningKeys},
};

/// What a test works with: the database's directory (deleted when dropped), the clock it
/// moves, and the context.
pub(crate) struct TestSessions {
    /// Kept so the database outlives the test.
    pub _dir: TempDir,
    pub clock: MockClock,
    pub ctx: Context,
    pub kek: KeyEncryptionKey,
}

/// A fresh database with its migrations and signing keys, under `settings`.
pub(crate) async fn context(settings: &Settings) -> TestSessions {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("oneid.db").display());
    let db = Db::open(&url, &settings.database).unwrap();
    db.migrate().unwrap();
    let clock = MockClock::starting_now();
    let kek = KeyEncryptionKey::load_or_create(&KeySettings {
        encryption_key_file: dir.path().join("keys.secret"),
        ..settings.keys.clone()
    })
    .unwrap();
    let ring = keys::ensure_keys(&db, &kek, clock.now()).await.unwrap();
    let as_clock: Arc<dyn Clock> = Arc::new(clock.clone());
    let ctx = Context {
        db: db.clone(),
        clock: as_clock.clone(),
        audit: Audit::new(db.clone(), as_clock.clone(), &settings.audit),
        settings: Arc::new(settings.session.clone()),
        backchannel: Backchannel {
            db,
            clock: as_clock,
            keys: SigningKeys::new(ring),
            issuer: Issuer::from_url(&settings.issuer),
            wake: Arc::new(tokio::sync::Notify::new()),
        },
    };
    TestSessions {
        _dir: dir,
        clock,
        ctx,
        kek,
    }
}

/// A new account at `email` (a cheap password hash: nothing here checks it).
pub(crate) async fn account(ctx: &Context, email: &str) -> crate::domain::AccountId {
    use crate::{
        db::models::account::{self, NewAccount},
        domain::{DisplayName, Email, Password, PasswordHasher},
    };
    let new = NewAccount {
        phone: None,
        email: Some(Email::parse(email).unwrap()),
        display_name: DisplayName::parse("Asha").unwrap(),
        password_hash: Some(PasswordHasher::new().hash(&Password::parse("x".repeat(8)).unwrap())),
    };
    let now = ctx.clock.now();
    ctx.db
        .run(move |conn| Ok(account::create(conn, &new, now)))
        .await
        .unwrap()
        .map_err(|_| "not created")
        .unwrap()
        .id
}

/// The `detail` of every audit event of `kind` (of `account`, if given), newest first.
pub(crate) async fn audit_details(
    ctx: &Context,
    account: Option<crate::domain::AccountId>,
    kind: &'static str,
) -> Vec<Option<String>> {
    use crate::db::models::audit::{AuditFilter, query};
    let filter = AuditFilter {
        account,
        since: None,
        limit: 100,
    };
    ctx.db
        .run(move |conn| query(conn, &filter))
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == kind)
        .map(|r| r.detail)
        .collect()
}

/// Whether the durable row of `sid` says it ended.
pub(crate) async fn has_ended(ctx: &Context, sid: &str) -> bool {
    let sid = sid.to_owned();
    ctx.db
        .run(move |conn| crate::db::models::session::has_ended(conn, &sid))
        .await
        .unwrap()
}
