//! One module per page or group of pages.

pub mod account;
pub mod assets;
pub mod botcheck;
pub mod lang;
pub mod login;
pub mod recover;
pub mod signup;

use super::WebError;
use crate::{account::ServiceError, domain::ContactIdentifier, state::AppState};

/// A phone number or email typed where a code is to be sent; `Err` is the message key. Which
/// numbers codes may go to is decided by the code-sending path itself (see
/// `account::codes::check_destination`); [`refusal_message`] shows its answer.
pub(crate) fn parse_contact(
    state: &AppState,
    input: &str,
) -> Result<ContactIdentifier, &'static str> {
    ContactIdentifier::parse(input, state.settings.default_region).map_err(|e| e.message_key())
}

/// The message key of a code request the person can fix (a phone number codes do not go to:
/// another country, or not a mobile); any other error goes up as it is.
pub(crate) fn refusal_message(e: ServiceError) -> Result<&'static str, WebError> {
    match e {
        ServiceError::PhoneRefused(refused) => Ok(refused.message_key()),
        other => Err(other.into()),
    }
}
