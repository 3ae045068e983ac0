//! Three ways in with a code to the account's phone or email: sign-in without the password,
//! password reset, and unlocking a locked account. They share their steps:
//!
//! 1. `request`: a code goes to the typed phone or email. The answer, its timing and every
//!    later step are the same whether or not an account uses that contact (a decoy code is
//!    kept for contacts without one), so these pages cannot tell who has an account.
//! 2. `verify`: the code, within the same limits as every code; then what the purpose does.
//!
//! Each code is bound to the browser that asked for it (see [`codes::BrowserTag`]): a stranger
//! asking for codes to the owner's contact, or typing wrong ones, neither replaces nor uses up
//! the code the owner's browser waits for, and the stranger's wrong codes make only the
//! stranger's address back off (see `limits::code_failed`).
//!
//! The code goes to the contact the person typed, never to one chosen from the account: showing
//! an account's contacts, even masked, before the person proves anything would tell a stranger
//! that the account exists and how to reach its owner.

use super::{
    Context, ServiceError,
    codes::{self, Binding, BrowserTag, CodeRejected, Delivery, Sent},
    lockout::{self, LockState},
    on_password_threads,
};
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    db::models::{
        account::{self, Account, AccountStatus},
        session::EndReason,
    },
    domain::{ClientInfo, CodePurpose, ContactIdentifier, NewPassword, VerificationCode},
    i18n::Lang,
    notify::Channel,
    session,
};

/// Step 1. Sends a code for `purpose` to `to` if an account may use it there (in the account's
/// language when it has one, else `lang`), else keeps a decoy; either way the same answer.
pub async fn request(
    ctx: &Context,
    purpose: CodePurpose,
    to: &ContactIdentifier,
    lang: Lang,
    client: &ClientInfo,
    browser: &BrowserTag,
    prefer: Option<Channel>,
) -> Result<Sent, ServiceError> {
    let account = find(ctx, to).await?;
    // The code goes out in the language the owner chose, if they chose one; the page answers
    // in the browser's either way, so it tells nothing.
    let lang = account.as_ref().and_then(|a| a.locale).unwrap_or(lang);
    let (delivery, owner) = match account {
        Some(a) if a.status != AccountStatus::Disabled => (Delivery::Background, Some(a.id)),
        _ => (Delivery::Decoy, None),
    };
    codes::send_bound(
        ctx,
        purpose,
        to,
        lang,
        delivery,
        client,
        Binding::new(browser, owner).preferring(prefer),
    )
    .await
}

/// What a right code did.
#[derive(Debug)]
pub enum Recovered {
    /// Sign the person in (with these RFC 8176 methods).
    SignIn(Box<Account>, &'static [&'static str]),
    /// Code sign-in on a locked account: it must be unlocked first (which also takes a code).
    Locked,
}

/// What the person typed with the code.
pub enum Completion {
    SignIn,
    Reset(NewPassword),
    /// Unlock, optionally with a new password.
    Unlock(Option<NewPassword>),
}

/// Step 2. The new password (if any) was parsed before this is called, so a typo in it does
/// not spend one of the code's tries.
pub async fn verify(
    ctx: &Context,
    purpose: CodePurpose,
    to: &ContactIdentifier,
    code: &VerificationCode,
    completion: Completion,
    client: &ClientInfo,
    browser: &BrowserTag,
) -> Result<Result<Recovered, CodeRejected>, ServiceError> {
    let proof =
        match codes::verify_bound(ctx, purpose, to, code, client, Binding::new(browser, None))
            .await?
        {
            Ok(proof) => proof,
            Err(rejected) => return Ok(Err(rejected)),
        };
    // A right code exists only for an account (decoys match nothing); it may have been
    // disabled since.
    let Some(account) = find(ctx, to)
        .await?
        .filter(|a| a.status != AccountStatus::Disabled)
    else {
        return Ok(Err(CodeRejected::Unusable));
    };
    let methods = proof.amr();
    let id = account.id;
    let event = |kind, outcome| AuditEvent::new(kind, outcome).account(id).from(client);
    match completion {
        Completion::SignIn => {
            if code_sign_in(ctx, &account, client).await?.is_err() {
                return Ok(Ok(Recovered::Locked));
            }
        }
        Completion::Reset(password) => {
            // A code to the account's own contact proves as much as the password would: the
            // reset also lifts a lock.
            lockout::unlock(ctx, id).await?;
            set_password(ctx, &account, password).await?;
            tracing::info!(account_id = %id, "password reset");
            ctx.audit
                .record(event(AuditKind::PasswordReset, Outcome::Ok))
                .await;
        }
        Completion::Unlock(password) => {
            lockout::unlock(ctx, id).await?;
            tracing::info!(account_id = %id, "account unlocked with a code");
            let changed = password.is_some();
            if let Some(password) = password {
                set_password(ctx, &account, password).await?;
            }
            let detail = if changed {
                "code, new password"
            } else {
                "code"
            };
            ctx.audit
                .record(event(AuditKind::Unlocked, Outcome::Ok).detail(detail))
                .await;
        }
    }
    let account = find(ctx, to).await?.unwrap_or(account);
    Ok(Ok(Recovered::SignIn(Box::new(account), methods)))
}

/// The account is locked: a code signs in only after the unlock flow lifted the lock.
#[derive(Debug)]
pub(super) struct Locked;

