//! Sign-in with a password.

use super::{
    ServiceError, blocking,
    lockout::{self, LockState},
};
use crate::{
    db::models::account::{self, Account, AccountStatus},
    domain::{LoginIdentifier, Password},
    state::AppState,
};

#[derive(Debug)]
pub enum LoginOutcome {
    SignedIn(Box<Account>),
    /// No such account, or the wrong password: deliberately indistinguishable.
    InvalidCredentials,
    /// Locked after too many failures (for a while, or until unlocked). Said whatever the
    /// password was, so a lock never tells whether it was right; the account may be unlocked
    /// with a code.
    Locked,
    /// The password was right but an operator disabled the account. Said only after the
    /// password proved who is asking.
    Disabled,
}

/// Finds the account(s) the identifier may name and checks the password. Always runs exactly
/// one argon2 verification per candidate, and one against a dummy hash when there is none, so
/// "no such account" costs the same time as "wrong password".
pub async fn authenticate(
    state: &AppState,
    identifier: LoginIdentifier,
    password: Password,
) -> Result<LoginOutcome, ServiceError> {
    let candidates = state
        .db
        .run(move |conn| {
            let mut found = Vec::with_capacity(2);
            match &identifier {
                LoginIdentifier::Email(email) => found.extend(account::find_by_email(conn, email)?),
                LoginIdentifier::Phone(phone) => found.extend(account::find_by_phone(conn, phone)?),
                LoginIdentifier::AccountId(id) => found.extend(account::find_by_id(conn, *id)?),
                LoginIdentifier::PhoneOrAccountId(phone, id) => {
                    found.extend(account::find_by_phone(conn, phone)?);
                    found.extend(
                        account::find_by_id(conn, *id)?
                            .filter(|a| found.iter().all(|f| f.id != a.id)),
                    );
                }
            }
            Ok(found)
        })
        .await?;

    // A locked account's password is not checked (its hash is not even compared), but a
    // dummy hash is, so a locked account costs the same time as any other.
    let now = state.clock.now();
    let (open, locked): (Vec<_>, Vec<_>) = candidates
        .into_iter()
        .partition(|a| lockout::state_of(a, now) == LockState::Open);
    let any_locked = !locked.is_empty();
    let hasher = state.passwords.clone();
    let (matched, tried) = blocking(move || {
        for _ in &locked {
            hasher.verify(&password, None);
        }
        if open.is_empty() && !any_locked {
            hasher.verify(&password, None);
        }
        let tried: Vec<_> = open.iter().map(|a| a.id).collect();
        let matched = open
            .into_iter()
            .find(|account| hasher.verify(&password, Some(&account.password_hash)));
        (matched, tried)
    })
    .await?;

    if let Some(account) = matched {
        lockout::succeeded(state, account.id).await?;
        return Ok(if account.status == AccountStatus::Disabled {
            LoginOutcome::Disabled
        } else {
            LoginOutcome::SignedIn(Box::new(account))
        });
    }
    let mut now_locked = any_locked;
    for id in tried {
        now_locked |= lockout::failed(state, id).await? != LockState::Open;
    }
    Ok(if now_locked {
        LoginOutcome::Locked
    } else {
        LoginOutcome::InvalidCredentials
    })
}
