//! An authorization code's meaning: what the authorization endpoint stores under the code's
//! digest (`oauth::authorize`) and the token endpoint redeems (`oauth::grant::authorization_code`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::pkce::Challenge;
use crate::{
    domain::{AccountId, ClientId},
    oidc::tokens::token_digest,
};

/// Who signed in and how, carried from the authorization request to the ID token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignInContext {
    pub account_id: AccountId,
    pub sub: String,
    pub auth_time: DateTime<Utc>,
    pub sid: String,
    pub amr: Vec<String>,
    pub nonce: Option<String>,
    pub acr: Option<String>,
}

/// What an authorization code stands for. Stored under [`code_key`] for its short life.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeRecord {
    pub client_id: String,
    /// The `redirect_uri` exactly as the authorization request sent it: the token request must
    /// send the identical string (RFC 6749 §4.1.3), not merely one that parses the same.
    pub redirect_uri: String,
    pub scope: String,
    pub expires_at: DateTime<Utc>,
    /// When the code was issued (a code stored by an older OneID has none: its issue time is
    /// then worked out from `expires_at`).
    #[serde(default)]
    pub issued_at: Option<DateTime<Utc>>,
    pub pkce: Option<Challenge>,
    pub sign_in: SignInContext,
}

/// Where an authorization code's [`CodeRecord`] is kept: under the client it was issued to and
/// the code's digest (never the code itself). RFC 6749 §4.1.3 ("ensure that the authorization
/// code was issued to the authenticated confidential client"): the token endpoint looks a code
/// up under the client that authenticated, so another client presenting it finds nothing, and
/// cannot take it from its own client. One atomic take is the whole check, with no read before
/// it.
pub(crate) fn code_key(client: &ClientId, code: &str) -> String {
    format!("authcode:{}:{}", client.as_str(), token_digest(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_kept_under_its_client_and_its_digest_only() {
        let (cloud, talk) = (ClientId::generate(), ClientId::generate());
        let code = "the-code-itself";
        assert_ne!(code_key(&cloud, code), code_key(&talk, code));
        assert_ne!(code_key(&cloud, code), code_key(&cloud, "another-code"));
        assert_eq!(code_key(&cloud, code), code_key(&cloud, code));
        assert!(!code_key(&cloud, code).contains(code));
    }
}
