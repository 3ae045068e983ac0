//! Re-authentication before a sensitive change in the account console (changing the password,
//! a phone number or an email, signing out every other session, deleting the account): the
//! signed-in person proves again who they are, with their password or a six-digit code sent to
//! a contact of the account.
//!
//! Both ways go through the same checks as a sign-in, so a stolen unlocked phone or a
//! session cookie is not a way around them: the password path is [`login::authenticate`] (the
//! per-address cap, the account's lockout, one password check per account in flight); the code
//! path is [`codes::send_bound`] / [`codes::verify_bound`] (every code limit, the code bound to
//! this browser). The caller then signs the browser in again, keeping its OIDC session (see
//! `session::registry::sign_in`): the sign-in is fresh, so the change may go ahead.

use super::{
    Context, ServiceError,
    codes::{self, Binding, BrowserTag, CodeRejected, Delivery, Sent},
    lockout::{self, LockState},
    login::{self, LoginOutcome},
};
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    db::models::account::{self, Account, AccountStatus},
    domain::{
        AccountId, ClientInfo, CodePurpose, ContactIdentifier, LoginIdentifier, Password,
        VerificationCode,
    },
    i18n::Lang,
};

/// How a confirmation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// It is the owner: sign the browser in again with these RFC 8176 methods.
    Yes(&'static [&'static str]),
    WrongPassword,
    WrongCode(CodeRejected),
    /// Locked by failed attempts: the owner unlocks with a code first (the sign-in page's
    /// "Unlock with a code").
    Locked,
    /// An administrator asked for a new password: the password no longer confirms anything
    /// until the owner chooses a new one with a code (`/reset`).
    MustResetPassword,
    /// Disabled by an operator, or deleted: the browser is signed out.
    Gone,
}

/// Which of the account's contacts a confirmation code goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactKind {
    Phone,
    Email,
}

impl ContactKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "phone" => Some(Self::Phone),
            "email" => Some(Self::Email),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Email => "email",
        }
    }

    /// The account's contact of this kind, if it has one.
    pub fn of(self, account: &Account) -> Option<ContactIdentifier> {
        match self {
            Self::Phone => account.phone.clone().map(ContactIdentifier::Phone),
            Self::Email => account.email.clone().map(ContactIdentifier::Email),
        }
    }
}

/// Confirms with the account's password: exactly a password sign-in by account ID, so the same
/// limits and lockout apply, and a wrong password counts toward the lock.
pub async fn with_password(
    ctx: &Context,
    id: AccountId,
    password: Password,
    from: &ClientInfo,
) -> Result<Confirmed, ServiceError> {
    let outcome = login::authenticate(ctx, LoginIdentifier::AccountId(id), password, from).await?;
    let confirmed = match outcome {
        LoginOutcome::SignedIn(account) if account.id == id => Confirmed::Yes(&["pwd"]),
        // An account ID names one account; any other answer is a wrong password.
        LoginOutcome::SignedIn(_) | LoginOutcome::InvalidCredentials => Confirmed::WrongPassword,
        LoginOutcome::Locked => Confirmed::Locked,
        LoginOutcome::Disabled => Confirmed::Gone,
        LoginOutcome::MustResetPassword => Confirmed::MustResetPassword,
    };
    record(ctx, id, &confirmed, "pwd", from).await;
    Ok(confirmed)
}

/// Sends a code for `purpose` (a confirmation here, or the one that confirms a deletion) to the
/// account's own contact of `kind`, bound to this browser, in the account's language (else
/// `lang`, the page's). `None` when the account has no such contact (the pages offer only the
/// ones it has).
pub async fn send_code(
    ctx: &Context,
    purpose: CodePurpose,
    account: &Account,
    kind: ContactKind,
    lang: Lang,
    from: &ClientInfo,
    browser: &BrowserTag,
) -> Result<Option<Sent>, ServiceError> {
    let Some(to) = kind.of(account) else {
        return Ok(None);
    };
    let lang = account.locale.unwrap_or(lang);
    let sent = codes::send_bound(
        ctx,
        purpose,
        &to,
        lang,
        Delivery::Now,
        from,
        Binding::new(browser, Some(account.id)),
    )
    .await?;
    Ok(Some(sent))
}

/// Confirms with the code sent by [`send_code`] to the account's contact of `kind`. A locked
/// account is refused here too: a code proves the contact, and unlocking has its own page.
pub async fn with_code(
    ctx: &Context,
    id: AccountId,
    kind: ContactKind,
    code: &VerificationCode,
    from: &ClientInfo,
    browser: &BrowserTag,
) -> Result<Confirmed, ServiceError> {
    let found = ctx
        .db
        .run(move |conn| account::find_by_id(conn, id))
        .await?;
    let Some(account) =
        found.filter(|a| a.status != AccountStatus::Disabled && a.status != AccountStatus::Deleted)
    else {
        return Ok(Confirmed::Gone);
    };
    let Some(to) = kind.of(&account) else {
        return Ok(Confirmed::WrongCode(CodeRejected::Unusable));
    };
    let checked = codes::verify_bound(
        ctx,
        CodePurpose::Reauth,
        &to,
        code,
        from,
        Binding::new(browser, Some(id)),
    )
    .await?;
    let confirmed = match checked {
        Err(rejected) => Confirmed::WrongCode(rejected),
        Ok(proof) => match lockout::state_of(&account, ctx.clock.now()) {
            LockState::Open => Confirmed::Yes(proof.amr()),
            _ => Confirmed::Locked,
        },
    };
    record(ctx, id, &confirmed, "otp", from).await;
    Ok(confirmed)
}

async fn record(ctx: &Context, id: AccountId, confirmed: &Confirmed, how: &str, from: &ClientInfo) {
    let outcome = match confirmed {
        Confirmed::Yes(_) => Outcome::Ok,
        Confirmed::WrongPassword | Confirmed::WrongCode(_) => Outcome::Failed,
        Confirmed::Locked | Confirmed::MustResetPassword | Confirmed::Gone => Outcome::Refused,
    };
    ctx.audit
        .record(
            AuditEvent::new(AuditKind::Reauthenticated, outcome)
                .account(id)
                .from(from)
                .detail(how),
        )
        .await;
}
