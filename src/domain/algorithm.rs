//! The JWS algorithms OneID signs with: one type for the signing keys and for the algorithm a
//! client registered for its ID tokens.

use std::fmt;

use openidconnect::core::CoreJwsSigningAlgorithm;

/// The JWS algorithms the provider signs with (RFC 7518 §3.1, RFC 8037 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys: the one every relying party supports
    /// (OIDC Core §15.1 makes it mandatory).
    Rs256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
}

/// A name that is not one of [`Algorithm::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signing algorithm `{0}` (expected RS256, ES256 or EdDSA)")]
pub struct UnknownAlgorithm(pub String);

impl Algorithm {
    pub const ALL: [Self; 3] = [Self::Rs256, Self::Es256, Self::EdDsa];

    /// The JOSE name, as in the `alg` header, the `signing_keys.alg` column and the
    /// `clients.id_token_signed_response_alg` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// JOSE names are case-sensitive (RFC 7515 §4.1.1).
    pub fn parse(name: &str) -> Result<Self, UnknownAlgorithm> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str() == name)
            .ok_or_else(|| UnknownAlgorithm(name.to_owned()))
    }

    pub fn jws(self) -> CoreJwsSigningAlgorithm {
        match self {
            Self::Rs256 => CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            Self::Es256 => CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            Self::EdDsa => CoreJwsSigningAlgorithm::EdDsa,
        }
    }

    pub fn from_jws(alg: &CoreJwsSigningAlgorithm) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|candidate| &candidate.jws() == alg)
    }
}

/// In settings, by its JOSE name (`"ES256"`).
impl serde::Serialize for Algorithm {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Algorithm {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::parse(&name).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
