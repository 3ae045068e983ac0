//! Accounts, as an operator manages them: list, sign out everywhere, lock, unlock.

use super::Context;
use crate::{
    audit::AuditEvent,
    db::{
        DbError,
        models::{
            account::{self, Account, AccountStatus},
            session::EndReason,
        },
    },
    domain::AccountId,
    session::registry,
};

/// What ending an account's sessions takes. The session area's end-all function still takes
/// the whole application state; when it takes its own context, this line and the call in
/// [`end_sessions`] are all that change here.
pub type Sessions = crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("no account {0}")]
    NotFound(AccountId),
    #[error(transparent)]
    Db(#[from] DbError),
    /// Ending the sessions failed after the change was made (the row is marked first, so the
    /// sessions are over; some apps may not have been told).
    #[error(transparent)]
    Sessions(anyhow::Error),
}

/// Every account, oldest first.
pub async fn list(ctx: &Context) -> Result<Vec<Account>, DbError> {
    ctx.db.run(account::list).await
}

/// Signs the account out everywhere: ends all its OneID sessions (its apps are told by
/// back-channel logout) and revokes every grant it gave. Returns how many sessions ended.
pub async fn sign_out(
    ctx: &Context,
    sessions: &Sessions,
    id: AccountId,
) -> Result<usize, UserError> {
    if ctx
        .db
        .run(move |conn| account::find_by_id(conn, id))
        .await?
        .is_none()
    {
        return Err(UserError::NotFound(id));
    }
    let ended = end_sessions(sessions, id).await?;
    tracing::info!(account_id = %id, sessions = ended, "admin signed the account out everywhere");
    let signed_out = AuditEvent::admin_action("user sign-out").account(id);
    ctx.audit.record(signed_out).await;
    Ok(ended)
}

/// Locks the account until it is unlocked, and signs it out everywhere. Returns how many
/// sessions ended.
pub async fn lock(ctx: &Context, sessions: &Sessions, id: AccountId) -> Result<usize, UserError> {
    set_status(ctx, id, AccountStatus::Locked, "user lock").await?;
    let ended = end_sessions(sessions, id).await?;
    tracing::info!(account_id = %id, sessions = ended, "admin locked the account");
    Ok(ended)
}

/// Unlocks the account, forgetting its failed sign-ins.
pub async fn unlock(ctx: &Context, id: AccountId) -> Result<(), UserError> {
    set_status(ctx, id, AccountStatus::Active, "user unlock").await?;
    tracing::info!(account_id = %id, "admin unlocked the account");
    Ok(())
}

async fn set_status(
    ctx: &Context,
    id: AccountId,
    status: AccountStatus,
    command: &str,
) -> Result<(), UserError> {
    let now = ctx.clock.now();
    if !ctx
        .db
        .run(move |conn| account::set_status(conn, id, status, now))
        .await?
    {
        return Err(UserError::NotFound(id));
    }
    ctx.audit
        .record(AuditEvent::admin_action(command).account(id))
        .await;
    Ok(())
}

/// Every session of the account ends and every grant it gave is revoked, through the session
/// area's one end-all function.
async fn end_sessions(sessions: &Sessions, id: AccountId) -> Result<usize, UserError> {
    registry::end_all_for_account(sessions, id, EndReason::Admin)
        .await
        .map_err(|e| UserError::Sessions(e.into()))
}
