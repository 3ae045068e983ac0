//! Sign-up: a code to the phone or email, then the code, a password and a name.

use super::{ServiceError, codes, create_account};
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    db::models::account::{Account, CreateError},
    domain::{
        ClientInfo, CodePurpose, ContactIdentifier, DisplayName, NewPassword, VerificationCode,
    },
    i18n::Lang,
    state::AppState,
};

/// Step 1. Deliberately blind to whether an account already uses `to`: the answer, and the
/// work done, are the same either way, so the sign-up page cannot be used to find out who has
/// an account. The person learns it only after proving the code.
pub async fn request_code(
    state: &AppState,
    to: &ContactIdentifier,
    lang: Lang,
    client: &ClientInfo,
) -> Result<codes::Sent, ServiceError> {
    codes::send(
        state,
        CodePurpose::Signup,
        to,
        lang,
        codes::Delivery::Now,
        client,
    )
    .await
}

#[derive(Debug)]
pub enum SignupOutcome {
    Created(Box<Account>),
    /// The code was right and the phone or email already has an account.
    AlreadyRegistered,
    CodeRejected(codes::CodeRejected),
}

/// Step 2. The password and name were parsed before this is called, so a typo in them does
/// not spend one of the code's tries.
pub async fn complete(
    state: &AppState,
    to: ContactIdentifier,
    code: &VerificationCode,
    password: NewPassword,
    name: DisplayName,
    client: &ClientInfo,
) -> Result<SignupOutcome, ServiceError> {
    if let Err(rejected) = codes::verify(state, CodePurpose::Signup, &to, code, client).await? {
        return Ok(SignupOutcome::CodeRejected(rejected));
    }
    Ok(
        match create_account(state, to, name, password.into_password()).await? {
            Ok(account) => {
                tracing::info!(account_id = %account.id, "account created");
                state
                    .audit
                    .record(
                        AuditEvent::new(AuditKind::Signup, Outcome::Ok)
                            .account(account.id)
                            .from(client),
                    )
                    .await;
                SignupOutcome::Created(Box::new(account))
            }
            Err(CreateError::PhoneTaken | CreateError::EmailTaken) => {
                SignupOutcome::AlreadyRegistered
            }
            Err(CreateError::Db(e)) => return Err(e.into()),
        },
    )
}
