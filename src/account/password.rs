//! Changing the password while signed in (the account console's Password): the current one,
//! then the new one twice. The steps:
//!
//! 1. `check_current`: exactly a password sign-in by account ID ([`login::authenticate`]), so
//!    the per-address cap, the account's lockout and the one check in flight apply, and a
//!    wrong current password counts toward the lock like a wrong sign-in;
//! 2. the new hash is written ([`account::set_password`] stamps `password_changed_at`, which
//!    stops every refresh token and code of an earlier sign-in);
//! 3. every other session of the account ends, its apps told by back-channel logout; the
//!    session that changed it (`keep_sid`) goes on, and its browser is signed in again by the
//!    caller, so it stays usable;
//! 4. audited `password_changed`, and a notice to every contact of the account.
//!
//! An account created without a password ("Continue with your number") has no current one to
//! type: [`set_first`] takes the place of step 1, after the console's re-authentication (a code)
//! proved who is there, and writes the hash only while the account still has none.

use super::{
    Context, ServiceError,
    lockout::{self, LockState},
    login::{self, LoginOutcome},
    notices, on_password_threads,
};
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    db::models::{
        account::{self, Account, AccountStatus},
        session::EndReason,
    },
    domain::{AccountId, ClientInfo, LoginIdentifier, NewPassword, Password},
    notify::Notice,
    session,
};

/// How a password change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChange {
    /// Changed; this many other sessions were signed out.
    Changed { signed_out: usize },
    /// The current password was not right (counted toward the lock).
    WrongPassword,
    /// Locked by failed attempts: nothing was checked.
    Locked,
    /// An administrator asked for a new password chosen with a code (`/reset`): the old one
    /// cannot be used to change it.
    MustResetPassword,
    /// Disabled by an operator, or gone.
    Gone,
    /// [`set_first`] on an account that has a password (set meanwhile, in another tab): the
    /// current one is needed to change it.
    AlreadySet,
}

/// Changes the password of account `id` from `current` to `new`, ending every session of the
/// account but `keep_sid` (the one asking; `None` ends them all).
pub async fn change(
    ctx: &Context,
    id: AccountId,
    current: Password,
    new: NewPassword,
    keep_sid: Option<&str>,
    from: &ClientInfo,
) -> Result<PasswordChange, ServiceError> {
    let account = match check_current(ctx, id, current, from).await? {
        Ok(account) => account,
        Err(refused) => return Ok(refused),
    };
    let hasher = ctx.passwords.clone();
    let hash = on_password_threads(ctx, move || hasher.hash(&new.into_password())).await?;
    let now = ctx.clock.now();
    ctx.db
        .run(move |conn| account::set_password(conn, id, &hash, now))
        .await?;
    changed(ctx, &account, keep_sid, from).await
}

/// Gives account `id`, which has no password, its first one. The caller saw to a recent
/// sign-in (the console's re-authentication); the account must be usable (not disabled, not
/// locked: a lock is lifted by the unlock flow, which may set the password too).
pub async fn set_first(
    ctx: &Context,
    id: AccountId,
    new: NewPassword,
    keep_sid: Option<&str>,
    from: &ClientInfo,
) -> Result<PasswordChange, ServiceError> {
    let Some(account) = ctx
        .db
        .run(move |conn| account::find_by_id(conn, id))
        .await?
    else {
        return Ok(PasswordChange::Gone);
    };
    if matches!(
        account.status,
        AccountStatus::Disabled | AccountStatus::Deleted
    ) {
        return Ok(PasswordChange::Gone);
    }
    if account.password_hash.is_some() {
        return Ok(PasswordChange::AlreadySet);
    }
    if lockout::state_of(&account, ctx.clock.now()) != LockState::Open {
        return Ok(PasswordChange::Locked);
    }
    let hasher = ctx.passwords.clone();
    let hash = on_password_threads(ctx, move || hasher.hash(&new.into_password())).await?;
    let now = ctx.clock.now();
    let first = ctx
        .db
        .run(move |conn| account::set_first_password(conn, id, &hash, now))
        .await?;
    if !first {
        return Ok(PasswordChange::AlreadySet);
    }
    changed(ctx, &account, keep_sid, from).await
}

