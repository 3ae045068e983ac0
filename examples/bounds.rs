//! The physical bounds of the side-by-side benchmark (`bench/side_by_side.sh`, issue 14), on
//! the calling thread (the script pins it to the servers' core): OneID's own argon2id password
//! checks per second with its exact parameters (`PasswordHasher::verify` over a hash made by
//! `PasswordHasher::hash`), and signatures per second with aws-lc-rs, the library OneID signs
//! with: RS256 (RSA-2048, PKCS#1 v1.5 SHA-256), ES256 (P-256, fixed-size r || s) and EdDSA.
//!
//!     cargo run --release --example bounds        # BOUNDS_SECS (default 3) per measurement
//!
//! Prints one line of `key=value` pairs.

use std::time::{Duration, Instant};

use aws_lc_rs::{
    rand::SystemRandom,
    signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair},
};
use oneid::domain::{Password, PasswordHasher};

/// Runs `op` for `secs` seconds (after one untimed run) and returns operations per second.
fn rate(secs: f64, mut op: impl FnMut()) -> f64 {
    op();
    let budget = Duration::from_secs_f64(secs);
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < budget {
        op();
        n += 1;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn main() -> anyhow::Result<()> {
    let secs: f64 = std::env::var("BOUNDS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    // A JWT's signing input is about this long (header and claims, base64url).
    let message = vec![b'e'; 400];
    let rng = SystemRandom::new();

    let rsa_pkcs8 = {
        use rsa::pkcs8::EncodePrivateKey as _;
        rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)?
            .to_pkcs8_der()?
            .as_bytes()
            .to_vec()
    };
    let rsa = RsaKeyPair::from_pkcs8(&rsa_pkcs8).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut rsa_signature = vec![0; rsa.public_modulus_len()];
    let rs256 = rate(secs, || {
        rsa.sign(
            &signature::RSA_PKCS1_SHA256,
            &rng,
            &message,
            &mut rsa_signature,
        )
        .expect("RSA signs");
    });

    let ec_alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let ec_pkcs8 =
        EcdsaKeyPair::generate_pkcs8(ec_alg, &rng).map_err(|e| anyhow::anyhow!("{e}"))?;
    let ec =
        EcdsaKeyPair::from_pkcs8(ec_alg, ec_pkcs8.as_ref()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let es256 = rate(secs, || {
        ec.sign(&rng, &message).expect("ECDSA signs");
    });

    let ed_pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|e| anyhow::anyhow!("{e}"))?;
    let ed = Ed25519KeyPair::from_pkcs8(ed_pkcs8.as_ref()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let eddsa = rate(secs, || {
        std::hint::black_box(ed.sign(&message));
    });
    std::hint::black_box(ed.public_key());

    let hasher = PasswordHasher::new();
    let password = Password::parse("correct horse battery staple".to_owned())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let stored = hasher.hash(&password);
    let argon2id = rate(secs, || {
        assert!(hasher.verify(&password, Some(&stored)));
    });

    println!(
        "signer_rs256_sign_per_s={rs256:.0} signer_es256_sign_per_s={es256:.0} \
         signer_eddsa_sign_per_s={eddsa:.0} argon2id_checks_per_s={argon2id:.1} phc={}",
        stored.as_str().split('$').nth(3).unwrap_or("?")
    );
    Ok(())
}
