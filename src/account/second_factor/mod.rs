//! The second factor: what an account has besides its password or codes ([`methods`]), and
//! the check at sign-in (or step-up) of what the person typed ([`check`]): a code from their
//! authenticator app ([`totp`]) or one of their recovery codes ([`recovery_codes`]). Browsers
//! remembered for the second factor are in [`remembered`].
//!
//! A code sent to the phone or mailbox never counts as a second factor: it proves the same
//! contact that already signs in and resets the password, so it adds nothing.
//!
//! Wrong answers count toward the account's lockout (`account::lockout`): each attempt is
//! reserved on the account row before the code is checked, exactly as a password attempt is,
//! so someone holding the password cannot try every code; the lock ends as lockout's locks
//! do (after a while, or with an unlock code), so it never shuts the owner out for good. Each
//! pending step also allows only `second_factor.tries_per_step` tries, counted atomically in
//! the store, after which the person signs in again.

pub mod recovery_codes;
pub mod remembered;
pub mod totp;

use std::time::Duration as StdDuration;

use super::{
    Context, ServiceError,
    lockout::{self, LockState},
    notices,
};
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    db::{
        DbError,
        models::{
            account::{self, AccountStatus},
            passkey, second_factor as rows,
        },
    },
    domain::{AccountId, Acr, ClientInfo, DeviceDigest, RecoveryCode, TotpCode},
};

/// The RFC 8176 methods a passed second factor adds to the sign-in's `amr`: `otp` (a one-time
/// code: an authenticator app's, or a recovery code, for which RFC 8176 has no value of its
/// own; the audit log says which) and `mfa`.
pub const SECOND_FACTOR_AMR: [&str; 2] = ["otp", "mfa"];

/// The second factors an account has. A recovery code is a way back in when the others are
/// lost, not a method of its own: an account with recovery codes only is not asked for a
/// second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Methods {
    /// A confirmed authenticator app.
    pub authenticator_app: bool,
    /// Registered passkeys.
    pub passkeys: i64,
    /// Unused recovery codes.
    pub recovery_codes_left: i64,
}

impl Methods {
    /// The account has a second factor: a sign-in asks for it (unless the browser is
    /// remembered), and a step-up can.
    pub fn any(&self) -> bool {
        self.authenticator_app || self.passkeys > 0
    }

    /// A step-up to `need` can succeed: any second factor gives `2fa`; only a passkey gives
    /// `phr` (see [`Acr::of_amr`]).
    pub fn reaches(&self, need: Acr) -> bool {
        match need {
            Acr::OneFactor => true,
            Acr::TwoFactor => self.any(),
            Acr::PhishingResistant => self.passkeys > 0,
        }
    }
}

/// What second factors `account` has. The one place that decides whether a sign-in asks.
pub async fn methods(ctx: &Context, account: AccountId) -> Result<Methods, DbError> {
    ctx.db
        .run(move |conn| {
            let totp = rows::find_totp(conn, account)?;
            Ok(Methods {
                authenticator_app: totp.as_ref().is_some_and(rows::TotpRow::is_confirmed),
                passkeys: passkey::count_for_account(conn, account)?,
                recovery_codes_left: rows::remaining_recovery_codes(conn, account)?,
            })
        })
        .await
}

/// Whether a sign-in of `account` in the browser whose device digest is `device` must pass
/// the second factor: the account has one, and the browser is not remembered for it. A
/// remembered browser's sign-in is complete with its first factor, so it ends the run of
/// failures as a sign-in of an account without a second factor does (the first factor left it
/// running, see [`lockout::first_factor_succeeded`]).
pub async fn is_asked(
    ctx: &Context,
    account: AccountId,
    device: &DeviceDigest,
) -> Result<bool, DbError> {
    if !methods(ctx, account).await?.any() {
        return Ok(false);
    }
    if remembered::is_remembered(ctx, account, device).await? {
        lockout::succeeded(ctx, account).await?;
        return Ok(false);
    }
    Ok(true)
}

/// What the person typed at the second-factor step.
#[derive(Debug, Clone)]
pub enum Answer {
    Totp(TotpCode),
    RecoveryCode(RecoveryCode),
}

impl Answer {
    /// The audit log's name of the method.
    fn label(&self) -> &'static str {
        match self {
            Self::Totp(_) => "totp",
            Self::RecoveryCode(_) => "recovery_code",
        }
    }
}

