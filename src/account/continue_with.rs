//! "Continue with your mobile number": one field for a phone number or email, a six-digit code
//! to it, then either the account that uses the contact is signed in, or the person chooses a
//! name (and, if they like, a password) and the account is created. The steps:
//!
//! 1. [`request`]: a code goes to the typed contact, bound to the browser. A real code in both
//!    cases (a new person needs it to create the account), delivered after the answer, so the
//!    answer, its timing and every later step are the same whether or not an account uses the
//!    contact: this page cannot tell a stranger who has an account.
//! 2. [`verify`]: the code, within every code limit. Only now, to whoever proved the contact,
//!    does the answer differ: signed in (as a sign-in with a code: `otp`, plus `sms` for a
//!    phone), locked, disabled, or [`ProvenContact`]: no account yet.
//! 3. [`create`]: for a proven contact, the account is created through the sign-up's own path
//!    (`signup::register`) and signed in.
//!
//! Every code is a [`CodePurpose::Login`] code, whether or not there is an account: six digits
//! (the length that guards accounts), the same message, and the same audit detail for both, so
//! not even the code tells the cases apart. The sign-up page's four-digit codes prove a number
//! for an account whose password guards it; here the code alone signs in, so it gets the longer
//! length.

use chrono::{DateTime, Duration, Utc};

use super::{
    Context, ServiceError,
    codes::{self, Binding, BrowserTag, CodeRejected, Delivery, Proof, Sent},
    recovery, signup,
};
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    db::models::account::{Account, AccountStatus},
    domain::{
        ClientInfo, CodePurpose, ContactIdentifier, DisplayName, NewPassword, VerificationCode,
    },
    i18n::Lang,
    notify::Channel,
    session::PendingContinue,
};

/// How long a proven contact may still be used to create its account: long enough to choose a
/// name and a password on a slow connection, short enough that a browser left open does not
/// keep the right for long.
pub const PROVEN_FOR_MINUTES: i64 = 10;

/// The purpose of every code this flow sends (see the module documentation).
const PURPOSE: CodePurpose = CodePurpose::Login;

/// Step 1. Sends a code to `to` (in the language of the account that uses it, if it chose one,
/// else `lang`; the page answers in the browser's either way). Disabled accounts get their code
/// too: the person learns the account is disabled only after proving the contact, as a right
/// password learns it at the password sign-in.
pub async fn request(
    ctx: &Context,
    to: &ContactIdentifier,
    lang: Lang,
    client: &ClientInfo,
    browser: &BrowserTag,
    prefer: Option<Channel>,
) -> Result<Sent, ServiceError> {
    let account = recovery::find(ctx, to).await?;
    let lang = account.as_ref().and_then(|a| a.locale).unwrap_or(lang);
    let owner = account.map(|a| a.id);
    codes::send_bound(
        ctx,
        PURPOSE,
        to,
        lang,
        Delivery::Background,
        client,
        Binding::new(browser, owner).preferring(prefer),
    )
    .await
}

/// A contact this browser proved with a code and that no account used then: the right to
/// create its account, until [`ProvenContact::until`]. Made only by [`verify`], and read back
/// from the browser's session by [`ProvenContact::from_session`].
#[derive(Debug, Clone)]
pub struct ProvenContact {
    to: ContactIdentifier,
    until: DateTime<Utc>,
    /// How the code came: the sign-in's methods say it.
    proof: Proof,
}

impl ProvenContact {
    pub fn to(&self) -> &ContactIdentifier {
        &self.to
    }

    pub fn until(&self) -> DateTime<Utc> {
        self.until
    }

    /// The channel that carried the proving code, for the session to keep.
    pub fn via(&self) -> Option<Channel> {
        self.proof.via
    }

    /// The proven contact the session records, if it does and the proof has not expired.
    pub fn from_session(pending: Option<&PendingContinue>, now: DateTime<Utc>) -> Option<Self> {
        let Some(PendingContinue::Proven { to, until, via }) = pending else {
            return None;
        };
        if now >= *until {
            return None;
        }
        let to = ContactIdentifier::from_canonical(to).ok()?;
        Some(Self {
            to,
            until: *until,
            proof: Proof { via: *via },
        })
    }
}

/// What a right code leads to.
#[derive(Debug)]
pub enum Verified {
    /// Sign the person in (with these RFC 8176 methods).
    SignIn(Box<Account>, &'static [&'static str]),
    /// The account is locked: it must be unlocked first (which also takes a code).
    Locked,
    /// An operator disabled the account: neither signed in nor a second account.
    Disabled,
    /// No account uses the contact: the person may create one.
    NoAccount(ProvenContact),
}

/// Step 2. The code, then what the account (or its absence) allows.
pub async fn verify(
    ctx: &Context,
    to: &ContactIdentifier,
    code: &VerificationCode,
    client: &ClientInfo,
    browser: &BrowserTag,
) -> Result<Result<Verified, CodeRejected>, ServiceError> {
    let proof =
        match codes::verify_bound(ctx, PURPOSE, to, code, client, Binding::new(browser, None))
            .await?
        {
            Ok(proof) => proof,
            Err(rejected) => return Ok(Err(rejected)),
        };
    let Some(account) = recovery::find(ctx, to).await? else {
        let until = ctx.clock.now() + Duration::minutes(PROVEN_FOR_MINUTES);
        return Ok(Ok(Verified::NoAccount(ProvenContact {
            to: to.clone(),
            until,
            proof,
        })));
    };
    if account.status == AccountStatus::Disabled {
        let refused = AuditEvent::new(AuditKind::LoginFailed, Outcome::Refused)
            .account(account.id)
            .from(client)
            .detail("code, disabled");
        ctx.audit.record(refused).await;
        return Ok(Ok(Verified::Disabled));
    }
    Ok(Ok(
        match recovery::code_sign_in(ctx, &account, client).await? {
            Ok(()) => Verified::SignIn(Box::new(account), proof.amr()),
            Err(recovery::Locked) => Verified::Locked,
        },
    ))
}