/// A right code signs in to `account` (not disabled: the caller checked) unless it is locked:
/// then nothing is changed, since a lock is lifted only by the unlock flow. A sign-in ends the
/// account's run of failures. Audited either way.
pub(super) async fn code_sign_in(
    ctx: &Context,
    account: &Account,
    client: &ClientInfo,
) -> Result<Result<(), Locked>, ServiceError> {
    let event = |kind, outcome| {
        AuditEvent::new(kind, outcome)
            .account(account.id)
            .from(client)
    };
    if lockout::state_of(account, ctx.clock.now()) != LockState::Open {
        let refused = event(AuditKind::LoginFailed, Outcome::Refused).detail("code, locked");
        ctx.audit.record(refused).await;
        return Ok(Err(Locked));
    }
    lockout::first_factor_succeeded(ctx, account.id).await?;
    ctx.audit
        .record(event(AuditKind::LoginOk, Outcome::Ok).detail("code"))
        .await;
    Ok(Ok(()))
}

/// Replaces the password and ends every session and grant of the account: whoever knew the
/// old password is out, and the apps are told (back-channel logout).
async fn set_password(
    ctx: &Context,
    account: &Account,
    password: NewPassword,
) -> Result<(), ServiceError> {
    let hasher = ctx.passwords.clone();
    let hash = on_password_threads(ctx, move || hasher.hash(&password.into_password())).await?;
    let (id, now) = (account.id, ctx.clock.now());
    ctx.db
        .run(move |conn| account::set_password(conn, id, &hash, now))
        .await?;
    session::end_all_for_account(&ctx.session, id, EndReason::PasswordReset).await?;
    // A reset is what someone does who fears the account is in other hands: no browser keeps
    // skipping the second factor.
    session::devices::forget_all_remembered(&ctx.session, id, "password reset", None).await?;
    Ok(())
}

/// The account that uses `to`, if any.
pub(super) async fn find(
    ctx: &Context,
    to: &ContactIdentifier,
) -> Result<Option<Account>, ServiceError> {
    let to = to.clone();
    Ok(ctx
        .db
        .run(move |conn| match &to {
            ContactIdentifier::Phone(phone) => account::find_by_phone(conn, phone),
            ContactIdentifier::Email(email) => account::find_by_email(conn, email),
        })
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        account::{create_account, testing},
        config::Settings,
        db::models::session as session_rows,
        domain::{DisplayName, Password, Region},
    };

    #[tokio::test]
    async fn a_reset_sets_the_password_and_ends_every_session_of_the_account() {
        let t = testing::context(&Settings::default()).await;
        let (ctx, who) = (&t.ctx, testing::nobody());
        let to = ContactIdentifier::parse("asha@example.com", Region::default()).unwrap();
        let account = create_account(
            ctx,
            to.clone(),
            DisplayName::parse("Asha").unwrap(),
            Password::parse("old horse battery".into()).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
        let (id, now) = (account.id, ctx.clock.now());
        ctx.db
            .run(move |conn| {
                session_rows::record(conn, "sid-one", id, now, now + chrono::Duration::days(1))
            })
            .await
            .unwrap();

        let browser = BrowserTag::new("form token");
        request(
            ctx,
            CodePurpose::Reset,
            &to,
            Lang::default(),
            &who,
            &browser,
            None,
        )
        .await
        .unwrap();
        testing::settle().await;
        let code = VerificationCode::parse(&t.sent.last_code().expect("delivered")).unwrap();
        let password = NewPassword::parse("new horse battery".into(), "new horse battery");
        let completion = Completion::Reset(password.unwrap());
        // Another browser cannot use the code.
        let elsewhere = BrowserTag::new("another form token");
        let stolen = verify(
            ctx,
            CodePurpose::Reset,
            &to,
            &code,
            Completion::SignIn,
            &who,
            &elsewhere,
        );
        assert!(matches!(stolen.await.unwrap(), Err(CodeRejected::Unusable)));

        let done = verify(
            ctx,
            CodePurpose::Reset,
            &to,
            &code,
            completion,
            &who,
            &browser,
        );
        assert!(matches!(done.await.unwrap(), Ok(Recovered::SignIn(..))));
        let ended = ctx
            .db
            .run(|conn| session_rows::has_ended(conn, "sid-one"))
            .await
            .unwrap();
        assert!(ended, "whoever knew the old password is signed out");
    }

    #[tokio::test]
    async fn a_contact_without_an_account_gets_a_decoy_that_nothing_opens() {
        let t = testing::context(&Settings::default()).await;
        let (ctx, who) = (&t.ctx, testing::nobody());
        let to = ContactIdentifier::parse("nobody@example.com", Region::default()).unwrap();
        let browser = BrowserTag::new("form token");
        let sent = request(
            ctx,
            CodePurpose::Login,
            &to,
            Lang::default(),
            &who,
            &browser,
            None,
        );
        assert!(matches!(sent.await.unwrap(), Sent::Sent { .. }));
        testing::settle().await;
        assert_eq!(t.sent.count(), 0, "nothing delivered");
        let guess = VerificationCode::parse("12345678").unwrap();
        let tried = verify(
            ctx,
            CodePurpose::Login,
            &to,
            &guess,
            Completion::SignIn,
            &who,
            &browser,
        );
        assert!(matches!(
            tried.await.unwrap(),
            Err(CodeRejected::Wrong { .. })
        ));
    }
}
