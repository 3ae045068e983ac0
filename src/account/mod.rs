//! Account logic: verification codes and the bot check before one goes to a typed contact,
//! sign-up, sign-in, recovery and locks, and the account console's changes (contacts,
//! password, deletion, re-authentication, notices). Takes a [`Context`] and typed values,
//! never HTTP types nor the whole application.

pub mod apps;
pub mod botcheck;
pub mod codes;
pub mod contacts;
pub mod continue_with;
pub mod deletion;
pub mod limits;
pub mod lockout;
pub mod login;
pub mod notices;
pub mod passkeys;
pub mod password;
pub mod password_pool;
pub mod profile;
pub mod reauth;
pub mod recovery;
pub mod second_factor;
pub mod signup;
#[cfg(test)]
pub(crate) mod testing;

use std::sync::Arc;

use crate::{
    audit::Audit,
    clock::Clock,
    config::{
        BotCheckSettings, CodeSettings, LimitSettings, LockoutSettings, SecondFactorSettings,
        Settings,
    },
    db::{
        Db, DbError,
        models::account::{self, Account, CreateError, NewAccount},
    },
    domain::{CodeMacKey, ContactIdentifier, DisplayName, Password, PasswordHasher},
    notify::{Notifier, NotifyError},
    oidc::keys::{KeyEncryptionKey, SealPurpose, SecretSealer},
    session::EndError,
    store::{EphemeralStore, StoreError},
};

/// What account logic works with: the rows, the short-lived state (codes, counters, leases),
/// the time, the messages, the password threads, its settings sections and server keys, the
/// audit log, and the sessions a reset or an operator ends. Built once by the application;
/// cheap to clone (every field is a handle).
#[derive(Clone)]
pub struct Context {
    pub db: Db,
    pub store: Arc<dyn EphemeralStore>,
    pub clock: Arc<dyn Clock>,
    pub notifier: Notifier,
    pub passwords: PasswordHasher,
    pub password_pool: password_pool::PasswordPool,
    pub settings: Arc<AccountSettings>,
    pub keys: AccountKeys,
    pub audit: Audit,
    pub session: crate::session::Context,
    /// The WebAuthn relying party (the issuer); `None` when the issuer's host cannot be one
    /// (an IP address), and then no page offers passkeys.
    pub passkeys: Option<Arc<passkeys::RelyingParty>>,
}

/// The settings sections account logic reads.
#[derive(Debug, Clone)]
pub struct AccountSettings {
    pub codes: CodeSettings,
    pub limits: LimitSettings,
    pub lockout: LockoutSettings,
    pub bot_check: BotCheckSettings,
    pub second_factor: SecondFactorSettings,
    /// The host the lock notice names (the issuer's), so the owner knows which site to open.
    pub notice_host: String,
}

impl AccountSettings {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            codes: settings.codes.clone(),
            limits: settings.limits.clone(),
            lockout: settings.lockout.clone(),
            bot_check: settings.bot_check.clone(),
            second_factor: settings.second_factor.clone(),
            notice_host: settings.issuer.host_str().unwrap_or("localhost").to_owned(),
        }
    }

    /// How long a verification code stays good.
    pub fn code_ttl(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.codes.ttl_secs)
    }
}

/// The server keys account logic MACs under, derived from the key encryption key (so none is
/// a second secret to back up). `Debug` is not implemented: they are secrets.
#[derive(Clone)]
pub struct AccountKeys {
    /// Verification codes are stored as an HMAC under this key (see [`codes`]).
    pub code_mac: CodeMacKey,
    /// Identifiers without an account are named in the store by an HMAC under this key (see
    /// [`login`]).
    pub unknown_identifier: [u8; 32],
    /// Bot-check challenges and wait tickets are signed under this key (see [`botcheck`]).
    pub bot_check: botcheck::BotCheckKey,
    /// Authenticator-app secrets are sealed at rest with this (see [`second_factor::totp`]).
    pub totp_seal: SecretSealer,
    /// Recovery codes are stored as an HMAC under this key (see
    /// [`second_factor::recovery_codes`]).
    pub recovery_code: [u8; 32],
    /// Remembered browsers are named by an HMAC under this key (see
    /// [`second_factor::remembered`]).
    pub remembered_browser: [u8; 32],
    /// Passkeys' WebAuthn user handles are an HMAC of the account ID under this key (see
    /// [`passkeys::user_handle`]).
    pub passkey_user_handle: [u8; 32],
    /// Decoy credential IDs for identifiers without a passkey are derived under this key (see
    /// [`passkeys::start_sign_in`]).
    pub passkey_decoys: [u8; 32],
}

impl AccountKeys {
    pub fn derive(kek: &KeyEncryptionKey) -> Self {
        Self {
            code_mac: kek.code_mac_key().clone(),
            unknown_identifier: kek.derive(login::UNKNOWN_KEY_PURPOSE),
            bot_check: botcheck::BotCheckKey::derive(kek),
            totp_seal: kek.sealer(SealPurpose::TotpSecret),
            recovery_code: kek.derive(second_factor::recovery_codes::KEY_PURPOSE),
            remembered_browser: kek.derive(second_factor::remembered::KEY_PURPOSE),
            passkey_user_handle: kek.derive(passkeys::USER_HANDLE_KEY_PURPOSE),
            passkey_decoys: kek.derive(passkeys::DECOY_KEY_PURPOSE),
        }
    }
}

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
    /// Codes do not go to this phone number (see [`limits::phone_allowed`]): the person typed
    /// a number to fix, so the page says why.
    #[error(transparent)]
    PhoneRefused(limits::PhoneRefused),
}

impl From<EndError> for ServiceError {
    fn from(e: EndError) -> Self {
        match e {
            EndError::Db(e) => Self::Db(e),
            other => Self::Task(other.to_string()),
        }
    }
}

/// Runs password hashing or verification on the password threads (see [`password_pool`]).
async fn on_password_threads<T: Send + 'static>(
    ctx: &Context,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ServiceError> {
    ctx.password_pool.run(work).await.map_err(|e| match e {
        password_pool::PoolError::Full => ServiceError::Busy("the password queue is full"),
        password_pool::PoolError::Gone => ServiceError::Task(e.to_string()),
    })
}

/// Creates a verified account: the contact was proven by a code, or vouched for by an operator.
pub async fn create_account(
    ctx: &Context,
    contact: ContactIdentifier,
    display_name: DisplayName,
    password: Password,
) -> Result<Result<Account, CreateError>, ServiceError> {
    create_verified_account(ctx, contact, display_name, Some(password)).await
}

/// [`create_account`], the password optional: "Continue with your number" creates accounts
/// that sign in with codes until their owner chooses one.
pub async fn create_verified_account(
    ctx: &Context,
    contact: ContactIdentifier,
    display_name: DisplayName,
    password: Option<Password>,
) -> Result<Result<Account, CreateError>, ServiceError> {
    let password_hash = match password {
        Some(password) => {
            let hasher = ctx.passwords.clone();
            Some(on_password_threads(ctx, move || hasher.hash(&password)).await?)
        }
        None => None,
    };
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
    let now = ctx.clock.now();
    let created = ctx
        .db
        .run(move |conn| Ok(account::create(conn, &new, now)))
        .await?;
    match created {
        Err(CreateError::Db(e)) => Err(e.into()),
        other => Ok(other),
    }
}
