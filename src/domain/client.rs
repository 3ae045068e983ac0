//! Identifiers and credentials of relying parties (OAuth clients).

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A client identifier: 131 random bits in 22 letters and digits.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ClientId(String);

/// Letters and digits only: an id starting with `-` (1 in 32 with base64url) reads as an
/// option to every command line, `oneid client show` included.
fn random_alphanumeric(len: usize) -> String {
    use rand::{Rng, distributions::Alphanumeric};
    OsRng
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

impl ClientId {
    pub fn generate() -> Self {
        Self(random_alphanumeric(22))
    }

    /// Any printable client_id as received in a request; whether it exists is the registry's call.
    pub fn parse(input: &str) -> Option<Self> {
        (!input.is_empty() && input.len() <= 128 && input.bytes().all(|b| b.is_ascii_graphic()))
            .then(|| Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientId({})", self.0)
    }
}

/// A client secret in the clear: exists only between generation and the one time it is shown.
pub struct ClientSecret(String);

impl ClientSecret {
    /// 256 random bits in 43 letters and digits (safe as a command-line value too).
    pub fn generate() -> Self {
        Self(random_alphanumeric(43))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> SecretDigest {
        SecretDigest::of(&self.0)
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

/// SHA-256 of a client secret, the only form in which it is stored.
///
/// A secret of 256 random bits cannot be guessed, so a slow password hash would add nothing but
/// ~20 ms to every token request.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    pub fn from_stored(encoded: &str) -> Option<Self> {
        URL_SAFE_NO_PAD
            .decode(encoded)
            .ok()?
            .try_into()
            .ok()
            .map(Self)
    }

    pub fn to_stored(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Constant-time comparison of a presented secret.
    pub fn verify(&self, presented: &str) -> bool {
        self.0.ct_eq(&Self::of(presented).0).into()
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigest(<redacted>)")
    }
}

/// How a client authenticates at the token endpoint, with what it needs: a public client has
/// no secret and a confidential one always has one, so neither can be stored the wrong way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic (RFC 6749 §2.3.1).
    SecretBasic(SecretDigest),
    /// `client_id` and `client_secret` in the form body.
    SecretPost(SecretDigest),
    /// A public client (a mobile or single-page app): PKCE instead of a secret.
    None,
}

impl ClientAuth {
    pub fn method(&self) -> &'static str {
        match self {
            Self::SecretBasic(_) => "client_secret_basic",
            Self::SecretPost(_) => "client_secret_post",
            Self::None => "none",
        }
    }

    pub fn is_public(&self) -> bool {
        matches!(self, Self::None)
    }

    pub fn digest(&self) -> Option<&SecretDigest> {
        match self {
            Self::SecretBasic(d) | Self::SecretPost(d) => Some(d),
            Self::None => None,
        }
    }
}

/// Grant types a client may use (RFC 6749 §4, §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::AuthorizationCode,
            Self::RefreshToken,
            Self::ClientCredentials,
        ]
        .into_iter()
        .find(|g| g.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_client_ids_are_letters_and_digits_so_no_command_line_mistakes_them_for_options() {
        for _ in 0..2000 {
            let id = ClientId::generate();
            assert_eq!(id.as_str().len(), 22);
            assert!(
                id.as_str().bytes().all(|b| b.is_ascii_alphanumeric()),
                "{id}"
            );
        }
        assert_ne!(ClientId::generate(), ClientId::generate());
    }

    #[test]
    fn secrets_are_256_bit_url_safe_and_verify_only_themselves() {
        let secret = ClientSecret::generate();
        assert_eq!(secret.expose().len(), 43);
        let digest = secret.digest();
        assert!(digest.verify(secret.expose()));
        assert!(!digest.verify(&secret.expose()[1..]));
        assert!(!digest.verify(""));
        assert_eq!(SecretDigest::from_stored(&digest.to_stored()), Some(digest));
        assert!(!format!("{secret:?}").contains(secret.expose()));
    }

    #[test]
    fn client_ids_are_url_safe() {
        let id = ClientId::generate();
        assert_eq!(id.as_str().len(), 22);
        assert!(
            id.as_str()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert!(ClientId::parse("has space").is_none());
    }
}