/// Steps 3 and 4, once the new hash is written.
async fn changed(
    ctx: &Context,
    account: &Account,
    keep_sid: Option<&str>,
    from: &ClientInfo,
) -> Result<PasswordChange, ServiceError> {
    let id = account.id;
    let signed_out =
        session::end_all_for_account_except(&ctx.session, id, keep_sid, EndReason::PasswordReset)
            .await?;
    tracing::info!(account_id = %id, signed_out, "password changed");
    ctx.audit
        .record(
            AuditEvent::new(AuditKind::PasswordChanged, Outcome::Ok)
                .account(id)
                .from(from),
        )
        .await;
    notices::to_account(ctx, account, Notice::PasswordChanged, Vec::new());
    Ok(PasswordChange::Changed { signed_out })
}

/// Step 1: the current password, checked as a sign-in by account ID would check it.
async fn check_current(
    ctx: &Context,
    id: AccountId,
    current: Password,
    from: &ClientInfo,
) -> Result<Result<Account, PasswordChange>, ServiceError> {
    let outcome = login::authenticate(ctx, LoginIdentifier::AccountId(id), current, from).await?;
    Ok(match outcome {
        LoginOutcome::SignedIn(account) if account.id == id => Ok(*account),
        // An account ID names one account; any other answer is a wrong password.
        LoginOutcome::SignedIn(_) | LoginOutcome::InvalidCredentials => {
            Err(PasswordChange::WrongPassword)
        }
        LoginOutcome::Locked => Err(PasswordChange::Locked),
        LoginOutcome::Disabled => Err(PasswordChange::Gone),
        LoginOutcome::MustResetPassword => Err(PasswordChange::MustResetPassword),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        account::{create_account, testing},
        config::Settings,
        db::models::session as session_rows,
        domain::{ContactIdentifier, DisplayName, Region},
    };

    fn password(p: &str) -> Password {
        Password::parse(p.to_owned()).unwrap()
    }

    #[tokio::test]
    async fn the_right_current_password_changes_it_and_ends_the_other_sessions_only() {
        let t = testing::context(&Settings::default()).await;
        let (ctx, who) = (&t.ctx, testing::nobody());
        let to = ContactIdentifier::parse("asha@example.com", Region::default()).unwrap();
        let name = DisplayName::parse("Asha").unwrap();
        let account = create_account(ctx, to, name, password("old horse battery"))
            .await
            .unwrap()
            .unwrap();
        let (id, now) = (account.id, ctx.clock.now());
        for sid in ["sid-here", "sid-elsewhere"] {
            ctx.db
                .run(move |conn| {
                    session_rows::record(conn, sid, id, now, now + chrono::Duration::days(1))
                })
                .await
                .unwrap();
        }
        let new = || NewPassword::parse("new horse battery".into(), "new horse battery").unwrap();

        let wrong = change(
            ctx,
            id,
            password("not it at all"),
            new(),
            Some("sid-here"),
            &who,
        );
        assert_eq!(wrong.await.unwrap(), PasswordChange::WrongPassword);
        let right = change(
            ctx,
            id,
            password("old horse battery"),
            new(),
            Some("sid-here"),
            &who,
        );
        assert_eq!(
            right.await.unwrap(),
            PasswordChange::Changed { signed_out: 1 }
        );
        let ended = |sid: &'static str| ctx.db.run(move |conn| session_rows::has_ended(conn, sid));
        assert!(ended("sid-elsewhere").await.unwrap());
        assert!(!ended("sid-here").await.unwrap(), "this session goes on");
        let stored = ctx.db.run(move |conn| account::find_by_id(conn, id));
        let stored = stored.await.unwrap().unwrap();
        assert!(ctx.passwords.verify(
            &password("new horse battery"),
            stored.password_hash.as_ref()
        ));
    }
}
