//! A published public key, decoded once when the ring loads, for verifying the tokens OneID
//! signed (access tokens presented back to it, ID tokens as `id_token_hint`).

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use openidconnect::core::CoreJsonWebKey;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;

use super::Algorithm;

/// The JWK fields needed to verify, for every key type OneID publishes.
#[derive(Deserialize)]
struct PublicJwk {
    kid: Option<String>,
    kty: String,
    crv: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// The key material of one published key, in the form ring verifies with.
#[derive(Debug, Clone)]
enum Material {
    Rsa(RsaPublicKeyComponents<Vec<u8>>),
    /// The SEC1 uncompressed point, 0x04 || x || y.
    P256(Vec<u8>),
    Ed25519(Vec<u8>),
}

/// A published key ready to verify with: its kid, what its JWK says it is (`kty`, `crv`,
/// `alg`), and its decoded key material.
#[derive(Debug, Clone)]
pub struct VerifyingKey {
    kid: String,
    kty: String,
    crv: Option<String>,
    alg: Option<String>,
    material: Material,
}

impl VerifyingKey {
    /// Decodes a published JWK; `None` for a key without a kid or with parameters that do not
    /// decode (OneID publishes none such: such a key can then verify nothing).
    pub fn from_jwk(jwk: &CoreJsonWebKey) -> Option<Self> {
        let jwk: PublicJwk = serde_json::to_value(jwk)
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())?;
        let b64 = |field: &Option<String>| URL_SAFE_NO_PAD.decode(field.as_deref()?).ok();
        let material = match jwk.kty.as_str() {
            "RSA" => Material::Rsa(RsaPublicKeyComponents {
                n: b64(&jwk.n)?,
                e: b64(&jwk.e)?,
            }),
            "EC" => Material::P256([vec![0x04], b64(&jwk.x)?, b64(&jwk.y)?].concat()),
            "OKP" => Material::Ed25519(b64(&jwk.x)?),
            _ => return None,
        };
        Some(Self {
            kid: jwk.kid?,
            kty: jwk.kty,
            crv: jwk.crv,
            alg: jwk.alg,
            material,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Whether this key is one for `alg` (RFC 8725 §2.1, §3.1: the key decides the algorithm,
    /// not the token): `kty`, and `crv` for EC and OKP keys (RFC 7518 §6.1), and the JWK's own
    /// `alg`, which OneID always publishes (RFC 7517 §4.4).
    pub fn is_for(&self, alg: Algorithm) -> bool {
        let (kty, crv) = match alg {
            Algorithm::Rs256 => ("RSA", None),
            Algorithm::Es256 => ("EC", Some("P-256")),
            Algorithm::EdDsa => ("OKP", Some("Ed25519")),
        };
        self.kty == kty
            && self.crv.as_deref() == crv
            && self.alg.as_deref().is_none_or(|a| a == alg.as_str())
    }

    /// Whether `signature` over `message` verifies with this key (the caller has checked
    /// [`Self::is_for`]).
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.material {
            Material::Rsa(key) => key
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, signature)
                .is_ok(),
            Material::P256(point) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, signature)
                    .is_ok()
            }
            Material::Ed25519(key) => UnparsedPublicKey::new(&signature::ED25519, key)
                .verify(message, signature)
                .is_ok(),
        }
    }
}
