//! Accounts, as an operator manages them: add, list, sign out everywhere, lock, unlock, delete.

use super::Context;
use crate::{
    account::{
        ServiceError, create_account,
        deletion::{self, DeletedBy},
    },
    audit::AuditEvent,
    db::{
        DbError,
        models::{
            account::{self, Account, AccountStatus, CreateError},
            session::EndReason,
        },
    },
    domain::{AccountId, Actor, ContactIdentifier, DisplayName, Password},
};

pub use crate::account::deletion::Deleted;

/// The shortest password an operator may choose for someone.
pub const MIN_PASSWORD_CHARS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("no account {0}")]
    NotFound(AccountId),
    /// A deleted account stays deleted: it cannot be locked or unlocked.
    #[error("account {0} was deleted")]
    Deleted(AccountId),
    #[error("password: use at least {MIN_PASSWORD_CHARS} characters")]
    ShortPassword,
    #[error("that phone number already belongs to an account")]
    PhoneTaken,
    #[error("that email address already belongs to an account")]
    EmailTaken,
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Db(#[from] DbError),
    /// Ending the sessions failed after the change was made (the row is marked first, so the
    /// sessions are over; some apps may not have been told).
    #[error(transparent)]
    Sessions(anyhow::Error),
}

/// An operator-chosen password must be at least [`MIN_PASSWORD_CHARS`] long (on top of the
/// rules every password follows); checked before anything is opened.
pub fn check_password(password: &Password) -> Result<(), UserError> {
    if password.expose().chars().count() < MIN_PASSWORD_CHARS {
        return Err(UserError::ShortPassword);
    }
    Ok(())
}

/// Creates a verified account: the operator vouches for the phone number or email address.
pub async fn add(
    ctx: &Context,
    by: &Actor,
    accounts: &crate::account::Context,
    contact: ContactIdentifier,
    name: DisplayName,
    password: Password,
) -> Result<Account, UserError> {
    check_password(&password)?;
    let account = match create_account(accounts, contact, name, password).await? {
        Ok(account) => account,
        Err(CreateError::PhoneTaken) => return Err(UserError::PhoneTaken),
        Err(CreateError::EmailTaken) => return Err(UserError::EmailTaken),
        Err(CreateError::Db(e)) => return Err(e.into()),
    };
    let added = AuditEvent::admin_action("user add")
        .account(account.id)
        .by(by);
    ctx.audit.record(added).await;
    Ok(account)
}

/// Every account, oldest first.
pub async fn list(ctx: &Context) -> Result<Vec<Account>, DbError> {
    ctx.db.run(account::list).await
}

/// Signs the account out everywhere: ends all its OneID sessions (its apps are told by
/// back-channel logout) and revokes every grant it gave. Returns how many sessions ended.
pub async fn sign_out(
    ctx: &Context,
    by: &Actor,
    sessions: &crate::session::Context,
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
    let signed_out = AuditEvent::admin_action("user sign-out").account(id).by(by);
    ctx.audit.record(signed_out).await;
    Ok(ended)
}

/// Locks the account until it is unlocked, and signs it out everywhere. Returns how many
/// sessions ended.
pub async fn lock(
    ctx: &Context,
    by: &Actor,
    sessions: &crate::session::Context,
    id: AccountId,
) -> Result<usize, UserError> {
    set_status(ctx, by, id, AccountStatus::Locked, "user lock").await?;
    let ended = end_sessions(sessions, id).await?;
    tracing::info!(account_id = %id, sessions = ended, "admin locked the account");
    Ok(ended)
}

/// Unlocks the account, forgetting its failed sign-ins.
pub async fn unlock(ctx: &Context, by: &Actor, id: AccountId) -> Result<(), UserError> {
    set_status(ctx, by, id, AccountStatus::Active, "user unlock").await?;
    tracing::info!(account_id = %id, "admin unlocked the account");
    Ok(())
}

/// Deletes the account as its owner could (see [`deletion::delete`]): every session ends
/// (its apps are told), every grant and consent goes, its phone, email, name, password and
/// language are erased; the account ID and `sub` are never reused. Recorded as the operator's
/// command and as `account_deleted`. Deleting a deleted account changes nothing.
pub async fn delete(
    ctx: &Context,
    by: &Actor,
    accounts: &crate::account::Context,
    id: AccountId,
) -> Result<Deleted, UserError> {
    let deleted = deletion::delete(accounts, id, DeletedBy::Operator)
        .await?
        .ok_or(UserError::NotFound(id))?;
    if deleted != Deleted::Already {
        let command = AuditEvent::admin_action("user delete").account(id).by(by);
        ctx.audit.record(command).await;
    }
    Ok(deleted)
}

async fn set_status(
    ctx: &Context,
    by: &Actor,
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
        // `set_status` leaves a deleted account alone: say which it is.
        let found = ctx
            .db
            .run(move |conn| account::find_by_id(conn, id))
            .await?;
        return Err(match found {
            Some(_) => UserError::Deleted(id),
            None => UserError::NotFound(id),
        });
    }
    ctx.audit
        .record(AuditEvent::admin_action(command).account(id).by(by))
        .await;
    Ok(())
}

/// Every session of the account ends and every grant it gave is revoked, through the session
/// area's one end-all function.
async fn end_sessions(
    sessions: &crate::session::Context,
    id: AccountId,
) -> Result<usize, UserError> {
    crate::session::end_all_for_account(sessions, id, EndReason::Admin)
        .await
        .map_err(|e| UserError::Sessions(e.into()))
}
