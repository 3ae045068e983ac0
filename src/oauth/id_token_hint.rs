//! `id_token_hint`: an ID token OneID issued earlier, sent back by a client to say whom a
//! request is about. One check serves the authorization endpoint (OIDC Core §3.1.2.1) and
//! RP-initiated logout (RP-Initiated Logout 1.0 §2).

use serde::Deserialize;

use super::error::{ErrorCode, OAuthError};
use crate::{domain::Issuer, oidc::jwt, oidc::keys::KeyRing};

/// What a hint says: who, for which clients, in which OIDC session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenHint {
    pub sub: String,
    pub aud: Vec<String>,
    pub sid: Option<String>,
}

#[derive(Deserialize)]
struct HintClaims {
    iss: String,
    sub: String,
    #[serde(deserialize_with = "one_or_many")]
    aud: Vec<String>,
    #[serde(default)]
    sid: Option<String>,
}

/// `aud` is one string or an array of strings (RFC 7519 §4.1.3).
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Aud {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Aud::deserialize(d)? {
        Aud::One(a) => vec![a],
        Aud::Many(a) => a,
    })
}

/// The hint must be an ID token signed by one of OneID's published keys and issued by this
/// issuer (OIDC Core §3.1.2.1; RP-Initiated Logout 1.0 §2). Its expiry does not matter: a
/// hint says who, not when, and the ID token a client holds has usually expired by the time
/// the person signs out. Anything else is `invalid_request`.
pub fn check_id_token_hint(
    keys: &KeyRing,
    issuer: &Issuer,
    token: &str,
) -> Result<IdTokenHint, OAuthError> {
    match jwt::verify_id_token::<HintClaims>(keys, token) {
        Ok(claims) if *issuer == claims.iss => Ok(IdTokenHint {
            sub: claims.sub,
            aud: claims.aud,
            sid: claims.sid,
        }),
        _ => Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "id_token_hint is not an ID token issued by OneID",
        )),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;
    use crate::oidc::{jwt::tests::key_ring, keys::Algorithm};

    fn issuer() -> Issuer {
        Issuer::from_url(&url::Url::parse("https://id.example").unwrap())
    }

    fn signed(ring: &KeyRing, typ: &str, claims: &serde_json::Value) -> String {
        ring.active(Algorithm::Rs256)
            .unwrap()
            .sign_jwt(typ, claims)
            .unwrap()
    }

    #[tokio::test]
    async fn an_expired_id_token_of_this_issuer_is_a_good_hint() {
        let (_dir, ring) = key_ring().await;
        let long_ago = Utc::now().timestamp() - 86_400;
        let token = signed(
            &ring,
            "JWT",
            &json!({ "iss": "https://id.example", "sub": "s1", "aud": "c1", "sid": "x",
                     "exp": long_ago, "iat": long_ago - 600 }),
        );
        assert_eq!(
            check_id_token_hint(&ring, &issuer(), &token).unwrap(),
            IdTokenHint {
                sub: "s1".into(),
                aud: vec!["c1".into()],
                sid: Some("x".into()),
            }
        );
        let many = signed(
            &ring,
            "JWT",
            &json!({ "iss": "https://id.example", "sub": "s1", "aud": ["c1", "c2"] }),
        );
        let hint = check_id_token_hint(&ring, &issuer(), &many).unwrap();
        assert_eq!((hint.aud.len(), hint.sid), (2, None));
    }

    #[tokio::test]
    async fn another_issuer_an_access_token_or_a_forgery_is_refused_with_one_message() {
        let (_dir, ring) = key_ring().await;
        let (_other_dir, other_ring) = key_ring().await;
        let claims = json!({ "iss": "https://id.example", "sub": "s1", "aud": "c1" });
        let refused = [
            signed(
                &ring,
                "JWT",
                &json!({ "iss": "https://id.example/", "sub": "s1", "aud": "c1" }),
            ),
            signed(&ring, "at+jwt", &claims),
            signed(&other_ring, "JWT", &claims),
            "not.a.token".to_owned(),
            String::new(),
        ];
        for token in refused {
            let error = check_id_token_hint(&ring, &issuer(), &token).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidRequest);
            assert_eq!(
                error.description,
                "id_token_hint is not an ID token issued by OneID"
            );
        }
    }
}
