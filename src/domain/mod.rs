//! Values that parse, not validate: once a raw string becomes one of these types it is known good.

mod account_id;
mod acr;
mod actor;
mod algorithm;
mod client;
mod client_info;
mod code;
mod device;
mod display_name;
mod email;
mod identifier;
mod issuer;
mod passkey_name;
mod password;
mod phone;
mod random;
mod redirect_uri;
mod region;
mod scope;
mod second_factor;
mod secret;
mod subject;

pub use account_id::AccountId;
pub use acr::{Acr, UnknownAcr};
pub use actor::{Actor, Role};
pub use algorithm::{Algorithm, UnknownAlgorithm};
pub use client::{ClientAuth, ClientId, ClientSecret, GrantType, SecretDigest};
pub use client_info::ClientInfo;

pub use code::{CodeDigest, CodeMacKey, CodePurpose, VerificationCode};
pub use device::{BrowserSummary, DeviceDigest, DeviceKey, mask_ip};
pub use display_name::DisplayName;
pub use email::Email;
pub use identifier::{ContactIdentifier, LoginIdentifier};
pub use issuer::Issuer;
pub use passkey_name::PasskeyName;
pub use password::{NewPassword, Password, PasswordHash, PasswordHasher};
pub use phone::PhoneNumber;
pub use random::{is_token_shaped, random_token, random_token_of};
pub use redirect_uri::{RedirectUri, RedirectUriError, is_loopback_host};
pub use region::Region;
pub use scope::{ScopeToken, Scopes, UnknownScope};
pub use second_factor::{RecoveryCode, TOTP_DIGITS, TotpCode};
pub use secret::{Secret, SecretUrl, mask, mask_url_password, redact_url, url_passwords};
pub use subject::Subject;

/// Why a raw value was refused. The variants map one-to-one to message-catalog keys, so a person
/// always reads the reason in their own language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the value is empty")]
    Empty,
    #[error("the value is too long")]
    TooLong,
    #[error("not a valid phone number")]
    InvalidPhone,
    #[error("the phone number cannot receive text messages")]
    NotMobile,
    #[error("not a valid email address")]
    InvalidEmail,
    #[error("not a mobile number, email address or account ID")]
    InvalidIdentifier,
    #[error("the password is too short")]
    PasswordTooShort,
    #[error("the password is too long")]
    PasswordTooLong,
    #[error("the passwords do not match")]
    PasswordMismatch,
    #[error("the password is one of the most commonly used")]
    CommonPassword,
    #[error("the email address mixes look-alike characters")]
    ConfusableEmail,
    #[error("the name contains characters that are not allowed")]
    InvalidName,
    #[error("the code must be digits only")]
    InvalidCode,
}

impl ParseError {
    /// The message-catalog key that explains this error to a person.
    pub fn message_key(self) -> &'static str {
        match self {
            Self::Empty => "error-field-empty",
            Self::TooLong => "error-field-too-long",
            Self::InvalidPhone => "error-invalid-phone",
            Self::NotMobile => "error-not-mobile",
            Self::InvalidEmail => "error-invalid-email",
            Self::InvalidIdentifier => "error-invalid-identifier",
            Self::PasswordTooShort => "error-password-too-short",
            Self::PasswordTooLong => "error-password-too-long",
            Self::PasswordMismatch => "error-password-mismatch",
            Self::CommonPassword => "error-password-common",
            Self::ConfusableEmail => "error-email-confusable",
            Self::InvalidName => "error-invalid-name",
            Self::InvalidCode => "error-invalid-code",
        }
    }
}