/// What creating the account did.
#[derive(Debug)]
pub enum Created {
    /// Created: sign the person in with these RFC 8176 methods.
    SignUp(Box<Account>, &'static [&'static str]),
    /// The contact has an account since it was proven (made in another tab, or by another
    /// person who proved it too): nothing was created.
    AlreadyRegistered,
}

/// Step 3. Creates the account of a proven contact, with the name and the password (if any)
/// parsed before this is called.
///
/// The sign-in's methods are those of the code that proved the contact (`otp`, and `sms` for a
/// phone), whether or not a password was chosen: `pwd` says a password was checked, and this
/// one was only chosen. So an app sees the same methods after a first visit as after a return.
pub async fn create(
    ctx: &Context,
    proven: ProvenContact,
    name: DisplayName,
    password: Option<NewPassword>,
    client: &ClientInfo,
) -> Result<Created, ServiceError> {
    let methods = proven.proof.amr();
    let password = password.map(NewPassword::into_password);
    Ok(
        match signup::register(ctx, proven.to, name, password, client).await? {
            Some(account) => Created::SignUp(account, methods),
            None => Created::AlreadyRegistered,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        account::{create_account, testing},
        config::Settings,
        domain::{Password, Region},
    };

    fn contact(s: &str) -> ContactIdentifier {
        ContactIdentifier::parse(s, Region::default()).unwrap()
    }

    #[tokio::test]
    async fn a_new_contact_gets_a_six_digit_code_then_creates_its_account_without_a_password() {
        let t = testing::context(&Settings::default()).await;
        let (ctx, who) = (&t.ctx, testing::nobody());
        let to = contact("9812345678");
        let browser = BrowserTag::new("form token");
        request(ctx, &to, Lang::default(), &who, &browser, None)
            .await
            .unwrap();
        testing::settle().await;
        let code = t.sent.last_code().expect("a real code for a new person");
        assert_eq!(code.len(), usize::from(ctx.settings.codes.account_length));
        let code = VerificationCode::parse(&code).unwrap();
        let verified = verify(ctx, &to, &code, &who, &browser).await.unwrap();
        let Ok(Verified::NoAccount(proven)) = verified else {
            panic!("no account yet: {verified:?}")
        };

        // The session keeps it; it reads back until it expires.
        let pending = PendingContinue::Proven {
            to: proven.to().canonical().to_owned(),
            until: proven.until(),
            via: proven.via(),
        };
        let now = ctx.clock.now();
        assert!(ProvenContact::from_session(Some(&pending), now).is_some());
        let late = now + Duration::minutes(PROVEN_FOR_MINUTES);
        assert!(ProvenContact::from_session(Some(&pending), late).is_none());

        let name = DisplayName::parse("Asha").unwrap();
        let created = create(ctx, proven.clone(), name.clone(), None, &who);
        let Created::SignUp(account, methods) = created.await.unwrap() else {
            panic!("not created")
        };
        assert!(account.password_hash.is_none(), "no password was chosen");
        assert_eq!(methods, ["otp", "sms"]);
        // Proven once, created once.
        let again = create(ctx, proven, name, None, &who).await.unwrap();
        assert!(matches!(again, Created::AlreadyRegistered));
    }

    /// Asks for a code to `to` from `browser` and returns it, as delivered.
    async fn code_for(
        t: &testing::TestAccounts,
        to: &ContactIdentifier,
        browser: &BrowserTag,
    ) -> VerificationCode {
        let before = t.sent.count();
        request(
            &t.ctx,
            to,
            Lang::default(),
            &testing::nobody(),
            browser,
            None,
        )
        .await
        .unwrap();
        testing::settle().await;
        assert_eq!(t.sent.count(), before + 1, "a code is delivered");
        VerificationCode::parse(&t.sent.last_code().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn an_existing_contact_signs_in_and_a_disabled_one_does_not() {
        let t = testing::context(&Settings::default()).await;
        let (ctx, who) = (&t.ctx, testing::nobody());
        let to = contact("asha@example.com");
        let password = Password::parse("correct horse".into()).unwrap();
        let name = DisplayName::parse("Asha").unwrap();
        let account = create_account(ctx, to.clone(), name, password)
            .await
            .unwrap()
            .unwrap();
        let browser = BrowserTag::new("form token");
        let code = code_for(&t, &to, &browser).await;
        let verified = verify(ctx, &to, &code, &who, &browser).await.unwrap();
        let Ok(Verified::SignIn(signed_in, methods)) = verified else {
            panic!("not signed in: {verified:?}")
        };
        assert_eq!((signed_in.id, methods), (account.id, &["otp"][..]));

        let (id, now) = (account.id, ctx.clock.now());
        ctx.db
            .run(move |conn| {
                crate::db::models::account::set_status(conn, id, AccountStatus::Disabled, now)
            })
            .await
            .unwrap();
        t.clock.advance(Duration::seconds(
            ctx.settings.codes.resend_cooldown_secs + 1,
        ));
        let code = code_for(&t, &to, &browser).await;
        let verified = verify(ctx, &to, &code, &who, &browser).await.unwrap();
        assert!(matches!(verified, Ok(Verified::Disabled)), "{verified:?}");
    }
}
