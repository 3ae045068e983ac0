//! "Remember this browser": after a second factor passes, the person may let this browser skip
//! the second-factor prompt for `second_factor.remember_browser_days`. The mark is a row bound
//! to the account and to the browser's device cookie (through its digest for the account,
//! under a server key), so it works in that browser only, for that account only, and can be
//! revoked: from the console's Sessions and devices (one, see `session::devices`), and all at
//! once by a password reset, a removed second factor, or "sign out everywhere else".
//!
//! A remembered browser skips the *prompt*; it does not make the sign-in a multi-factor one:
//! its `amr` gets no `mfa`, so an app or page that requires a second factor still asks.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Duration;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::super::{Context, ServiceError};
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    db::{
        DbError,
        models::second_factor::{self as rows, NewRemembered},
    },
    domain::{AccountId, ClientInfo, DeviceDigest, mask_ip, random_token_of},
};

/// The HKDF label of the marks' HMAC key.
pub const KEY_PURPOSE: &str = "oneid-remembered-browser";

/// What the row stores for the browser: an HMAC of its device digest (which already binds the
/// account) under a server key, so a database dump matches no cookie.
fn mark(ctx: &Context, device: &DeviceDigest) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&ctx.keys.remembered_browser)
        .expect("HMAC takes any key");
    mac.update(b"oneid-remember\0");
    mac.update(device.as_str().as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Whether "remember this browser" is offered at all (`remember_browser_days` > 0).
pub fn offered(ctx: &Context) -> bool {
    ctx.settings.second_factor.remember_browser_days > 0
}

/// Whether this browser (its device digest for `account`) is remembered for the account now.
pub async fn is_remembered(
    ctx: &Context,
    account: AccountId,
    device: &DeviceDigest,
) -> Result<bool, DbError> {
    if !offered(ctx) {
        return Ok(false);
    }
    let (mark, now) = (mark(ctx, device), ctx.clock.now());
    ctx.db
        .run(move |conn| rows::use_remembered(conn, account, &mark, now))
        .await
}

/// Remembers this browser for the account, after its second factor passed.
pub async fn remember(
    ctx: &Context,
    account: AccountId,
    device: &DeviceDigest,
    from: &ClientInfo,
) -> Result<(), ServiceError> {
    if !offered(ctx) {
        return Ok(());
    }
    let now = ctx.clock.now();
    let days = i64::from(ctx.settings.second_factor.remember_browser_days);
    let mark = mark(ctx, device);
    let id = random_token_of(12);
    let user_agent = from.user_agent.clone();
    let ip = from.ip.map(mask_ip);
    ctx.db
        .run(move |conn| {
            rows::remember(
                conn,
                &NewRemembered {
                    id: &id,
                    account,
                    mark_digest: &mark,
                    user_agent: user_agent.as_deref(),
                    ip: ip.as_deref(),
                    now,
                    expires_at: now + Duration::days(days),
                },
            )
        })
        .await?;
    ctx.audit
        .record(
            AuditEvent::new(AuditKind::BrowserRemembered, Outcome::Ok)
                .account(account)
                .from(from)
                .detail(format!("{days} days")),
        )
        .await;
    Ok(())
}
