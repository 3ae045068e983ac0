//! Sign-in with a password.

use super::{
    ServiceError, codes, limits,
    lockout::{self, LockState},
    on_password_threads,
};
use crate::{
    audit::{self, AuditEvent, AuditKind, Outcome},
    db::models::account::{self, Account, AccountStatus},
    domain::{AccountId, ClientInfo, LoginIdentifier, Password},
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
    client: &ClientInfo,
) -> Result<LoginOutcome, ServiceError> {
    // Password guessing from one address is capped across accounts, before any work.
    if let Err(refused) = limits::sign_in_attempt(
        state.store.as_ref(),
        &state.settings.limits,
        state.clock.now(),
        client.ip,
    )
    .await?
    {
        return Err(codes::limit_tripped(state, refused, client).await);
    }
    let outcome = check(state, identifier, password).await?;
    let event = |kind, outcome, id: Option<AccountId>| {
        let event = AuditEvent::new(kind, outcome).from(client);
        match id {
            Some(id) => event.account(id),
            None => event,
        }
    };
    let recorded = match &outcome {
        Checked::SignedIn(account) => event(AuditKind::LoginOk, Outcome::Ok, Some(account.id)),
        Checked::Disabled(id) => {
            event(AuditKind::LoginFailed, Outcome::Refused, Some(*id)).detail("disabled")
        }
        Checked::Locked(ids) => event(
            AuditKind::LoginFailed,
            Outcome::Refused,
            ids.first().copied(),
        )
        .detail("locked"),
        Checked::Invalid(ids) => event(
            AuditKind::LoginFailed,
            Outcome::Failed,
            ids.first().copied(),
        ),
    };
    audit::record(state, recorded).await;
    Ok(match outcome {
        Checked::SignedIn(account) => LoginOutcome::SignedIn(account),
        Checked::Disabled(_) => LoginOutcome::Disabled,
        Checked::Locked(_) => LoginOutcome::Locked,
        Checked::Invalid(_) => LoginOutcome::InvalidCredentials,
    })
}

/// The outcome with the accounts it concerns, for the audit log.
enum Checked {
    SignedIn(Box<Account>),
    Disabled(AccountId),
    Locked(Vec<AccountId>),
    Invalid(Vec<AccountId>),
}

async fn check(
    state: &AppState,
    identifier: LoginIdentifier,
    password: Password,
) -> Result<Checked, ServiceError> {
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
    let locked_ids: Vec<_> = locked.iter().map(|a| a.id).collect();
    let hasher = state.passwords.clone();
    let (matched, tried) = on_password_threads(state, move || {
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
            Checked::Disabled(account.id)
        } else {
            Checked::SignedIn(Box::new(account))
        });
    }
    let mut now_locked = locked_ids;
    for id in &tried {
        if lockout::failed(state, *id).await? != LockState::Open {
            now_locked.push(*id);
        }
    }
    Ok(if now_locked.is_empty() {
        Checked::Invalid(tried)
    } else {
        Checked::Locked(now_locked)
    })
}
