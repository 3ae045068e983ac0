//! One-time numeric verification codes.

use std::fmt;

use rand::{Rng, rngs::OsRng};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::ParseError;

/// A numeric code as sent to, or typed by, a person. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationCode(String);

impl VerificationCode {
    /// Draws `length` uniformly random digits from the operating system's CSPRNG.
    pub fn generate(length: u8) -> Self {
        let digits = (0..length)
            .map(|_| char::from(b'0' + OsRng.gen_range(0..10u8)))
            .collect();
        Self(digits)
    }

    /// Accepts what a person typed: digits, ignoring spaces and dashes that SMS apps insert.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let digits: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if digits.is_empty() {
            return Err(ParseError::Empty);
        }
        if digits.len() > 12 {
            return Err(ParseError::TooLong);
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::InvalidCode);
        }
        Ok(Self(digits))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The digest stored in place of the code, salted so that equal codes never look alike.
    pub fn digest(&self, salt: &str) -> CodeDigest {
        let mut hasher = Sha256::new();
        hasher.update(salt.as_bytes());
        hasher.update([0]);
        hasher.update(self.0.as_bytes());
        CodeDigest(hasher.finalize().into())
    }
}

impl fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerificationCode(<redacted>)")
    }
}

/// SHA-256 of a salted code.
#[derive(Clone, Serialize, Deserialize)]
pub struct CodeDigest(#[serde(with = "hex32")] [u8; 32]);

impl CodeDigest {
    /// Constant-time comparison: response timing must not hint at how many digits were right.
    pub fn matches(&self, code: &VerificationCode, salt: &str) -> bool {
        self.0.ct_eq(&code.digest(salt).0).into()
    }
}

impl fmt::Debug for CodeDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeDigest(<redacted>)")
    }
}

mod hex32 {
    use base64::{Engine, engine::general_purpose::STANDARD_NO_PAD};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD_NO_PAD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        STANDARD_NO_PAD
            .decode(text)
            .map_err(D::Error::custom)?
            .try_into()
            .map_err(|_| D::Error::custom("digest length"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_codes_of_the_asked_length() {
        for length in [4, 6, 8] {
            let code = VerificationCode::generate(length);
            assert_eq!(code.expose().len(), usize::from(length));
            assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn generated_digits_are_roughly_uniform() {
        let mut counts = [0u32; 10];
        for _ in 0..10_000 {
            for b in VerificationCode::generate(4).expose().bytes() {
                counts[usize::from(b - b'0')] += 1;
            }
        }
        // 40 000 digits, 4 000 expected each; a biased generator (modulo bias, a fixed digit) falls outside.
        assert!(
            counts.iter().all(|&n| (3_600..=4_400).contains(&n)),
            "{counts:?}"
        );
    }

    #[test]
    fn digest_verifies_only_the_same_code_and_salt() {
        let code = VerificationCode::parse("1234").unwrap();
        let digest = code.digest("salt-a");
        assert!(digest.matches(&VerificationCode::parse("12 34").unwrap(), "salt-a"));
        assert!(!digest.matches(&VerificationCode::parse("1235").unwrap(), "salt-a"));
        assert!(!digest.matches(&code, "salt-b"));
    }

    #[test]
    fn digest_survives_serialisation() {
        let code = VerificationCode::parse("987654").unwrap();
        let json = serde_json::to_string(&code.digest("s")).unwrap();
        let back: CodeDigest = serde_json::from_str(&json).unwrap();
        assert!(back.matches(&code, "s"));
        assert!(!json.contains("987654"));
    }

    #[test]
    fn parse_refuses_non_digits() {
        assert_eq!(
            VerificationCode::parse("12a4"),
            Err(ParseError::InvalidCode)
        );
        assert_eq!(VerificationCode::parse(""), Err(ParseError::Empty));
        assert_eq!(
            VerificationCode::parse(&"1".repeat(13)),
            Err(ParseError::TooLong)
        );
        assert!(!format!("{:?}", VerificationCode::parse("1234").unwrap()).contains("1234"));
    }
}

/// What a code is for. Each purpose has its own pending code, so a sign-up code can never
/// reset a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodePurpose {
    Signup,
    Login,
    Reset,
    Unlock,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::Login => "login",
            Self::Reset => "reset",
            Self::Unlock => "unlock",
        }
    }
}
