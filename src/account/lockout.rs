//! Locking an account after a run of failed password sign-ins. The count lives on the account
//! row (durable, shared by every instance); each `max_failures`-th failure locks the account for
//! a while, doubling each time; `lock_forever_after` failures lock it until it is unlocked with
//! a code or by an operator. A success ends the run.

use chrono::{DateTime, Duration, Utc};

use crate::{
    audit::{self, AuditEvent, AuditKind, Outcome},
    config::LockoutSettings,
    db::{
        DbError,
        models::account::{self, Account, AccountStatus},
    },
    domain::AccountId,
    state::AppState,
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
enum Step {
    Nothing,
    LockFor(Duration),
    LockForGood,
}

fn schedule(rules: &LockoutSettings, failures: i32) -> Step {
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

/// Counts a failed sign-in; returns the lock it caused, if any.
pub async fn failed(state: &AppState, id: AccountId) -> Result<LockState, DbError> {
    let now = state.clock.now();
    let rules = state.settings.lockout.clone();
    let lock = state
        .db
        .run(move |conn| {
            let failures = account::count_failed_login(
                conn,
                id,
                now,
                Duration::seconds(rules.window_secs),
            )?;
            Ok(match schedule(&rules, failures) {
                Step::Nothing => LockState::Open,
                Step::LockForGood => {
                    account::set_status(conn, id, AccountStatus::Locked, now)?;
                    tracing::warn!(account_id = %id, failures, "account locked until unlocked");
                    LockState::Locked
                }
                Step::LockFor(duration) => {
                    let until = now + duration;
                    account::lock_until(conn, id, until)?;
                    tracing::info!(account_id = %id, failures, %until, "account locked for a while");
                    LockState::LockedFor(until)
                }
            })
        })
        .await?;
    let detail = match lock {
        LockState::Open => return Ok(lock),
        LockState::LockedFor(until) => format!("until {}", until.to_rfc3339()),
        LockState::Locked => "until unlocked".to_owned(),
    };
    audit::record(
        state,
        AuditEvent::new(AuditKind::Locked, Outcome::Ok)
            .account(id)
            .detail(detail),
    )
    .await;
    Ok(lock)
}

/// A successful sign-in ends the run of failures.
pub async fn succeeded(state: &AppState, id: AccountId) -> Result<(), DbError> {
    state
        .db
        .run(move |conn| account::clear_failed_logins(conn, id))
        .await
}

/// Unlocks the account (a code proved who asks, or an operator decided). True when it exists.
pub async fn unlock(state: &AppState, id: AccountId) -> Result<bool, DbError> {
    let now = state.clock.now();
    state
        .db
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
