//! Account logic: verification codes, sign-up, sign-in. Takes typed values, never HTTP types.

pub mod codes;
pub mod limits;
pub mod lockout;
pub mod login;
pub mod password_pool;
pub mod recovery;
pub mod signup;

use crate::{
    db::{
        DbError,
        models::account::{self, Account, CreateError, NewAccount},
    },
    domain::{ContactIdentifier, DisplayName, Password},
    notify::NotifyError,
    state::AppState,
    store::StoreError,
};

/// What can go wrong below the account logic, as opposed to what a person did wrong.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Notify(#[from] NotifyError),
    #[error("background task failed: {0}")]
    Task(String),
    /// Too busy to take the request now: the password queue is full, or the account's password
    /// check in flight did not finish in time. Answered 503 with `Retry-After`.
    #[error("busy: {0}")]
    Busy(&'static str),
    /// An abuse limit refused the request (see [`limits`]).
    #[error("refused by the {} limit", .0.limit.as_str())]
    Limited(limits::Refused),
}

impl From<crate::oauth::backchannel::BackchannelError> for ServiceError {
    fn from(e: crate::oauth::backchannel::BackchannelError) -> Self {
        match e {
            crate::oauth::backchannel::BackchannelError::Db(e) => Self::Db(e),
            other => Self::Task(other.to_string()),
        }
    }
}

/// Runs password hashing or verification on the password threads (see [`password_pool`]).
async fn on_password_threads<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ServiceError> {
    state.password_pool.run(work).await.map_err(|e| match e {
        password_pool::PoolError::Full => ServiceError::Busy("the password queue is full"),
        password_pool::PoolError::Gone => ServiceError::Task(e.to_string()),
    })
}

/// Creates a verified account: the contact was proven by a code, or vouched for by an operator.
pub async fn create_account(
    state: &AppState,
    contact: ContactIdentifier,
    display_name: DisplayName,
    password: Password,
) -> Result<Result<Account, CreateError>, ServiceError> {
    let hasher = state.passwords.clone();
    let password_hash = on_password_threads(state, move || hasher.hash(&password)).await?;
    let (phone, email) = match contact {
        ContactIdentifier::Phone(p) => (Some(p), None),
        ContactIdentifier::Email(e) => (None, Some(e)),
    };
    let new = NewAccount {
        phone,
        email,
        display_name,
        password_hash,
    };
    let now = state.clock.now();
    let created = state
        .db
        .run(move |conn| Ok(account::create(conn, &new, now)))
        .await?;
    match created {
        Err(CreateError::Db(e)) => Err(e.into()),
        other => Ok(other),
    }
}
