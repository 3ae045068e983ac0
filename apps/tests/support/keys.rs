//! Test signing keys and a JWS signer, shared by the unit tests (through `#[path]`) and the
//! integration tests. RSA keys come from the `rsa` crate, ES256 and EdDSA keys from `ring`.

use std::sync::OnceLock;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use openidconnect::{
    JsonWebKeyId,
    core::{CoreJsonCurveType, CoreJsonWebKey, CoreJsonWebKeySet},
};
use ring::{
    rand::SystemRandom,
    signature::{self as ring_sig, KeyPair as _},
};
use rsa::{
    RsaPrivateKey,
    pkcs1v15::SigningKey as RsaSigningKey,
    signature::{SignatureEncoding, Signer},
    traits::PublicKeyParts,
};
use serde_json::{Value, json};

enum Pair {
    Rsa(RsaSigningKey<sha2::Sha256>),
    Es256(ring_sig::EcdsaKeyPair),
    Ed25519(ring_sig::Ed25519KeyPair),
}

/// A private key with its `kid`, and its public half as a JWK.
pub struct TestKey {
    pub kid: String,
    pair: Pair,
    jwk: CoreJsonWebKey,
}

impl TestKey {
    /// An RS256 key. Generating RSA keys is slow, so every caller shares one per `kid`
    /// of the two offered here.
    pub fn rsa(kid: &str) -> &'static TestKey {
        static A: OnceLock<TestKey> = OnceLock::new();
        static B: OnceLock<TestKey> = OnceLock::new();
        let cell = if kid == "rsa-1" { &A } else { &B };
        cell.get_or_init(|| {
            let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key");
            let jwk = CoreJsonWebKey::new_rsa(
                private.n().to_bytes_be(),
                private.e().to_bytes_be(),
                Some(JsonWebKeyId::new(kid.into())),
            );
            TestKey {
                kid: kid.into(),
                pair: Pair::Rsa(RsaSigningKey::new(private)),
                jwk,
            }
        })
    }

    /// An ES256 (P-256) key.
    pub fn es256(kid: &str) -> TestKey {
        let rng = SystemRandom::new();
        let alg = &ring_sig::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = ring_sig::EcdsaKeyPair::generate_pkcs8(alg, &rng).expect("P-256 key");
        let pair =
            ring_sig::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).expect("P-256 key");
        // An uncompressed point: 0x04 || x || y.
        let point = pair.public_key().as_ref();
        let jwk = CoreJsonWebKey::new_ec(
            point[1..33].to_vec(),
            point[33..65].to_vec(),
            CoreJsonCurveType::P256,
            Some(JsonWebKeyId::new(kid.into())),
        );
        TestKey {
            kid: kid.into(),
            pair: Pair::Es256(pair),
            jwk,
        }
    }

    /// An EdDSA (Ed25519) key.
    pub fn ed25519(kid: &str) -> TestKey {
        let rng = SystemRandom::new();
        let pkcs8 = ring_sig::Ed25519KeyPair::generate_pkcs8(&rng).expect("Ed25519 key");
        let pair = ring_sig::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("Ed25519 key");
        let jwk = CoreJsonWebKey::new_okp(
            pair.public_key().as_ref().to_vec(),
            CoreJsonCurveType::Ed25519,
            Some(JsonWebKeyId::new(kid.into())),
        );
        TestKey {
            kid: kid.into(),
            pair: Pair::Ed25519(pair),
            jwk,
        }
    }

    pub fn alg(&self) -> &'static str {
        match self.pair {
            Pair::Rsa(_) => "RS256",
            Pair::Es256(_) => "ES256",
            Pair::Ed25519(_) => "EdDSA",
        }
    }

    pub fn jwk(&self) -> CoreJsonWebKey {
        self.jwk.clone()
    }

    /// A JWKS holding only this key.
    pub fn jwks(&self) -> CoreJsonWebKeySet {
        CoreJsonWebKeySet::new(vec![self.jwk()])
    }

    /// The standard header for this key: `{"alg","typ","kid"}`.
    pub fn header(&self, typ: &str) -> Value {
        json!({ "alg": self.alg(), "typ": typ, "kid": self.kid })
    }

    /// A compact JWS of `claims` under `header`, signed with this key whatever `alg` says.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let mut jws = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = match &self.pair {
            Pair::Rsa(key) => key.sign(jws.as_bytes()).to_vec(),
            Pair::Es256(pair) => pair
                .sign(&SystemRandom::new(), jws.as_bytes())
                .expect("ES256 signature")
                .as_ref()
                .to_vec(),
            Pair::Ed25519(pair) => pair.sign(jws.as_bytes()).as_ref().to_vec(),
        };
        jws.push('.');
        jws.push_str(&URL_SAFE_NO_PAD.encode(signature));
        jws
    }
}
