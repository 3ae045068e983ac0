//! The token signing keys, as an operator manages them.

use super::Context;
use crate::{
    audit::AuditEvent,
    config::KeySettings,
    domain::{Actor, Algorithm},
    oidc::keys::{self, KeyEncryptionKey, KeyError, KeyRing, KeyStatus},
};

/// Adds a new key per algorithm (or only `alg`'s): published at once, signing after
/// [`keys::ACTIVATION_DELAY`]. Returns the ring now published.
pub async fn rotate(
    ctx: &Context,
    by: &Actor,
    kek: &KeyEncryptionKey,
    settings: &KeySettings,
    alg: Option<Algorithm>,
) -> Result<KeyRing, KeyError> {
    let now = ctx.clock.now();
    keys::ensure_keys(&ctx.db, kek, now).await?;
    let ring = keys::rotate(&ctx.db, kek, settings, now, alg).await?;
    ctx.audit
        .record(AuditEvent::admin_action("keys rotate").by(by))
        .await;
    Ok(ring)
}

/// The published ring, after making sure every algorithm has a key.
pub async fn published(ctx: &Context, kek: &KeyEncryptionKey) -> Result<KeyRing, KeyError> {
    keys::ensure_keys(&ctx.db, kek, ctx.clock.now()).await
}

/// Every key still known, with its state now: next, current or retired.
pub async fn list(ctx: &Context) -> Result<Vec<KeyStatus>, KeyError> {
    keys::list(&ctx.db, ctx.clock.now()).await
}
