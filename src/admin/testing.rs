//! An admin context over a temporary SQLite database, for unit tests of the admin operations.

use std::sync::Arc;

use super::Context;
use crate::{
    clock::MockClock,
    config::Settings,
    db::models::account::{self, NewAccount},
    domain::{AccountId, DisplayName, PasswordHash, PhoneNumber, Region},
    oauth::warm::Warm,
    store::MemoryStore,
};

/// A fresh context; keep the folder alive for the test's length.
pub(crate) async fn context() -> (tempfile::TempDir, Context) {
    let (dir, db) = crate::db::testing::temp_sqlite();
    let clock = Arc::new(MockClock::starting_now());
    let warm = Warm::new(Arc::new(MemoryStore::new(clock.clone())));
    (
        dir,
        Context::new(db, clock, &Settings::default().audit, warm),
    )
}

/// An account with the phone number `phone`.
pub(crate) async fn account(ctx: &Context, phone: &str) -> AccountId {
    let new = NewAccount {
        phone: Some(PhoneNumber::parse(phone, Region::default()).unwrap()),
        email: None,
        display_name: DisplayName::parse("Asha").unwrap(),
        password_hash: Some(PasswordHash::erased()),
    };
    let now = ctx.clock.now();
    ctx.db
        .run(move |conn| {
            account::create(conn, &new, now).map_err(|e| match e {
                account::CreateError::Db(e) => e,
                other => panic!("{other}"),
            })
        })
        .await
        .unwrap()
        .id
}
