//! One-time numeric verification codes.

use std::fmt;

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::{Rng, rngs::OsRng};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
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

    /// The MAC stored in place of the code: HMAC-SHA-256 under the server's code key over
    /// `context` (the pending code's random id, so equal codes never look alike) and the digits.
    /// A salted hash next to its salt would give a code away to whoever reads the store in at
    /// most 10^6 hashes; without the key the MAC says nothing.
    pub fn mac(&self, key: &CodeMacKey, context: &str) -> CodeDigest {
        let mut mac = key.hmac();
        mac.update(context.as_bytes());
        mac.update(&[0]);
        mac.update(self.0.as_bytes());
        CodeDigest(mac.finalize().into_bytes().into())
    }
}

/// The server key verification codes are MAC'd under. Derived with HKDF-SHA-256 (RFC 5869)
/// from the key encryption key under its own label, so the KEK itself is never used for two
/// purposes, and every instance (sharing the KEK) derives the same key. `Debug` never prints it.
#[derive(Clone)]
pub struct CodeMacKey([u8; 32]);

impl CodeMacKey {
    /// RFC 5869 §3.2: `info` binds the output to its use; a new purpose needs a new label.
    const LABEL: &'static [u8] = b"oneid/verification-code-mac/v1";

    pub fn derive(secret: &[u8]) -> Self {
        let mut key = [0u8; 32];
        Hkdf::<Sha256>::new(None, secret)
            .expand(Self::LABEL, &mut key)
            .expect("32 bytes is far below HKDF-SHA-256's 8160-byte limit");
        Self(key)
    }

    fn hmac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes a key of any length")
    }
}

impl fmt::Debug for CodeMacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeMacKey(<redacted>)")
    }
}

impl fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerificationCode(<redacted>)")
    }
}

/// HMAC-SHA-256 of a code (see [`VerificationCode::mac`]).
#[derive(Clone, Serialize, Deserialize)]
pub struct CodeDigest(#[serde(with = "hex32")] [u8; 32]);

impl CodeDigest {
    /// Constant-time comparison: response timing must not hint at how many digits were right.
    pub fn matches(&self, code: &VerificationCode, key: &CodeMacKey, context: &str) -> bool {
        self.0.ct_eq(&code.mac(key, context).0).into()
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

    fn key(secret: &[u8]) -> CodeMacKey {
        CodeMacKey::derive(secret)
    }

    #[test]
    fn mac_verifies_only_the_same_code_context_and_key() {
        let (k, other) = (key(&[7; 32]), key(&[8; 32]));
        let code = VerificationCode::parse("1234").unwrap();
        let mac = code.mac(&k, "id-a");
        assert!(mac.matches(&VerificationCode::parse("12 34").unwrap(), &k, "id-a"));
        assert!(!mac.matches(&VerificationCode::parse("1235").unwrap(), &k, "id-a"));
        assert!(!mac.matches(&code, &k, "id-b"));
        assert!(!mac.matches(&code, &other, "id-a"), "another server key");
    }

    #[test]
    fn a_store_dump_without_the_key_cannot_find_the_code() {
        use sha2::Digest as _;
        // What the store held before: SHA-256(salt || 0 || code) next to its salt. Trying all
        // 10^4 sign-up codes found the code; against the MAC the same search finds nothing.
        let k = key(&[7; 32]);
        let code = VerificationCode::parse("4821").unwrap();
        let stored = code.mac(&k, "pending-id");
        let found = (0..10_000).map(|n| format!("{n:04}")).find(|guess| {
            let mut hasher = Sha256::new();
            hasher.update(b"pending-id");
            hasher.update([0]);
            hasher.update(guess.as_bytes());
            let digest: [u8; 32] = hasher.finalize().into();
            digest == stored.0
        });
        assert_eq!(found, None);
    }

    #[test]
    fn the_code_key_is_derived_under_its_own_label() {
        let secret = [3u8; 32];
        assert_ne!(key(&secret).0, secret, "never the KEK itself");
        assert_eq!(
            key(&secret).0,
            key(&secret).0,
            "every instance derives the same key"
        );
        assert_ne!(key(&secret).0, key(&[4u8; 32]).0);
        assert_eq!(format!("{:?}", key(&secret)), "CodeMacKey(<redacted>)");
    }

    #[test]
    fn mac_survives_serialisation() {
        let k = key(&[1; 32]);
        let code = VerificationCode::parse("987654").unwrap();
        let json = serde_json::to_string(&code.mac(&k, "s")).unwrap();
        let back: CodeDigest = serde_json::from_str(&json).unwrap();
        assert!(back.matches(&code, &k, "s"));
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
    /// Confirms a sensitive change in the account console (a fresh sign-in by code).
    Reauth,
    /// Proves a phone number or email being added to an account.
    Contact,
    /// Confirms the deletion of an account.
    Delete,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::Login => "login",
            Self::Reset => "reset",
            Self::Unlock => "unlock",
            Self::Reauth => "reauth",
            Self::Contact => "contact",
            Self::Delete => "delete",
        }
    }
}
