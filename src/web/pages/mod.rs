//! One module per page or group of pages.

pub mod account;
pub mod assets;
pub mod lang;
pub mod login;
pub mod recover;
pub mod signup;

use crate::{account::limits, domain::ContactIdentifier, state::AppState};

/// A phone number or email typed where a code is to be sent; `Err` is the message key. Phone
/// numbers outside the countries codes are sent to, or of a type that cannot be a personal
/// mobile, are refused here, before any limit is counted (SMS pumping defence).
pub(crate) fn parse_contact(
    state: &AppState,
    input: &str,
) -> Result<ContactIdentifier, &'static str> {
    let to = ContactIdentifier::parse(input, state.settings.default_region)
        .map_err(|e| e.message_key())?;
    if let ContactIdentifier::Phone(phone) = &to {
        limits::phone_allowed(&state.settings.limits, phone).map_err(|e| e.message_key())?;
    }
    Ok(to)
}
