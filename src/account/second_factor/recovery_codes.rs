//! Recovery codes: ten single-use codes, issued when the account gets its first second factor
//! and shown once, regenerated on request (the old ones stop working), each usable once in
//! place of the second factor. Stored as an HMAC under a server key (see
//! [`RecoveryCode::digest`]), never the codes themselves.

use super::super::{Context, ServiceError, notices};
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    db::models::second_factor as rows,
    domain::{AccountId, ClientInfo, RecoveryCode},
};

/// The HKDF label of the recovery codes' HMAC key.
pub const KEY_PURPOSE: &str = "oneid-recovery-codes";
/// Codes in a set.
pub const SET_SIZE: usize = 10;

/// A fresh set and the digests to store for `account`.
fn fresh_set(ctx: &Context, account: AccountId) -> (Vec<RecoveryCode>, Vec<String>) {
    let codes: Vec<RecoveryCode> = (0..SET_SIZE).map(|_| RecoveryCode::generate()).collect();
    let digests = codes
        .iter()
        .map(|c| c.digest(&ctx.keys.recovery_code, account))
        .collect();
    (codes, digests)
}

async fn record(ctx: &Context, account: AccountId, from: &ClientInfo, detail: &str) {
    ctx.audit
        .record(
            AuditEvent::new(AuditKind::RecoveryCodesGenerated, Outcome::Ok)
                .account(account)
                .from(from)
                .detail(detail),
        )
        .await;
}

/// Issues the account's recovery codes when it has none yet: called when a first second
/// factor is added (an authenticator app confirmed; a first passkey). The codes are returned
/// to be shown once; `None` when the account already had a set (it keeps it).
pub async fn issue_if_first(
    ctx: &Context,
    account: AccountId,
    from: &ClientInfo,
) -> Result<Option<Vec<RecoveryCode>>, ServiceError> {
    let (codes, digests) = fresh_set(ctx, account);
    let now = ctx.clock.now();
    let issued = ctx
        .db
        .run(move |conn| rows::insert_recovery_codes_if_none(conn, account, &digests, now))
        .await?;
    if !issued {
        return Ok(None);
    }
    record(ctx, account, from, "first").await;
    Ok(Some(codes))
}

/// Replaces every recovery code of the account with a new set, shown once (the caller made
/// sure the sign-in is recent). The owner is told: new codes in someone else's hands are a
/// way past the second factor.
pub async fn regenerate(
    ctx: &Context,
    account: AccountId,
    from: &ClientInfo,
) -> Result<Vec<RecoveryCode>, ServiceError> {
    let (codes, digests) = fresh_set(ctx, account);
    let now = ctx.clock.now();
    ctx.db
        .run(move |conn| rows::replace_recovery_codes(conn, account, &digests, now))
        .await?;
    record(ctx, account, from, "regenerated").await;
    tracing::info!(account_id = %account, "recovery codes regenerated");
    if let Err(e) = notices::security_method_changed(
        ctx,
        account,
        notices::SecurityMethod::RecoveryCodes,
        notices::Change::Added,
    )
    .await
    {
        tracing::warn!(account_id = %account, error = %e, "method notice not sent");
    }
    Ok(codes)
}

/// How many unused codes the account has.
pub async fn remaining(ctx: &Context, account: AccountId) -> Result<i64, ServiceError> {
    Ok(ctx
        .db
        .run(move |conn| rows::remaining_recovery_codes(conn, account))
        .await?)
}

/// Uses `code` if it is one of the account's unused codes: one conditional UPDATE (see
/// [`rows::use_recovery_code`]), so of two requests carrying it at once exactly one wins.
pub(super) async fn use_code(
    ctx: &Context,
    account: AccountId,
    code: &RecoveryCode,
) -> Result<bool, ServiceError> {
    let digest = code.digest(&ctx.keys.recovery_code, account);
    let now = ctx.clock.now();
    Ok(ctx
        .db
        .run(move |conn| rows::use_recovery_code(conn, account, &digest, now))
        .await?)
}
