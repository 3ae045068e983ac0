//! Verifying JWTs that OneID itself signed (access tokens presented back to it), against the
//! public keys it publishes.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::{Deserialize, de::DeserializeOwned};

use super::keys::KeyRing;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("not a compact JWS")]
    Malformed,
    #[error("unexpected token type")]
    WrongType,
    #[error("unknown or unpublished signing key")]
    UnknownKey,
    #[error("bad signature")]
    BadSignature,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
}

/// The JWK fields needed to verify, for every key type OneID publishes.
#[derive(Deserialize)]
struct PublicJwk {
    kid: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

fn b64(s: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD.decode(s).map_err(|_| JwtError::Malformed)
}

/// Checks the signature of `token` (and that its `typ` is `expected_typ`) and returns its claims.
/// The caller checks the claims themselves (expiry, issuer, revocation).
pub fn verify<T: DeserializeOwned>(
    keys: &KeyRing,
    token: &str,
    expected_typ: &str,
) -> Result<T, JwtError> {
    let (typ, claims) = verify_signature(keys, token)?;
    if typ.as_deref() != Some(expected_typ) {
        return Err(JwtError::WrongType);
    }
    Ok(claims)
}

/// Checks the signature of an ID token OneID issued (for `id_token_hint`). ID tokens have no
/// explicit `typ` of their own, so what is refused is anything typed as something else: an
/// access token (`at+jwt`) must never pass as an ID token.
pub fn verify_id_token<T: DeserializeOwned>(keys: &KeyRing, token: &str) -> Result<T, JwtError> {
    let (typ, claims) = verify_signature(keys, token)?;
    match typ.as_deref() {
        None | Some("JWT") => Ok(claims),
        Some(_) => Err(JwtError::WrongType),
    }
}

fn verify_signature<T: DeserializeOwned>(
    keys: &KeyRing,
    token: &str,
) -> Result<(Option<String>, T), JwtError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: Header =
        serde_json::from_slice(&b64(header_b64)?).map_err(|_| JwtError::Malformed)?;
    let kid = header.kid.ok_or(JwtError::UnknownKey)?;
    let jwk = keys
        .jwks()
        .keys()
        .iter()
        .filter_map(|k| {
            serde_json::to_value(k)
                .ok()
                .and_then(|v| serde_json::from_value::<PublicJwk>(v).ok())
        })
        .find(|k| k.kid.as_deref() == Some(kid.as_str()))
        .ok_or(JwtError::UnknownKey)?;
    let message = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
    let signature = b64(signature_b64)?;
    let missing = || JwtError::UnknownKey;
    let verified = match header.alg.as_str() {
        "RS256" => RsaPublicKeyComponents {
            n: b64(jwk.n.as_deref().ok_or_else(missing)?)?,
            e: b64(jwk.e.as_deref().ok_or_else(missing)?)?,
        }
        .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, &signature)
        .is_ok(),
        "ES256" => {
            let mut point = vec![0x04];
            point.extend(b64(jwk.x.as_deref().ok_or_else(missing)?)?);
            point.extend(b64(jwk.y.as_deref().ok_or_else(missing)?)?);
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(message, &signature)
                .is_ok()
        }
        "EdDSA" => UnparsedPublicKey::new(
            &signature::ED25519,
            b64(jwk.x.as_deref().ok_or_else(missing)?)?,
        )
        .verify(message, &signature)
        .is_ok(),
        _ => false,
    };
    if !verified {
        return Err(JwtError::BadSignature);
    }
    let claims = serde_json::from_slice(&b64(payload_b64)?).map_err(|_| JwtError::Malformed)?;
    Ok((header.typ, claims))
}
