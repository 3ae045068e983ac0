//! Sign-in with a password.

use super::{ServiceError, blocking};
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
    /// The password was right but the account may not sign in. Said only after the password
    /// proved who is asking.
    Unavailable(AccountStatus),
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

    let hasher = state.passwords.clone();
    let matched = blocking(move || {
        if candidates.is_empty() {
            hasher.verify(&password, None);
            return None;
        }
        candidates
            .into_iter()
            .find(|account| hasher.verify(&password, Some(&account.password_hash)))
    })
    .await?;

    Ok(match matched {
        None => LoginOutcome::InvalidCredentials,
        Some(account) if account.status == AccountStatus::Active => {
            LoginOutcome::SignedIn(Box::new(account))
        }
        Some(account) => LoginOutcome::Unavailable(account.status),
    })
}