/// How the check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// It is the owner: sign in with the first factor's methods and [`SECOND_FACTOR_AMR`].
    Passed,
    /// Wrong, already used (a replayed code, a used recovery code), or not this account's.
    Wrong,
    /// This step allowed no more tries: the person signs in again.
    TooManyTries,
    /// The account is locked by failed attempts: unlock with a code first.
    Locked,
    /// Disabled by an operator, or deleted: nothing to sign in to.
    Gone,
}

/// Checks the second factor of `account` for the pending step `step_id`, in order:
/// [`check_step_tries`], [`load_open_account`], the lockout reservation, then the answer
/// itself; a wrong one applies what lockout says, a right one ends the run of failures.
/// Audited either way; a recovery code used also tells the owner.
pub async fn check(
    ctx: &Context,
    account: AccountId,
    step_id: &str,
    answer: &Answer,
    from: &ClientInfo,
) -> Result<Checked, ServiceError> {
    let checked = check_answer(ctx, account, step_id, answer).await?;
    let outcome = match checked {
        Checked::Passed => Outcome::Ok,
        Checked::Wrong => Outcome::Failed,
        Checked::TooManyTries | Checked::Locked | Checked::Gone => Outcome::Refused,
    };
    ctx.audit
        .record(
            AuditEvent::new(AuditKind::SecondFactor, outcome)
                .account(account)
                .from(from)
                .detail(answer.label()),
        )
        .await;
    if checked == Checked::Passed && matches!(answer, Answer::RecoveryCode(_)) {
        ctx.audit
            .record(
                AuditEvent::new(AuditKind::RecoveryCodeUsed, Outcome::Ok)
                    .account(account)
                    .from(from),
            )
            .await;
        if let Err(e) = notices::recovery_code_used(ctx, account).await {
            tracing::warn!(account_id = %account, error = %e, "recovery-code notice not sent");
        }
    }
    Ok(checked)
}

async fn check_answer(
    ctx: &Context,
    account: AccountId,
    step_id: &str,
    answer: &Answer,
) -> Result<Checked, ServiceError> {
    if !check_step_tries(ctx, step_id).await? {
        return Ok(Checked::TooManyTries);
    }
    if !load_open_account(ctx, account).await? {
        return Ok(Checked::Gone);
    }
    // Reserved before the code is checked (counted as a failure, cleared by a success), so
    // concurrent guesses each get their own number and none slips past a lock.
    let Some(failures) = lockout::reserve(ctx, account).await? else {
        return Ok(Checked::Locked);
    };
    let right = match answer {
        Answer::Totp(code) => totp::accept(ctx, account, code).await?,
        Answer::RecoveryCode(code) => recovery_codes::use_code(ctx, account, code).await?,
    };
    if right {
        lockout::succeeded(ctx, account).await?;
        return Ok(Checked::Passed);
    }
    Ok(match lockout::failed(ctx, account, failures).await? {
        LockState::Open => Checked::Wrong,
        LockState::LockedFor(_) | LockState::Locked => Checked::Locked,
    })
}

/// Each pending step allows `second_factor.tries_per_step` tries, counted with one atomic
/// increment per try before anything is checked, so parallel guesses get no more.
async fn check_step_tries(ctx: &Context, step_id: &str) -> Result<bool, ServiceError> {
    let rules = &ctx.settings.second_factor;
    let ttl = StdDuration::from_secs(rules.pending_secs.unsigned_abs());
    let tries = ctx
        .store
        .increment(&format!("second-factor-tries:{step_id}"), ttl)
        .await?;
    Ok(tries <= rules.tries_per_step)
}

/// The account still exists and is not disabled (a lock is lockout's to answer).
async fn load_open_account(ctx: &Context, id: AccountId) -> Result<bool, DbError> {
    let found = ctx
        .db
        .run(move |conn| account::find_by_id(conn, id))
        .await?;
    Ok(found
        .is_some_and(|a| a.status != AccountStatus::Disabled && a.status != AccountStatus::Deleted))
}

/// After a second factor was removed (the authenticator app here; a passkey, by the lead's
/// passkey removal): every remembered browser is forgotten, since the removal may be the
/// owner's answer to a lost phone or a stolen laptop, and a remembered browser is exactly the
/// trust that outlives it; and when no second factor is left, the recovery codes go too (they
/// back up a second factor, and a new first one issues a fresh set).
pub async fn method_removed(
    ctx: &Context,
    account: AccountId,
    from: &ClientInfo,
) -> Result<(), ServiceError> {
    crate::session::devices::forget_all_remembered(
        &ctx.session,
        account,
        "second factor removed",
        Some(from),
    )
    .await?;
    if !methods(ctx, account).await?.any() {
        ctx.db
            .run(move |conn| rows::delete_recovery_codes(conn, account))
            .await?;
    }
    Ok(())
}
