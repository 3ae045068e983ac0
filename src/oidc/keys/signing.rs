//! One signing key: its algorithm, its ring key pair, and the public JWK relying parties verify with.
//!
//! Every signature is made by aws-lc-rs (AWS-LC, BoringSSL's descendant, behind ring's API):
//! its RSA signing runs at OpenSSL's speed, 1.8 times ring's on the benchmark machine (3,200
//! against 1,800 RS256 signatures a second on one core), and an ID token is one RSA signature.
//! The `rsa` crate only generates RSA keys: its signing is not constant-time
//! (RUSTSEC-2023-0071, the Marvin attack), AWS-LC's is.

use std::fmt;

use aws_lc_rs::{
    rand::SystemRandom,
    signature::{
        self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, RsaPublicKeyComponents,
    },
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use openidconnect::{
    PrivateSigningKey, SigningError,
    core::{CoreJsonWebKey, CoreJwsSigningAlgorithm},
};
use rand::rngs::OsRng;
use serde::Serialize;

use super::KeyError;
use crate::domain::{Algorithm, random_token_of};

/// A key ID (`kid`): 128 random bits, base64url. Public; it only has to be unique.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    pub fn generate() -> Self {
        Self(random_token_of(16))
    }

    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A private key as PKCS#8 DER: what gets sealed. `Debug` never prints it.
pub struct Pkcs8Der(Vec<u8>);

impl Pkcs8Der {
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Pkcs8Der {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pkcs8Der(<redacted>)")
    }
}

enum KeyPair {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A private signing key and its public JWK. `Debug` shows only the kid and algorithm.
pub struct SigningKey {
    kid: KeyId,
    alg: Algorithm,
    pair: KeyPair,
    public: CoreJsonWebKey,
}

impl SigningKey {
    /// RSA modulus size: NIST SP 800-57 rates 2048 bits good through 2030, and it is what
    /// relying parties expect for RS256.
    const RSA_BITS: usize = 2048;

    /// A fresh key with a fresh kid, and its PKCS#8 form for sealing. RSA generation takes
    /// a noticeable fraction of a second: call it off the async executor.
    pub fn generate(alg: Algorithm) -> Result<(Self, Pkcs8Der), KeyError> {
        let rng = SystemRandom::new();
        let failed = |what: &str| KeyError::Generate(format!("{alg}: {what}"));
        let pkcs8 = match alg {
            Algorithm::Rs256 => {
                use rsa::pkcs8::EncodePrivateKey as _;
                let private = rsa::RsaPrivateKey::new(&mut OsRng, Self::RSA_BITS)
                    .map_err(|e| failed(&e.to_string()))?;
                private
                    .to_pkcs8_der()
                    .map_err(|e| failed(&e.to_string()))?
                    .as_bytes()
                    .to_vec()
            }
            Algorithm::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(|_| failed("ring"))?
                    .as_ref()
                    .to_vec()
            }
            Algorithm::EdDsa => Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(|_| failed("ring"))?
                .as_ref()
                .to_vec(),
        };
        let key = Self::from_pkcs8(KeyId::generate(), alg, &pkcs8)?;
        Ok((key, Pkcs8Der(pkcs8)))
    }

    /// Loads a PKCS#8 private key (as generated above, or unsealed from the database).
    pub fn from_pkcs8(kid: KeyId, alg: Algorithm, pkcs8: &[u8]) -> Result<Self, KeyError> {
        let corrupt = |e: aws_lc_rs::error::KeyRejected| KeyError::Corrupt {
            kid: kid.clone(),
            reason: format!("{alg} private key rejected: {e}"),
        };
        let pair = match alg {
            // ring refuses moduli under 2048 bits.
            Algorithm::Rs256 => KeyPair::Rsa(RsaKeyPair::from_pkcs8(pkcs8).map_err(corrupt)?),
            // FIXED: JWS wants r || s, not DER (RFC 7518 §3.4).
            Algorithm::Es256 => KeyPair::Ecdsa(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                    .map_err(corrupt)?,
            ),
            Algorithm::EdDsa => {
                KeyPair::Ed25519(Ed25519KeyPair::from_pkcs8(pkcs8).map_err(corrupt)?)
            }
        };
        let public = public_jwk(&kid, alg, &pair)?;
        Ok(Self {
            kid,
            alg,
            pair,
            public,
        })
    }

