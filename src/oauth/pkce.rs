//! Proof Key for Code Exchange (RFC 7636), S256 only.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Why a PKCE parameter was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    #[error("code_challenge_method must be S256; plain is not allowed (RFC 9700 §2.1.1)")]
    MethodNotS256,
    #[error("code_challenge must be 43 base64url characters (a SHA-256)")]
    MalformedChallenge,
    #[error("this client must use PKCE: send code_challenge and code_challenge_method=S256")]
    ChallengeRequired,
    #[error("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)")]
    MalformedVerifier,
    #[error("code_verifier is required: the authorization request had a code_challenge")]
    VerifierMissing,
    #[error(
        "code_verifier was sent but the authorization request had no code_challenge (RFC 9700 §4.8.2)"
    )]
    Downgrade,
    #[error("code_verifier does not match the code_challenge")]
    Mismatch,
}

/// A validated S256 challenge, as stored with the authorization code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Challenge(String);

impl Challenge {
    /// Checks the challenge parameters of an authorization request. `required` is true for
    /// public clients, and for every client when settings say so.
    pub fn from_request(
        challenge: Option<&str>,
        method: Option<&str>,
        required: bool,
    ) -> Result<Option<Self>, PkceError> {
        match (challenge, method) {
            (None, None) if required => Err(PkceError::ChallengeRequired),
            (None, None) => Ok(None),
            (_, Some(m)) if m != "S256" => Err(PkceError::MethodNotS256),
            // RFC 7636 §4.3 defaults a missing method to plain, which we refuse.
            (Some(_), None) | (None, Some(_)) => Err(PkceError::MethodNotS256),
            (Some(c), Some(_)) => {
                let decoded = URL_SAFE_NO_PAD
                    .decode(c)
                    .map_err(|_| PkceError::MalformedChallenge)?;
                if c.len() != 43 || decoded.len() != 32 {
                    return Err(PkceError::MalformedChallenge);
                }
                Ok(Some(Self(c.to_owned())))
            }
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a token request's verifier against what the authorization request committed to.
pub fn verify(challenge: Option<&Challenge>, verifier: Option<&str>) -> Result<(), PkceError> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(PkceError::Downgrade),
        (Some(_), None) => Err(PkceError::VerifierMissing),
        (Some(challenge), Some(verifier)) => {
            let well_formed = (43..=128).contains(&verifier.len())
                && verifier
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            if !well_formed {
                return Err(PkceError::MalformedVerifier);
            }
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if computed.as_bytes().ct_eq(challenge.0.as_bytes()).into() {
                Ok(())
            } else {
                Err(PkceError::Mismatch)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc_7636_example_verifies() {
        let challenge = Challenge::from_request(Some(CHALLENGE), Some("S256"), true).unwrap();
        assert_eq!(verify(challenge.as_ref(), Some(VERIFIER)), Ok(()));
        assert_eq!(
            verify(challenge.as_ref(), Some(&VERIFIER.replace('d', "e"))),
            Err(PkceError::Mismatch)
        );
    }

    #[test]
    fn plain_and_missing_methods_are_refused() {
        assert_eq!(
            Challenge::from_request(Some(CHALLENGE), Some("plain"), false),
            Err(PkceError::MethodNotS256)
        );
        assert_eq!(
            Challenge::from_request(Some(CHALLENGE), None, false),
            Err(PkceError::MethodNotS256)
        );
        assert_eq!(
            Challenge::from_request(Some("short"), Some("S256"), false),
            Err(PkceError::MalformedChallenge)
        );
    }

    #[test]
    fn public_clients_must_send_a_challenge() {
        assert_eq!(
            Challenge::from_request(None, None, true),
            Err(PkceError::ChallengeRequired)
        );
        assert_eq!(Challenge::from_request(None, None, false), Ok(None));
    }

    #[test]
    fn verifier_rules() {
        let challenge = Challenge::from_request(Some(CHALLENGE), Some("S256"), false).unwrap();
        assert_eq!(
            verify(challenge.as_ref(), None),
            Err(PkceError::VerifierMissing)
        );
        assert_eq!(verify(None, Some(VERIFIER)), Err(PkceError::Downgrade));
        assert_eq!(
            verify(challenge.as_ref(), Some("too-short")),
            Err(PkceError::MalformedVerifier)
        );
        assert_eq!(
            verify(challenge.as_ref(), Some(&"a".repeat(129))),
            Err(PkceError::MalformedVerifier)
        );
        assert_eq!(verify(None, None), Ok(()));
    }
}
