//! Verifying JWTs that OneID itself signed (access tokens presented back to it), against the
//! public keys it publishes.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, de::DeserializeOwned};

use super::keys::{Algorithm, KeyRing};

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
    /// `none`, an HMAC, or anything else OneID never signs with.
    #[error("unsupported signing algorithm")]
    UnsupportedAlgorithm,
    /// The header's `alg` is not the algorithm of the key its `kid` names.
    #[error("the algorithm does not match the key")]
    AlgorithmMismatch,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
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
    // RFC 8725 §3.1: only the algorithms OneID signs with; `none` and HMACs never verify.
    let alg = Algorithm::parse(&header.alg).map_err(|_| JwtError::UnsupportedAlgorithm)?;
    let kid = header.kid.ok_or(JwtError::UnknownKey)?;
    // The published keys were decoded once, when the ring loaded.
    let key = keys.verifying_key(&kid).ok_or(JwtError::UnknownKey)?;
    if !key.is_for(alg) {
        return Err(JwtError::AlgorithmMismatch);
    }
    let message = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
    if !key.verifies(message, &b64(signature_b64)?) {
        return Err(JwtError::BadSignature);
    }
    let claims = serde_json::from_slice(&b64(payload_b64)?).map_err(|_| JwtError::Malformed)?;
    Ok((header.typ, claims))
}

#[cfg(test)]
pub(crate) mod tests {

    use chrono::Utc;
    use ring::hmac;
    use serde_json::{Value, json};

    use super::*;
    use crate::oidc::keys::{KeyEncryptionKey, ensure_keys};

    /// A ring with one active key per algorithm, over a temporary SQLite database.
    pub(crate) async fn key_ring() -> (tempfile::TempDir, KeyRing) {
        let (dir, db) = crate::db::testing::temp_sqlite();
        let ring = ensure_keys(&db, &KeyEncryptionKey::from_bytes([7; 32]), Utc::now())
            .await
            .unwrap();
        (dir, ring)
    }

    fn token(ring: &KeyRing, alg: Algorithm) -> String {
        ring.active(alg)
            .unwrap()
            .sign_jwt("at+jwt", &json!({ "sub": "s" }))
            .unwrap()
    }

    /// `token` with its header replaced by `header` and its signature by `signature`.
    fn reforged(token: &str, header: &Value, signature: Option<&[u8]>) -> String {
        let mut parts = token.split('.');
        let (_, payload, original) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
        let header = URL_SAFE_NO_PAD.encode(header.to_string());
        let signature =
            signature.map_or_else(|| original.to_owned(), |s| URL_SAFE_NO_PAD.encode(s));
        format!("{header}.{payload}.{signature}")
    }

    fn kid(ring: &KeyRing, alg: Algorithm) -> String {
        ring.active(alg).unwrap().kid().as_str().to_owned()
    }

    #[tokio::test]
    async fn each_algorithm_verifies_with_its_own_key() {
        let (_dir, ring) = key_ring().await;
        for alg in Algorithm::ALL {
            let claims: Value = verify(&ring, &token(&ring, alg), "at+jwt").unwrap();
            assert_eq!(claims["sub"], "s", "{alg}");
        }
    }

    #[tokio::test]
    async fn an_alg_that_is_not_the_key_type_of_its_kid_is_refused() {
        let (_dir, ring) = key_ring().await;
        for (signed_by, claimed) in [
            (Algorithm::Rs256, Algorithm::Es256),
            (Algorithm::Rs256, Algorithm::EdDsa),
            (Algorithm::Es256, Algorithm::EdDsa),
            (Algorithm::Es256, Algorithm::Rs256),
            (Algorithm::EdDsa, Algorithm::Es256),
            (Algorithm::EdDsa, Algorithm::Rs256),
        ] {
            let header =
                json!({ "alg": claimed.as_str(), "typ": "at+jwt", "kid": kid(&ring, signed_by) });
            let forged = reforged(&token(&ring, signed_by), &header, None);
            assert_eq!(
                verify::<Value>(&ring, &forged, "at+jwt").unwrap_err(),
                JwtError::AlgorithmMismatch,
                "{claimed} with the kid of a {signed_by} key"
            );
            assert_eq!(
                verify_id_token::<Value>(&ring, &forged).unwrap_err(),
                JwtError::AlgorithmMismatch
            );
        }
    }

    #[tokio::test]
    async fn none_and_hmac_are_refused_whatever_the_kid() {
        let (_dir, ring) = key_ring().await;
        let rsa = token(&ring, Algorithm::Rs256);
        let rsa_kid = kid(&ring, Algorithm::Rs256);
        // The classic confusion: an HMAC keyed with the public key the JWKS publishes.
        let jwk =
            serde_json::to_string(ring.active(Algorithm::Rs256).unwrap().public_jwk()).unwrap();
        for alg in [
            "none", "HS256", "HS512", "RS512", "PS256", "ES384", "rs256", "",
        ] {
            let header = json!({ "alg": alg, "typ": "at+jwt", "kid": rsa_kid });
            let unsigned = reforged(&rsa, &header, Some(b""));
            assert_eq!(
                verify::<Value>(&ring, &unsigned, "at+jwt").unwrap_err(),
                JwtError::UnsupportedAlgorithm,
                "{alg}"
            );
            let message = unsigned.rsplit_once('.').unwrap().0.to_owned();
            let key = hmac::Key::new(hmac::HMAC_SHA256, jwk.as_bytes());
            let mac = hmac::sign(&key, message.as_bytes());
            let keyed = reforged(&rsa, &header, Some(mac.as_ref()));
            assert_eq!(
                verify_id_token::<Value>(&ring, &keyed).unwrap_err(),
                JwtError::UnsupportedAlgorithm,
                "{alg}"
            );
        }
        let without_kid = reforged(&rsa, &json!({ "alg": "none" }), Some(b""));
        assert_eq!(
            verify_id_token::<Value>(&ring, &without_kid).unwrap_err(),
            JwtError::UnsupportedAlgorithm
        );
    }
}