    pub fn kid(&self) -> &KeyId {
        &self.kid
    }

    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The public half, as published in the JWKS.
    pub fn public_jwk(&self) -> &CoreJsonWebKey {
        &self.public
    }

    /// A compact JWS over `claims` with header `{"alg","typ","kid"}`: JWT access tokens
    /// (`typ` "at+jwt", RFC 9068 §2.1) and logout tokens ("logout+jwt", OIDC Back-Channel
    /// Logout §2.4). ID tokens go through `openidconnect::core::CoreIdToken::new` instead.
    pub fn sign_jwt(&self, typ: &str, claims: &impl Serialize) -> Result<String, KeyError> {
        #[derive(Serialize)]
        struct Header<'a> {
            alg: &'static str,
            typ: &'a str,
            kid: &'a str,
        }
        let header = serde_json::to_vec(&Header {
            alg: self.alg.as_str(),
            typ,
            kid: self.kid.as_str(),
        })
        .map_err(KeyError::Claims)?;
        let payload = serde_json::to_vec(claims).map_err(KeyError::Claims)?;
        let mut jwt = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature = self.sign_bytes(jwt.as_bytes())?;
        jwt.push('.');
        jwt.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(jwt)
    }

    /// The JWS signature over `message` with this key's own algorithm, timed for the metrics.
    fn sign_bytes(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let started = std::time::Instant::now();
        let signature = self.sign_with_pair(message);
        crate::telemetry::signature(self.alg, started.elapsed());
        signature
    }

    fn sign_with_pair(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        let failed = |_| KeyError::Sign {
            kid: self.kid.clone(),
        };
        match &self.pair {
            KeyPair::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .map_err(failed)?;
                Ok(signature)
            }
            KeyPair::Ecdsa(pair) => Ok(pair.sign(&rng, message).map_err(failed)?.as_ref().to_vec()),
            KeyPair::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl PrivateSigningKey for SigningKey {
    type VerificationKey = CoreJsonWebKey;

    /// Signs only with the key's own algorithm: an RSA key asked for RS512, or any key asked
    /// for another family, is refused rather than silently used differently.
    fn sign(
        &self,
        signature_alg: &CoreJwsSigningAlgorithm,
        message: &[u8],
    ) -> Result<Vec<u8>, SigningError> {
        if *signature_alg != self.alg.jws() {
            return Err(SigningError::UnsupportedAlg(format!(
                "key {} signs only with {}, not {signature_alg:?}",
                self.kid, self.alg
            )));
        }
        self.sign_bytes(message)
            .map_err(|_| SigningError::CryptoError)
    }

    fn as_verification_key(&self) -> CoreJsonWebKey {
        self.public.clone()
    }
}

/// The public JWK: `kty`, the key parameters, and `use`, `alg`, `kid` so that relying parties
/// pick the right key (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2). Built as JSON because
/// `CoreJsonWebKey`'s constructors cannot set `alg`.
fn public_jwk(kid: &KeyId, alg: Algorithm, pair: &KeyPair) -> Result<CoreJsonWebKey, KeyError> {
    let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    let mut jwk = match pair {
        KeyPair::Rsa(pair) => {
            let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
            serde_json::json!({ "kty": "RSA", "n": b64(&public.n), "e": b64(&public.e) })
        }
        KeyPair::Ecdsa(pair) => {
            // ring gives the SEC1 uncompressed point: 0x04 || x || y.
            let [0x04, point @ ..] = pair.public_key().as_ref() else {
                return Err(KeyError::Corrupt {
                    kid: kid.clone(),
                    reason: "P-256 public key is not an uncompressed point".into(),
                });
            };
            let (x, y) = point.split_at(point.len() / 2);
            serde_json::json!({ "kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y) })
        }
        KeyPair::Ed25519(pair) => {
            serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref()) })
        }
    };
    jwk["use"] = "sig".into();
    jwk["alg"] = alg.as_str().into();
    jwk["kid"] = kid.as_str().into();
    serde_json::from_value(jwk).map_err(|e| KeyError::Corrupt {
        kid: kid.clone(),
        reason: format!("public JWK: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use std::{
        str::FromStr as _,
        sync::OnceLock,
        time::{Duration as StdDuration, Instant},
    };

    use chrono::{Duration, TimeZone as _, Utc};
    use openidconnect::{
        Audience, ClientId, EmptyAdditionalClaims, IssuerUrl, Nonce, StandardClaims,
        SubjectIdentifier,
        core::{CoreIdToken, CoreIdTokenClaims, CoreIdTokenVerifier, CoreJsonWebKeySet},
    };
    use serde_json::{Value, json};

    use super::*;

    /// RSA generation is slow in debug builds: one key of each algorithm for all tests here.
    fn key(alg: Algorithm) -> &'static SigningKey {
        static KEYS: OnceLock<Vec<SigningKey>> = OnceLock::new();
        let keys = KEYS.get_or_init(|| {
            Algorithm::ALL
                .into_iter()
                .map(|alg| SigningKey::generate(alg).unwrap().0)
                .collect()
        });
        keys.iter().find(|k| k.alg() == alg).unwrap()
    }

    fn jwk_json(key: &SigningKey) -> Value {
        serde_json::to_value(key.public_jwk()).unwrap()
    }

    fn decode_field(jwk: &Value, name: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD
            .decode(
                jwk[name]
                    .as_str()
                    .unwrap_or_else(|| panic!("no {name} in {jwk}")),
            )
            .unwrap()
    }

    /// Verifies with ring's verification API, from nothing but the published JWK parameters.
    fn verify_with_jwk(jwk: &Value, message: &[u8], signature: &[u8]) -> bool {
        match jwk["alg"].as_str().unwrap() {
            "RS256" => RsaPublicKeyComponents {
                n: decode_field(jwk, "n"),
                e: decode_field(jwk, "e"),
            }
            .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, signature)
            .is_ok(),
            "ES256" => {
                let point = [vec![0x04], decode_field(jwk, "x"), decode_field(jwk, "y")].concat();
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, signature)
                    .is_ok()
            }
            "EdDSA" => {
                signature::UnparsedPublicKey::new(&signature::ED25519, decode_field(jwk, "x"))
                    .verify(message, signature)
                    .is_ok()
            }
            other => panic!("unexpected alg {other}"),
        }
    }

    #[test]
    fn algorithm_names_round_trip_and_are_case_sensitive() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::parse(alg.as_str()).unwrap(), alg);
            assert_eq!(Algorithm::from_jws(&alg.jws()), Some(alg));
            // openidconnect's own serde name agrees with ours.
            assert_eq!(serde_json::to_value(alg.jws()).unwrap(), alg.as_str());
        }
        assert!(Algorithm::parse("rs256").is_err());
        assert!(Algorithm::parse("none").is_err());
        assert_eq!(
            Algorithm::from_jws(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512),
            None
        );
    }

    #[test]
    fn every_algorithm_signs_and_the_signature_verifies_against_the_published_jwk() {
        for alg in Algorithm::ALL {
            let key = key(alg);
            let jwk = jwk_json(key);
            let signature = PrivateSigningKey::sign(key, &alg.jws(), b"message").unwrap();
            assert!(verify_with_jwk(&jwk, b"message", &signature), "{alg}");
            assert!(
                !verify_with_jwk(&jwk, b"messagE", &signature),
                "{alg}: verified a different message"
            );
            // And openidconnect, the relying party's library, agrees.
            use openidconnect::JsonWebKey as _;
            key.public_jwk()
                .verify_signature(&alg.jws(), b"message", &signature)
                .unwrap();
        }
    }

    #[test]
    fn another_algorithm_is_refused() {
        let rsa = key(Algorithm::Rs256);
        for wrong in [
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
            CoreJwsSigningAlgorithm::RsaSsaPssSha256,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        ] {
            assert!(
                matches!(
                    PrivateSigningKey::sign(rsa, &wrong, b"m"),
                    Err(SigningError::UnsupportedAlg(_))
                ),
                "{wrong:?}"
            );
        }
        assert!(
            PrivateSigningKey::sign(
                key(Algorithm::EdDsa),
                &CoreJwsSigningAlgorithm::EcdsaP256Sha256,
                b"m"
            )
            .is_err()
        );
        assert!(
            PrivateSigningKey::sign(
                key(Algorithm::Es256),
                &CoreJwsSigningAlgorithm::EcdsaP384Sha384,
                b"m"
            )
            .is_err()
        );
    }

    #[test]
    fn the_jwk_names_its_type_algorithm_use_kid_and_curve() {
        let expected = [
            (Algorithm::Rs256, "RSA", None),
            (Algorithm::Es256, "EC", Some("P-256")),
            (Algorithm::EdDsa, "OKP", Some("Ed25519")),
        ];
        for (alg, kty, crv) in expected {
            let key = key(alg);
            let jwk = jwk_json(key);
            assert_eq!(jwk["kty"], kty, "{jwk}");
            assert_eq!(jwk["alg"], alg.as_str(), "{jwk}");
            assert_eq!(jwk["use"], "sig", "{jwk}");
            assert_eq!(jwk["kid"], key.kid().as_str(), "{jwk}");
            assert_eq!(jwk["crv"].as_str(), crv, "{jwk}");
            assert!(jwk.get("d").is_none(), "private part published: {jwk}");
            match alg {
                Algorithm::Rs256 => {
                    assert_eq!(decode_field(&jwk, "n").len(), 256);
                    assert_eq!(decode_field(&jwk, "e"), [1, 0, 1]);
                }
                Algorithm::Es256 => {
                    assert_eq!(decode_field(&jwk, "x").len(), 32);
                    assert_eq!(decode_field(&jwk, "y").len(), 32);
                }
                Algorithm::EdDsa => assert_eq!(decode_field(&jwk, "x").len(), 32),
            }
        }
        assert_eq!(key(Algorithm::Rs256).kid().as_str().len(), 22);
    }

    #[test]
    fn a_key_reloaded_from_pkcs8_is_the_same_key() {
        for alg in [Algorithm::Es256, Algorithm::EdDsa] {
            let (key, pkcs8) = SigningKey::generate(alg).unwrap();
            let reloaded = SigningKey::from_pkcs8(key.kid().clone(), alg, pkcs8.expose()).unwrap();
            assert_eq!(reloaded.public_jwk(), key.public_jwk());
            assert!(
                SigningKey::from_pkcs8(key.kid().clone(), Algorithm::Rs256, pkcs8.expose())
                    .is_err(),
                "{alg} loaded as RSA"
            );
        }
        assert!(SigningKey::from_pkcs8(KeyId::generate(), Algorithm::EdDsa, b"not a key").is_err());
    }

    #[test]
    fn debug_shows_no_private_material() {
        let (key, pkcs8) = SigningKey::generate(Algorithm::EdDsa).unwrap();
        assert_eq!(format!("{pkcs8:?}"), "Pkcs8Der(<redacted>)");
        let debug = format!("{key:?}");
        assert!(
            debug.contains(key.kid().as_str()) && debug.contains("EdDsa"),
            "{debug}"
        );
        assert!(!debug.contains(&URL_SAFE_NO_PAD.encode(pkcs8.expose())));
    }

    #[test]
    fn id_tokens_verify_with_the_relying_party_library_for_every_algorithm() {
        let issuer = IssuerUrl::new("https://id.example.com".into()).unwrap();
        let client_id = ClientId::new("app".into());
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
        let jwks = CoreJsonWebKeySet::new(
            Algorithm::ALL
                .into_iter()
                .map(|alg| key(alg).public_jwk().clone())
                .collect(),
        );
        let nonce = Nonce::new("n-0S6_WzA2Mj".into());
        for alg in Algorithm::ALL {
            let claims = CoreIdTokenClaims::new(
                issuer.clone(),
                vec![Audience::new(client_id.as_str().to_owned())],
                now + Duration::minutes(10),
                now,
                StandardClaims::new(SubjectIdentifier::new("subject-1".into())),
                EmptyAdditionalClaims {},
            )
            .set_nonce(Some(nonce.clone()));
            let token = CoreIdToken::new(claims, key(alg), alg.jws(), None, None).unwrap();
            // Over the wire and back, as a relying party receives it.
            let received = CoreIdToken::from_str(&token.to_string()).unwrap();
            let verifier = CoreIdTokenVerifier::new_public_client(
                client_id.clone(),
                issuer.clone(),
                jwks.clone(),
            )
            .set_allowed_algs([alg.jws()])
            .set_time_fn(move || now + Duration::minutes(1));
            let verified = received
                .claims(&verifier, &nonce)
                .unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert_eq!(verified.subject().as_str(), "subject-1");

            // The header names this key, so the verifier did not just try every key.
            let header: Value = serde_json::from_slice(
                &URL_SAFE_NO_PAD
                    .decode(token.to_string().split('.').next().unwrap())
                    .unwrap(),
            )
            .unwrap();
            assert_eq!(header["kid"], key(alg).kid().as_str());
            assert_eq!(header["alg"], alg.as_str());

            // A verifier holding only the other algorithms' keys refuses it.
            let others = CoreJsonWebKeySet::new(
                Algorithm::ALL
                    .into_iter()
                    .filter(|a| *a != alg)
                    .map(|a| key(a).public_jwk().clone())
                    .collect(),
            );
            let stranger =
                CoreIdTokenVerifier::new_public_client(client_id.clone(), issuer.clone(), others)
                    .set_allowed_algs([alg.jws()])
                    .set_time_fn(move || now + Duration::minutes(1));
            assert!(
                received.claims(&stranger, &nonce).is_err(),
                "{alg}: verified without its key"
            );
        }
    }

    #[test]
    fn sign_jwt_produces_a_compact_jws_with_the_given_type_and_kid() {
        let claims = json!({ "iss": "https://id.example.com", "sub": "subject-1", "client_id": "app", "jti": "x" });
        for alg in Algorithm::ALL {
            let key = key(alg);
            let jwt = key.sign_jwt("at+jwt", &claims).unwrap();
            let parts: Vec<&str> = jwt.split('.').collect();
            assert_eq!(parts.len(), 3, "{jwt}");
            assert!(!jwt.contains('='), "base64url without padding: {jwt}");
            let header: Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
            assert_eq!(
                header,
                json!({ "alg": alg.as_str(), "typ": "at+jwt", "kid": key.kid().as_str() })
            );
            let payload: Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
            assert_eq!(payload, claims);
            let signing_input = format!("{}.{}", parts[0], parts[1]);
            let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
            assert!(
                verify_with_jwk(&jwk_json(key), signing_input.as_bytes(), &signature),
                "{alg}"
            );
            let forged = format!(
                "{}.{}",
                parts[0],
                URL_SAFE_NO_PAD.encode(br#"{"sub":"admin"}"#)
            );
            assert!(
                !verify_with_jwk(&jwk_json(key), forged.as_bytes(), &signature),
                "{alg}"
            );
        }
    }

    /// Release-mode numbers for the README:
    /// `cargo test --release --lib measure_signing_speed -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check; run in release mode"]
    fn measure_signing_speed() {
        const SIGNATURES: u32 = 200;
        let message = [0x5a_u8; 512];
        for alg in Algorithm::ALL {
            let key = key(alg);
            let start = Instant::now();
            for _ in 0..SIGNATURES {
                std::hint::black_box(key.sign_bytes(std::hint::black_box(&message)).unwrap());
            }
            let mean: StdDuration = start.elapsed() / SIGNATURES;
            println!(
                "{alg}: {:.1} µs per signature (mean of {SIGNATURES})",
                mean.as_secs_f64() * 1e6
            );
        }
    }
}
