//! Locking an account after a run of failed password sign-ins. The count lives on the account
//! row (durable, shared by every instance); each `max_failures`-th failure locks the account for
//! a while, doubling each time; `lock_forever_after` failures lock it until it is unlocked with
//! a code or by an operator (and the owner is told, with how to unlock). A success ends the run.
//!
//! Every attempt is reserved on the row before its password is checked (counted as a failure
//! then, cleared by a success), so concurrent attempts on any instance each get their own
//! number and none gets past a lock that an earlier one is about to cause; [`super::login`]
//! also keeps at most one check per account in flight.

use chrono::{DateTime, Duration, Utc};

use super::Context;
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    config::LockoutSettings,
    db::{
        DbError,
        models::account::{self, Account, AccountStatus},
    },
    domain::AccountId,
    notify::Notice,
};

/// Whether an account may try a password now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockState {
    Open,
    /// Until this instant.
    LockedFor(DateTime<Utc>),
    /// Until it is unlocked.
    Locked,
}

pub fn state_of(account: &Account, now: DateTime<Utc>) -> LockState {
    match (account.status, account.locked_until) {
        (AccountStatus::Locked, _) => LockState::Locked,
        (_, Some(until)) if until > now => LockState::LockedFor(until),
        _ => LockState::Open,
    }
}

/// What the `failures`-th failure in a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Nothing,
    LockFor(Duration),
    LockForGood,
}

pub(super) fn schedule(rules: &LockoutSettings, failures: i32) -> Step {
    if failures >= rules.lock_forever_after {
        return Step::LockForGood;
    }
    if failures % rules.max_failures != 0 {
        return Step::Nothing;
    }
    // 1st lock: first_lock_secs; each next doubles, capped (the shift is capped so it cannot
    // overflow whatever the settings).
    let nth = (failures / rules.max_failures - 1).clamp(0, 30) as u32;
    let secs = rules
        .first_lock_secs
        .saturating_mul(1i64 << nth)
        .min(rules.max_lock_secs);
    Step::LockFor(Duration::seconds(secs))
}

/// Reserves a password attempt on the account before its password is checked (see
/// [`account::reserve_login_attempt`]): the attempt's number in the run, or `None` when the
/// account is locked and no password may be checked.
pub async fn reserve(ctx: &Context, id: AccountId) -> Result<Option<i32>, DbError> {
    let now = ctx.clock.now();
    let window = Duration::seconds(ctx.settings.lockout.window_secs);
    ctx.db
        .run(move |conn| account::reserve_login_attempt(conn, id, now, window))
        .await
}

/// The reserved attempt number `failures` turned out wrong: applies the lock it causes, if
/// any, and returns it. A lock for good sends the owner a notice (see [`notify_locked`]).
pub async fn failed(ctx: &Context, id: AccountId, failures: i32) -> Result<LockState, DbError> {
    let now = ctx.clock.now();
    let step = schedule(&ctx.settings.lockout, failures);
    let lock = ctx
        .db
        .run(move |conn| {
            Ok(match step {
                Step::Nothing => (LockState::Open, None),
                Step::LockForGood => {
                    let was = account::find_by_id(conn, id)?;
                    account::set_status(conn, id, AccountStatus::Locked, now)?;
                    tracing::warn!(account_id = %id, failures, "account locked until unlocked");
                    // Only the change to "locked" tells the owner, not every later failure.
                    let newly = was.filter(|a| a.status == AccountStatus::Active);
                    (LockState::Locked, newly)
                }
                Step::LockFor(duration) => {
                    let until = now + duration;
                    account::lock_until(conn, id, until)?;
                    tracing::info!(account_id = %id, failures, %until, "account locked for a while");
                    (LockState::LockedFor(until), None)
                }
            })
        })
        .await?;
    let (lock, newly_locked) = lock;
    let detail = match lock {
        LockState::Open => return Ok(lock),
        LockState::LockedFor(until) => format!("until {}", until.to_rfc3339()),
        LockState::Locked => "until unlocked".to_owned(),
    };
    ctx.audit
        .record(
            AuditEvent::new(AuditKind::Locked, Outcome::Ok)
                .account(id)
                .detail(detail),
        )
        .await;
    if let Some(account) = newly_locked {
        notify_locked(ctx, &account);
    }
    Ok(lock)
}

/// Tells the owner, at every contact of the account, that it is locked until unlocked and how
/// to unlock it: the notice names the page to open (see [`super::notices`]). Sent after
/// answering, so the answer takes the same time whether or not an account was locked.
fn notify_locked(ctx: &Context, account: &Account) {
    super::notices::to_account(ctx, account, Notice::Locked, Vec::new());
}

/// A successful sign-in ends the run of failures.
pub async fn succeeded(ctx: &Context, id: AccountId) -> Result<(), DbError> {
    ctx.db
        .run(move |conn| account::clear_failed_logins(conn, id))
        .await
}

/// A first factor (a password, a code) passed. For an account without a second factor that is
/// the sign-in, and the run of failures ends. For one with a second factor the run goes on
/// until the second factor passes too (see `second_factor::check`, which counts its wrong
/// codes in the same run): otherwise whoever holds the password could clear the count by
/// signing in again between guesses at the code.
pub async fn first_factor_succeeded(ctx: &Context, id: AccountId) -> Result<(), DbError> {
    if super::second_factor::methods(ctx, id).await?.any() {
        return Ok(());
    }
    succeeded(ctx, id).await
}

/// Unlocks the account (a code proved who asks, or an operator decided). True when it exists.
pub async fn unlock(ctx: &Context, id: AccountId) -> Result<bool, DbError> {
    let now = ctx.clock.now();
    ctx.db
        .run(move |conn| account::set_status(conn, id, AccountStatus::Active, now))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> LockoutSettings {
        crate::config::Settings::default().lockout
    }

    fn lock_secs(rules: &LockoutSettings, failures: i32) -> Option<i64> {
        match schedule(rules, failures) {
            Step::LockFor(d) => Some(d.num_seconds()),
            _ => None,
        }
    }

    #[test]
    fn every_tenth_failure_locks_for_twice_as_long_and_the_thirtieth_for_good() {
        let rules = rules();
        assert_eq!(lock_secs(&rules, 9), None);
        assert_eq!(lock_secs(&rules, 10), Some(60));
        assert_eq!(lock_secs(&rules, 11), None);
        assert_eq!(lock_secs(&rules, 20), Some(120));
        assert_eq!(schedule(&rules, 30), Step::LockForGood);
        assert_eq!(schedule(&rules, 31), Step::LockForGood);
    }

    #[test]
    fn temporary_locks_are_capped() {
        let rules = LockoutSettings {
            lock_forever_after: 10_000,
            ..rules()
        };
        assert_eq!(
            lock_secs(&rules, 70),
            Some(3600),
            "1 min doubling reaches the 1 h cap at the 7th lock"
        );
        assert_eq!(
            lock_secs(&rules, 9_990),
            Some(3600),
            "and no overflow however long the run"
        );
    }
}
