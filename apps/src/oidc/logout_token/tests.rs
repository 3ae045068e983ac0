use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::*;

#[path = "../../../tests/support/keys.rs"]
mod keys;
use keys::TestKey;

const ISSUER: &str = "https://id.example.com";
const CLIENT: &str = "client-talk";
const NOW: i64 = 1_750_000_000;

fn expected() -> Expected<'static> {
    Expected {
        issuer: ISSUER,
        client_id: CLIENT,
    }
}

/// The claims OneID sends (§2.4): everything a valid token has.
fn claims() -> Value {
    json!({
        "iss": ISSUER,
        "aud": CLIENT,
        "iat": NOW,
        "exp": NOW + 120,
        "jti": "a1b2c3",
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
        "sid": "sid-1",
        "sub": "sub-1",
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

fn check(key: &TestKey, claims: &Value) -> Result<LogoutTarget, LogoutTokenError> {
    let token = key.sign(&key.header("logout+jwt"), claims);
    validate(&token, &key.jwks(), expected(), NOW)
}

fn rsa() -> &'static TestKey {
    TestKey::rsa("rsa-1")
}

#[test]
fn a_valid_token_names_the_session() {
    assert_eq!(
        check(rsa(), &claims()),
        Ok(LogoutTarget::Session {
            sid: "sid-1".into()
        })
    );
}

#[test]
fn without_sid_the_subject_is_signed_out() {
    assert_eq!(
        check(rsa(), &without(claims(), "sid")),
        Ok(LogoutTarget::Subject {
            sub: "sub-1".into()
        })
    );
}

#[test]
fn es256_and_eddsa_tokens_are_accepted() {
    for key in [TestKey::es256("ec-1"), TestKey::ed25519("ed-1")] {
        assert_eq!(
            check(&key, &claims()),
            Ok(LogoutTarget::Session {
                sid: "sid-1".into()
            }),
            "{}",
            key.alg()
        );
    }
}

#[test]
fn an_audience_array_that_includes_us_is_accepted() {
    let claims = with(claims(), "aud", json!(["someone-else", CLIENT]));
    assert!(check(rsa(), &claims).is_ok());
}

#[test]
fn untyped_and_media_typed_headers_are_accepted() {
    let key = rsa();
    let untyped = json!({ "alg": "RS256", "kid": key.kid });
    let token = key.sign(&untyped, &claims());
    assert!(validate(&token, &key.jwks(), expected(), NOW).is_ok());
    let token = key.sign(&key.header("application/logout+jwt"), &claims());
    assert!(validate(&token, &key.jwks(), expected(), NOW).is_ok());
}

#[test]
fn a_key_without_kid_in_the_header_is_found_by_trying() {
    let key = rsa();
    let token = key.sign(&json!({ "alg": "RS256", "typ": "logout+jwt" }), &claims());
    assert!(validate(&token, &key.jwks(), expected(), NOW).is_ok());
}

#[test]
fn wrong_audience_is_rejected() {
    let claims = with(claims(), "aud", json!("client-forum"));
    assert_eq!(check(rsa(), &claims), Err(LogoutTokenError::Audience));
    let claims = with(claims.clone(), "aud", json!(["client-forum"]));
    assert_eq!(check(rsa(), &claims), Err(LogoutTokenError::Audience));
}

#[test]
fn wrong_issuer_is_rejected() {
    let claims = with(claims(), "iss", json!("https://evil.example.com"));
    assert_eq!(check(rsa(), &claims), Err(LogoutTokenError::Issuer));
    assert_eq!(
        check(rsa(), &without(self::claims(), "iss")),
        Err(LogoutTokenError::Issuer)
    );
}

#[test]
fn a_nonce_is_rejected() {
    let claims = with(claims(), "nonce", json!("n-0S6_WzA2Mj"));
    assert_eq!(check(rsa(), &claims), Err(LogoutTokenError::Nonce));
}

#[test]
fn missing_or_wrong_events_are_rejected() {
    assert_eq!(
        check(rsa(), &without(claims(), "events")),
        Err(LogoutTokenError::Events)
    );
    let other_event = with(
        claims(),
        "events",
        json!({ "http://example.com/other": {} }),
    );
    assert_eq!(check(rsa(), &other_event), Err(LogoutTokenError::Events));
    let not_object = with(
        claims(),
        "events",
        json!({ BACKCHANNEL_LOGOUT_EVENT: "yes" }),
    );
    assert_eq!(check(rsa(), &not_object), Err(LogoutTokenError::Events));
}

#[test]
fn a_bad_signature_is_rejected() {
    // Signed by another key that claims the trusted key's kid.
    let trusted = rsa();
    let forger = TestKey::rsa("rsa-2");
    let token = forger.sign(&trusted.header("logout+jwt"), &claims());
    assert_eq!(
        validate(&token, &trusted.jwks(), expected(), NOW),
        Err(LogoutTokenError::Signature)
    );
    // A genuine token whose claims were changed afterwards.
    let token = trusted.sign(&trusted.header("logout+jwt"), &claims());
    let mut parts: Vec<&str> = token.split('.').collect();
    let tampered = URL_SAFE_NO_PAD.encode(with(claims(), "sid", json!("sid-2")).to_string());
    parts[1] = &tampered;
    assert_eq!(
        validate(&parts.join("."), &trusted.jwks(), expected(), NOW),
        Err(LogoutTokenError::Signature)
    );
}

#[test]
fn an_unknown_kid_says_so() {
    let key = TestKey::es256("ec-new");
    let token = key.sign(&key.header("logout+jwt"), &claims());
    assert_eq!(
        validate(&token, &rsa().jwks(), expected(), NOW),
        Err(LogoutTokenError::UnknownKey)
    );
}

#[test]
fn neither_sid_nor_sub_is_rejected() {
    let claims = without(without(claims(), "sid"), "sub");
    assert_eq!(check(rsa(), &claims), Err(LogoutTokenError::NoTarget));
    let empty = with(without(self::claims(), "sub"), "sid", json!(""));
    assert_eq!(check(rsa(), &empty), Err(LogoutTokenError::NoTarget));
}

#[test]
fn times_are_checked() {
    assert_eq!(
        check(rsa(), &without(claims(), "iat")),
        Err(LogoutTokenError::IssuedAt)
    );
    let future = with(claims(), "iat", json!(NOW + CLOCK_SKEW + 60));
    assert_eq!(check(rsa(), &future), Err(LogoutTokenError::IssuedInFuture));
    let expired = with(claims(), "exp", json!(NOW - CLOCK_SKEW - 1));
    assert_eq!(check(rsa(), &expired), Err(LogoutTokenError::Expired));
    // Within the skew, and without exp at all, the token is fine.
    let slightly_ahead = with(claims(), "iat", json!(NOW + 60));
    assert!(check(rsa(), &slightly_ahead).is_ok());
    assert!(check(rsa(), &without(claims(), "exp")).is_ok());
}

#[test]
fn other_token_types_are_rejected() {
    let key = rsa();
    let token = key.sign(&key.header("JWT"), &claims());
    assert_eq!(
        validate(&token, &key.jwks(), expected(), NOW),
        Err(LogoutTokenError::WrongType)
    );
}

#[test]
fn unsigned_and_symmetric_tokens_are_rejected() {
    let key = rsa();
    let body = URL_SAFE_NO_PAD.encode(claims().to_string());
    for alg in ["none", "HS256", "RS1"] {
        let header = URL_SAFE_NO_PAD.encode(json!({ "alg": alg, "typ": "logout+jwt" }).to_string());
        let token = format!("{header}.{body}.");
        assert_eq!(
            validate(&token, &key.jwks(), expected(), NOW),
            Err(LogoutTokenError::Algorithm),
            "{alg}"
        );
    }
}

#[test]
fn garbage_is_malformed() {
    for token in ["", "abc", "a.b", "a.b.c.d", "a.b.!!!"] {
        assert!(
            validate(token, &rsa().jwks(), expected(), NOW).is_err(),
            "{token}"
        );
    }
    let crit = json!({ "alg": "RS256", "typ": "logout+jwt", "kid": "rsa-1", "crit": ["exp"] });
    let token = rsa().sign(&crit, &claims());
    assert_eq!(
        validate(&token, &rsa().jwks(), expected(), NOW),
        Err(LogoutTokenError::Header)
    );
}
