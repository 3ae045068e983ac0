//! Authentication context classes (`acr`, OIDC Core §2): how strongly a sign-in proved who is
//! there, derived from the methods it used (`amr`, RFC 8176), and asked for by apps with
//! `acr_values` (OIDC Core §3.1.2.1) or required by an administrator per app.

use std::fmt;

/// The classes OneID asserts, weakest first: the order is the strength (`TwoFactor` satisfies
/// a request for `OneFactor`, never the other way round). Serialized (in session data) by its
/// short name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Acr {
    #[serde(rename = "1fa")]
    /// One factor: a password, or a code to a phone or email.
    OneFactor,
    #[serde(rename = "2fa")]
    /// Two factors of different kinds: the first factor and an authenticator app or a recovery
    /// code.
    TwoFactor,
    #[serde(rename = "phr")]
    /// Phishing-resistant and multi-factor: a passkey with user verification. The key signs the
    /// origin it was used on (WebAuthn L2 §13.4.1 and §7.2 step 9), so a look-alike site cannot
    /// relay it.
    PhishingResistant,
}

/// A value that is not one of [`Acr::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown acr `{0}` (expected one of urn:oneid:acr:1fa, urn:oneid:acr:2fa, urn:oneid:acr:phr)"
)]
pub struct UnknownAcr(pub String);

/// `amr` values (RFC 8176 §2) of a proof of possession of a key: a passkey.
const KEY_METHODS: [&str; 2] = ["hwk", "swk"];

impl Acr {
    pub const ALL: [Self; 3] = [Self::OneFactor, Self::TwoFactor, Self::PhishingResistant];

    /// The URN in ID tokens, `acr_values` and discovery's `acr_values_supported`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OneFactor => "urn:oneid:acr:1fa",
            Self::TwoFactor => "urn:oneid:acr:2fa",
            Self::PhishingResistant => "urn:oneid:acr:phr",
        }
    }

    /// The short name used by the CLI and the admin forms (`1fa`, `2fa`, `phr`); the URN is
    /// accepted too.
    pub fn short(self) -> &'static str {
        &self.as_str()["urn:oneid:acr:".len()..]
    }

    /// Parses a URN or short name, exactly (acr values are case-sensitive strings).
    pub fn parse(value: &str) -> Result<Self, UnknownAcr> {
        Self::ALL
            .into_iter()
            .find(|acr| acr.as_str() == value || acr.short() == value)
            .ok_or_else(|| UnknownAcr(value.to_owned()))
    }

    /// What a sign-in that used these methods proved. `mfa` (RFC 8176 §2: more than one
    /// factor) is recorded only by the steps that add a factor of another kind (a second factor
    /// after the first, or a passkey with user verification); with a key (`hwk`/`swk`) the
    /// sign-in is also phishing-resistant. A remembered browser adds nothing, so a sign-in it
    /// spared the second factor stays one-factor.
    pub fn of_amr<S: AsRef<str>>(amr: &[S]) -> Self {
        let has = |value: &str| amr.iter().any(|m| m.as_ref() == value);
        match (has("mfa"), KEY_METHODS.into_iter().any(has)) {
            (true, true) => Self::PhishingResistant,
            (true, false) => Self::TwoFactor,
            (false, _) => Self::OneFactor,
        }
    }

    /// The class an app asks for with `acr_values` (space-separated, in order of preference,
    /// OIDC Core §3.1.2.1): the weakest of the values OneID knows, since any of them would do.
    /// Unknown values are ignored (the parameter is a voluntary request); `None` when no value
    /// is known.
    pub fn weakest_requested(acr_values: &str) -> Option<Self> {
        acr_values
            .split(' ')
            .filter_map(|value| Self::parse(value).ok())
            .min()
    }
}

impl fmt::Display for Acr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_class_follows_the_methods() {
        assert_eq!(Acr::of_amr(&["pwd"]), Acr::OneFactor);
        assert_eq!(Acr::of_amr(&["otp", "sms"]), Acr::OneFactor);
        assert_eq!(Acr::of_amr(&["pwd", "otp", "mfa"]), Acr::TwoFactor);
        assert_eq!(Acr::of_amr(&["swk", "user", "mfa"]), Acr::PhishingResistant);
        assert_eq!(
            Acr::of_amr(&["pwd", "hwk", "user", "mfa"]),
            Acr::PhishingResistant
        );
        // A key without user verification is one factor (something you have).
        assert_eq!(Acr::of_amr(&["hwk"]), Acr::OneFactor);
        assert_eq!(Acr::of_amr::<&str>(&[]), Acr::OneFactor);
    }

    #[test]
    fn values_parse_exactly_and_order_by_strength() {
        for acr in Acr::ALL {
            assert_eq!(Acr::parse(acr.as_str()), Ok(acr));
            assert_eq!(Acr::parse(acr.short()), Ok(acr));
        }
        assert_eq!(Acr::TwoFactor.short(), "2fa");
        assert!(Acr::parse("URN:ONEID:ACR:2FA").is_err());
        assert!(Acr::parse("").is_err());
        assert!(Acr::OneFactor < Acr::TwoFactor && Acr::TwoFactor < Acr::PhishingResistant);
    }

    #[test]
    fn a_request_asks_for_the_weakest_value_it_names() {
        assert_eq!(
            Acr::weakest_requested("urn:oneid:acr:phr urn:oneid:acr:2fa"),
            Some(Acr::TwoFactor)
        );
        assert_eq!(
            Acr::weakest_requested("urn:other:gold urn:oneid:acr:phr"),
            Some(Acr::PhishingResistant)
        );
        assert_eq!(Acr::weakest_requested("urn:other:gold"), None);
        assert_eq!(Acr::weakest_requested(""), None);
        assert_eq!(Acr::weakest_requested("  "), None);
    }
}
