//! The token signing keys, as an operator manages them.

use super::Context;
use crate::{
    audit::AuditEvent,
    config::KeySettings,
    domain::{Actor, Algorithm},
    oidc::keys::{self, KeyEncryptionKey, KeyError, KeyRing, KeyState, KeyStatus, SigningKeys},
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
    let before = next_kids(&keys::list(&ctx.db, now).await?);
    let ring = keys::rotate(&ctx.db, kek, settings, now, alg).await?;
    let after = next_kids(&keys::list(&ctx.db, now).await?);
    let which = alg.map_or("every algorithm", Algorithm::as_str);
    ctx.audit
        .record(
            AuditEvent::admin_action(format!(
                "keys rotate ({which}): next {} → {}",
                or_none(&before),
                or_none(&after)
            ))
            .by(by),
        )
        .await;
    Ok(ring)
}

/// [`rotate`], then the running server publishes the new ring at once (its JWKS lists the
/// next keys; they sign from their activation): what the console and the API call.
pub async fn rotate_live(
    ctx: &Context,
    by: &Actor,
    kek: &KeyEncryptionKey,
    settings: &KeySettings,
    live: &SigningKeys,
    alg: Option<Algorithm>,
) -> Result<KeyRing, KeyError> {
    let ring = rotate(ctx, by, kek, settings, alg).await?;
    live.replace(ring.clone());
    Ok(ring)
}

/// The next keys, as `alg:kid` (the kid is public: the JWKS lists it).
fn next_kids(keys: &[KeyStatus]) -> Vec<String> {
    keys.iter()
        .filter(|k| matches!(k.state, KeyState::Next { .. }))
        .map(|k| format!("{}:{}", k.alg.as_str(), k.kid.as_str()))
        .collect()
}

fn or_none(kids: &[String]) -> String {
    if kids.is_empty() {
        "none".to_owned()
    } else {
        kids.join(" ")
    }
}

/// The published ring, after making sure every algorithm has a key.
pub async fn published(ctx: &Context, kek: &KeyEncryptionKey) -> Result<KeyRing, KeyError> {
    keys::ensure_keys(&ctx.db, kek, ctx.clock.now()).await
}

/// Every key still known, with its state now: next, current or retired.
pub async fn list(ctx: &Context) -> Result<Vec<KeyStatus>, KeyError> {
    keys::list(&ctx.db, ctx.clock.now()).await
}
