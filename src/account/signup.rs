//! Sign-up: a code to the phone or email, then the code, a password and a name.

use super::{Context, ServiceError, codes, create_verified_account};
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    db::models::account::{Account, CreateError},
    domain::{
        ClientInfo, CodePurpose, ContactIdentifier, DisplayName, NewPassword, Password,
        VerificationCode,
    },
    i18n::Lang,
    notify::Channel,
};

/// Step 1. Deliberately blind to whether an account already uses `to`: the answer, and the
/// work done, are the same either way, so the sign-up page cannot be used to find out who has
/// an account. The person learns it only after proving the code.
pub async fn request_code(
    ctx: &Context,
    to: &ContactIdentifier,
    lang: Lang,
    client: &ClientInfo,
    prefer: Option<Channel>,
) -> Result<codes::Sent, ServiceError> {
    codes::send_bound(
        ctx,
        CodePurpose::Signup,
        to,
        lang,
        codes::Delivery::Now,
        client,
        codes::Binding::default().preferring(prefer),
    )
    .await
}

#[derive(Debug)]
pub enum SignupOutcome {
    /// Created, with how the code came.
    Created(Box<Account>, codes::Proof),
    /// The code was right and the phone or email already has an account.
    AlreadyRegistered,
    CodeRejected(codes::CodeRejected),
}

/// Step 2. The password and name were parsed before this is called, so a typo in them does
/// not spend one of the code's tries.
pub async fn complete(
    ctx: &Context,
    to: ContactIdentifier,
    code: &VerificationCode,
    password: NewPassword,
    name: DisplayName,
    client: &ClientInfo,
) -> Result<SignupOutcome, ServiceError> {
    let proof = match codes::verify(ctx, CodePurpose::Signup, &to, code, client).await? {
        Ok(proof) => proof,
        Err(rejected) => return Ok(SignupOutcome::CodeRejected(rejected)),
    };
    Ok(
        match register(ctx, to, name, Some(password.into_password()), client).await? {
            Some(account) => SignupOutcome::Created(account, proof),
            None => SignupOutcome::AlreadyRegistered,
        },
    )
}

/// The one way a person's own sign-up creates an account, shared by this page and "Continue
/// with your number" (`continue_with::create`): the contact was proven by a code just before.
/// Creates it (the password optional), logs and audits `signup`; `None` when the contact
/// already has an account (another tab, or another person who proved it first).
pub(super) async fn register(
    ctx: &Context,
    to: ContactIdentifier,
    name: DisplayName,
    password: Option<Password>,
    client: &ClientInfo,
) -> Result<Option<Box<Account>>, ServiceError> {
    match create_verified_account(ctx, to, name, password).await? {
        Ok(account) => {
            tracing::info!(account_id = %account.id, "account created");
            ctx.audit
                .record(
                    AuditEvent::new(AuditKind::Signup, Outcome::Ok)
                        .account(account.id)
                        .from(client),
                )
                .await;
            Ok(Some(Box::new(account)))
        }
        Err(CreateError::PhoneTaken | CreateError::EmailTaken) => Ok(None),
        Err(CreateError::Db(e)) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{account::testing, config::Settings, domain::Region};

    fn form(code: &str) -> (VerificationCode, NewPassword, DisplayName) {
        (
            VerificationCode::parse(code).unwrap(),
            NewPassword::parse("correct horse".into(), "correct horse").unwrap(),
            DisplayName::parse("Asha").unwrap(),
        )
    }

    #[tokio::test]
    async fn a_code_then_the_form_creates_the_account_once() {
        let t = testing::context(&Settings::default()).await;
        let (ctx, who) = (&t.ctx, testing::nobody());
        let to = ContactIdentifier::parse("asha@example.com", Region::default()).unwrap();

        request_code(ctx, &to, Lang::default(), &who, None)
            .await
            .unwrap();
        let (code, password, name) = form(&t.sent.last_code().unwrap());
        let created = complete(ctx, to.clone(), &code, password, name, &who).await;
        let SignupOutcome::Created(account, _) = created.unwrap() else {
            panic!("not created")
        };
        assert_eq!(
            account.email.as_ref().map(|e| e.as_str()),
            Some(to.canonical())
        );

        // The same address again: the code is sent all the same (the page must not tell), and
        // only after it is proven does the person learn the address is taken.
        t.clock.advance(chrono::Duration::seconds(
            ctx.settings.codes.resend_cooldown_secs + 1,
        ));
        request_code(ctx, &to, Lang::default(), &who, None)
            .await
            .unwrap();
        let (code, password, name) = form(&t.sent.last_code().unwrap());
        let again = complete(ctx, to, &code, password, name, &who)
            .await
            .unwrap();
        assert!(matches!(again, SignupOutcome::AlreadyRegistered));
    }
}
