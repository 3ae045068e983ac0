//! What a person types as a second factor: a six-digit code from an authenticator app, or one
//! of their recovery codes.

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::{Rng, rngs::OsRng};
use sha2::Sha256;

use super::{AccountId, ParseError};

/// The digits of an authenticator-app code: RFC 6238 with the RFC 4226 §5.3 six digits that
/// every app shows by default.
pub const TOTP_DIGITS: usize = 6;

/// A code typed from an authenticator app: exactly six digits (spaces and dashes, which some
/// apps show in the middle, are ignored). `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCode(String);

impl TotpCode {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        // Bounded before anything else is done with it.
        if input.len() > 64 {
            return Err(ParseError::TooLong);
        }
        let digits: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if digits.is_empty() {
            return Err(ParseError::Empty);
        }
        if digits.len() != TOTP_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::InvalidCode);
        }
        Ok(Self(digits))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpCode(<redacted>)")
    }
}

/// Crockford's base32 alphabet: no I, L, O or U, so a code read off paper is not misread; the
/// look-alikes are mapped back when typed (see [`RecoveryCode::parse`]).
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Symbols per code: 12 x 5 = 60 random bits.
const RECOVERY_LEN: usize = 12;

/// One recovery code: 60 random bits from the operating system's CSPRNG, written as twelve
/// Crockford base32 symbols in three groups (`7k2m-q9xd-3fhw`). `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl RecoveryCode {
    pub fn generate() -> Self {
        let symbols = (0..RECOVERY_LEN)
            .map(|_| char::from(ALPHABET[OsRng.gen_range(0..ALPHABET.len())]))
            .collect();
        Self(symbols)
    }

    /// Accepts what a person typed: any case, with or without the dashes and spaces, the
    /// Crockford look-alikes (`i`, `l` for one; `o` for zero) read as meant.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        if input.len() > 64 {
            return Err(ParseError::TooLong);
        }
        let mut symbols = String::with_capacity(RECOVERY_LEN);
        for c in input.chars() {
            let c = match c.to_ascii_lowercase() {
                ' ' | '-' | '\t' => continue,
                'i' | 'l' => '1',
                'o' => '0',
                c => c,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
                return Err(ParseError::InvalidCode);
            }
            symbols.push(c);
        }
        if symbols.is_empty() {
            return Err(ParseError::Empty);
        }
        if symbols.len() != RECOVERY_LEN {
            return Err(ParseError::InvalidCode);
        }
        Ok(Self(symbols))
    }

    /// As shown to the person, once: three groups of four.
    pub fn grouped(&self) -> String {
        let s = &self.0;
        format!("{}-{}-{}", &s[..4], &s[4..8], &s[8..])
    }

    /// What is stored in place of the code: HMAC-SHA-256 under a server key (derived from the
    /// KEK) over the account and the code. 60 random bits would already make a plain SHA-256
    /// costly to reverse, but an unsalted digest could be attacked for every code of every
    /// account at once; under the key, a dump of the database alone says nothing, and the
    /// account bound in means one account's digest never matches another's.
    pub fn digest(&self, key: &[u8; 32], account: AccountId) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key");
        mac.update(b"oneid-recovery-code\0");
        mac.update(&account.get().to_be_bytes());
        mac.update(self.0.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_codes_are_six_digits_spaces_ignored() {
        assert_eq!(TotpCode::parse(" 123 456 ").unwrap().expose(), "123456");
        assert_eq!(TotpCode::parse("123-456").unwrap().expose(), "123456");
        assert_eq!(TotpCode::parse(""), Err(ParseError::Empty));
        assert_eq!(TotpCode::parse("   "), Err(ParseError::Empty));
        for bad in ["12345", "1234567", "12a456", "１２３４５６", "123456\u{0}"] {
            assert_eq!(
                TotpCode::parse(bad),
                Err(ParseError::InvalidCode),
                "{bad:?}"
            );
        }
        assert_eq!(
            TotpCode::parse(&"1".repeat(100_000)),
            Err(ParseError::TooLong)
        );
        assert_eq!(
            format!("{:?}", TotpCode::parse("123456").unwrap()),
            "TotpCode(<redacted>)"
        );
    }

    #[test]
    fn recovery_codes_round_trip_through_their_grouped_form() {
        for _ in 0..50 {
            let code = RecoveryCode::generate();
            let shown = code.grouped();
            assert_eq!(shown.len(), 14);
            assert_eq!(RecoveryCode::parse(&shown).unwrap(), code);
            assert_eq!(RecoveryCode::parse(&shown.to_uppercase()).unwrap(), code);
            assert_eq!(RecoveryCode::parse(&shown.replace('-', " ")).unwrap(), code);
        }
        assert_ne!(RecoveryCode::generate(), RecoveryCode::generate());
    }

    #[test]
    fn recovery_codes_read_look_alikes_as_meant_and_refuse_the_rest() {
        assert_eq!(
            RecoveryCode::parse("IL0O-abcd-efgh").unwrap(),
            RecoveryCode::parse("1100-abcd-efgh").unwrap()
        );
        assert_eq!(RecoveryCode::parse(""), Err(ParseError::Empty));
        for bad in [
            "abcd-efgh",
            "abcd-efgh-jkmn-p",
            "abcd-efgh-jkm!",
            "abcd-efgh-jkmu",
        ] {
            assert_eq!(
                RecoveryCode::parse(bad),
                Err(ParseError::InvalidCode),
                "{bad}"
            );
        }
        assert_eq!(
            RecoveryCode::parse(&"a".repeat(100)),
            Err(ParseError::TooLong)
        );
    }

    #[test]
    fn a_recovery_digest_is_keyed_and_bound_to_the_account() {
        let code = RecoveryCode::parse("abcd-efgh-jkmn").unwrap();
        let (a, b) = (AccountId::generate(), AccountId::generate());
        assert_eq!(code.digest(&[1; 32], a), code.digest(&[1; 32], a));
        assert_ne!(code.digest(&[1; 32], a), code.digest(&[2; 32], a));
        assert_ne!(code.digest(&[1; 32], a), code.digest(&[1; 32], b));
        assert!(!format!("{code:?}").contains("abcd"));
    }
}
