//! One module per page or group of pages.

pub mod account;
pub mod assets;
pub mod botcheck;
pub mod continue_with;
pub mod lang;
pub mod login;
pub mod passkeys;
pub mod recover;
pub mod second_factor;
pub mod signup;

use serde::Deserialize;

use super::WebError;
use crate::{
    account::{ServiceError, codes::Sent},
    domain::ContactIdentifier,
    i18n::Lang,
    notify::Channel,
    state::AppState,
};

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

/// A form with nothing but its CSRF token (a missing one is refused like a wrong one).
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// A code page's "send a new code" form: optionally on another channel ("send it on WhatsApp
/// instead"). A value that is no channel fails to parse: 400.
#[derive(Deserialize)]
pub struct ResendForm {
    pub csrf: String,
    #[serde(default)]
    pub channel: Option<Channel>,
    #[serde(flatten)]
    pub bot_check: botcheck::Fields,
}

/// What a code page says about how the code travels, and the buttons to ask for it on another
/// phone channel.
pub(crate) struct CodeChannels {
    pub note: Option<String>,
    pub switch_to: Vec<SwitchTo>,
}

pub(crate) struct SwitchTo {
    pub channel: &'static str,
    pub label: String,
}

/// The channels to remember for the page after asking for a code: those of this sending, or,
/// when nothing was sent now (the cooldown), those named before.
pub(crate) fn told_channels(sent: &Sent, before: &[Channel]) -> Vec<Channel> {
    sent.channels().unwrap_or_else(|| before.to_vec())
}

/// The note and the switch buttons for a code to `to` that went along `told`. An email says
/// nothing more; a phone number names its channel (and the failover, when the code is still
/// on its way), and offers each other configured phone channel.
pub(crate) fn code_channels(
    state: &AppState,
    lang: Lang,
    to: &ContactIdentifier,
    told: &[Channel],
) -> CodeChannels {
    let ContactIdentifier::Phone(_) = to else {
        return CodeChannels {
            note: None,
            switch_to: Vec::new(),
        };
    };
    let note = match told {
        [] => None,
        [only] => Some(lang.t(&format!("code-channel-{}", only.as_str()))),
        [first, then, ..] => Some(format!(
            "{} {}",
            lang.t(&format!("code-channel-{}", first.as_str())),
            lang.t(&format!(
                "code-failover-{}-{}",
                first.as_str(),
                then.as_str()
            ))
        )),
    };
    let phone_channels = state.account.notifier.phone_channels();
    let switch_to = if phone_channels.len() > 1 {
        phone_channels
            .iter()
            .filter(|c| told.first() != Some(c))
            .map(|c| SwitchTo {
                channel: c.as_str(),
                label: lang.t(&format!("code-switch-{}", c.as_str())),
            })
            .collect()
    } else {
        Vec::new()
    };
    CodeChannels { note, switch_to }
}
