//! OpenID Connect Back-Channel Logout 1.0 §2.6: validating a logout token from OneID.
//! Plain values in, a [`LogoutTarget`] or a [`LogoutTokenError`] out; no HTTP here.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use openidconnect::{
    JsonWebKey, SignatureVerificationError,
    core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm},
};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The `events` member that makes a JWT a logout token (§2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How far our clock and OneID's may disagree, in seconds.
pub const CLOCK_SKEW: i64 = 300;

/// What OneID asks us to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutTarget {
    /// Every local session created from this OneID session (`sid`).
    Session { sid: String },
    /// Every local session of this person (`sub`), when the token names no session.
    Subject { sub: String },
}

/// Why a logout token was refused. The message is the public `error_description`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LogoutTokenError {
    #[error("the logout token is not a signed JWT")]
    Malformed,
    #[error("the logout token's JOSE header is invalid")]
    Header,
    #[error("the logout token's typ is not logout+jwt")]
    WrongType,
    #[error("the logout token is signed with an algorithm we do not accept")]
    Algorithm,
    #[error("no key of the issuer matches the logout token's signature")]
    UnknownKey,
    #[error("the logout token's signature is invalid")]
    Signature,
    #[error("the logout token's claims are not a JSON object")]
    Claims,
    #[error("the logout token was not issued by our OpenID provider")]
    Issuer,
    #[error("the logout token is not meant for this client")]
    Audience,
    #[error("the logout token has no valid iat")]
    IssuedAt,
    #[error("the logout token was issued in the future")]
    IssuedInFuture,
    #[error("the logout token has expired")]
    Expired,
    #[error("the logout token has no back-channel logout event")]
    Events,
    #[error("a logout token must not contain a nonce")]
    Nonce,
    #[error("the logout token names neither a session (sid) nor a subject (sub)")]
    NoTarget,
}

/// What a token must match: who issued it and who it is for.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
}

/// Validates `token` (§2.6, steps 2 to 6) and says which sessions to end. `now` is in seconds
/// since the epoch.
pub fn validate(
    token: &str,
    jwks: &CoreJsonWebKeySet,
    expected: Expected<'_>,
    now: i64,
) -> Result<LogoutTarget, LogoutTokenError> {
    let jws = split_compact(token)?;
    let header = parse_header(jws.header)?;
    check_type(&header)?;
    let alg = check_algorithm(&header)?;
    check_signature(&jws, &header, &alg, jwks)?;
    let claims = parse_claims(jws.payload)?;
    check_issuer(&claims, expected.issuer)?;
    check_audience(&claims, expected.client_id)?;
    check_times(&claims, now)?;
    check_events(&claims)?;
    check_no_nonce(&claims)?;
    load_target(&claims)
}

/// The three parts of a compact JWS (RFC 7515 §7.1).
struct CompactJws<'a> {
    header: &'a str,
    payload: &'a str,
    signing_input: &'a str,
    signature: Vec<u8>,
}

/// A logout token is a signed JWT: exactly three base64url parts, and not encrypted (we
/// registered no encryption key, so a five-part JWE cannot be for us).
fn split_compact(token: &str) -> Result<CompactJws<'_>, LogoutTokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(LogoutTokenError::Malformed);
    };
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| LogoutTokenError::Malformed)?;
    Ok(CompactJws {
        header,
        payload,
        signing_input: &token[..header.len() + 1 + payload.len()],
        signature,
    })
}

#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
    crit: Option<Value>,
}

fn parse_header(encoded: &str) -> Result<Header, LogoutTokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| LogoutTokenError::Header)?;
    let header: Header = serde_json::from_slice(&bytes).map_err(|_| LogoutTokenError::Header)?;
    // RFC 7515 §4.1.11: we understand no critical extension, so any `crit` is fatal.
    if header.crit.is_some() {
        return Err(LogoutTokenError::Header);
    }
    Ok(header)
}

/// §2.4 and RFC 8725 §3.11: an explicitly typed logout token says `logout+jwt` (the
/// `application/` prefix may be spelled out). An untyped one is accepted.
fn check_type(header: &Header) -> Result<(), LogoutTokenError> {
    match header
        .typ
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("logout+jwt" | "application/logout+jwt") => Ok(()),
        Some(_) => Err(LogoutTokenError::WrongType),
    }
}

/// §2.6 step 2 (the ID token's rules, Core §3.1.3.7): only asymmetric signatures; never
/// `none`, never an HMAC keyed with something an attacker could know.
fn check_algorithm(header: &Header) -> Result<CoreJwsSigningAlgorithm, LogoutTokenError> {
    let alg: CoreJwsSigningAlgorithm = serde_json::from_value(Value::String(header.alg.clone()))
        .map_err(|_| LogoutTokenError::Algorithm)?;
    match alg {
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256
        | CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384
        | CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512
        | CoreJwsSigningAlgorithm::RsaSsaPssSha256
        | CoreJwsSigningAlgorithm::RsaSsaPssSha384
        | CoreJwsSigningAlgorithm::RsaSsaPssSha512
        | CoreJwsSigningAlgorithm::EcdsaP256Sha256
        | CoreJwsSigningAlgorithm::EcdsaP384Sha384
        | CoreJwsSigningAlgorithm::EdDsa => Ok(alg),
        _ => Err(LogoutTokenError::Algorithm),
    }
}

/// §2.6 step 2: the signature verifies with a key from OneID's JWKS, chosen by `kid` when the
/// header names one. `UnknownKey` (rather than `Signature`) when no key could even be tried,
/// so the caller knows fetching the JWKS again may help after a key rotation.
fn check_signature(
    jws: &CompactJws<'_>,
    header: &Header,
    alg: &CoreJwsSigningAlgorithm,
    jwks: &CoreJsonWebKeySet,
) -> Result<(), LogoutTokenError> {
    let mut tried = false;
    for key in jwks.keys() {
        if let Some(kid) = &header.kid
            && key.key_id().map(|k| k.as_str()) != Some(kid.as_str())
        {
            continue;
        }
        match key.verify_signature(alg, jws.signing_input.as_bytes(), &jws.signature) {
            Ok(()) => return Ok(()),
            // Wrong key type, use or algorithm for this signature: not a candidate.
            Err(SignatureVerificationError::InvalidKey(_)) => {}
            Err(_) => tried = true,
        }
    }
    Err(if tried {
        LogoutTokenError::Signature
    } else {
        LogoutTokenError::UnknownKey
    })
}

fn parse_claims(encoded: &str) -> Result<Map<String, Value>, LogoutTokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| LogoutTokenError::Claims)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(claims)) => Ok(claims),
        _ => Err(LogoutTokenError::Claims),
    }
}

/// §2.6 step 3: `iss` is exactly our issuer.
fn check_issuer(claims: &Map<String, Value>, issuer: &str) -> Result<(), LogoutTokenError> {
    match claims.get("iss") {
        Some(Value::String(iss)) if iss == issuer => Ok(()),
        _ => Err(LogoutTokenError::Issuer),
    }
}

/// §2.6 step 3: `aud` is our client ID, or an array that contains it.
fn check_audience(claims: &Map<String, Value>, client_id: &str) -> Result<(), LogoutTokenError> {
    let ours = |v: &Value| v.as_str() == Some(client_id);
    match claims.get("aud") {
        Some(aud @ Value::String(_)) if ours(aud) => Ok(()),
        Some(Value::Array(auds)) if auds.iter().any(ours) => Ok(()),
        _ => Err(LogoutTokenError::Audience),
    }
}

/// §2.6 step 3: `iat` is present and not in the future; `exp`, when present, has not passed
/// (both give the clocks [`CLOCK_SKEW`] of slack).
fn check_times(claims: &Map<String, Value>, now: i64) -> Result<(), LogoutTokenError> {
    let seconds = |v: &Value| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64));
    let iat = claims
        .get("iat")
        .and_then(seconds)
        .ok_or(LogoutTokenError::IssuedAt)?;
    if iat > now + CLOCK_SKEW {
        return Err(LogoutTokenError::IssuedInFuture);
    }
    match claims.get("exp") {
        None => Ok(()),
        Some(exp) => match seconds(exp) {
            Some(exp) if exp + CLOCK_SKEW > now => Ok(()),
            _ => Err(LogoutTokenError::Expired),
        },
    }
}

/// §2.6 step 5: `events` holds the back-channel logout event, whose value is a JSON object.
fn check_events(claims: &Map<String, Value>) -> Result<(), LogoutTokenError> {
    match claims.get("events") {
        Some(Value::Object(events))
            if events
                .get(BACKCHANNEL_LOGOUT_EVENT)
                .is_some_and(Value::is_object) =>
        {
            Ok(())
        }
        _ => Err(LogoutTokenError::Events),
    }
}

/// §2.6 step 6: no `nonce`, so an ID token can never pass for a logout token.
fn check_no_nonce(claims: &Map<String, Value>) -> Result<(), LogoutTokenError> {
    if claims.contains_key("nonce") {
        return Err(LogoutTokenError::Nonce);
    }
    Ok(())
}

/// §2.6 step 4: a `sid`, a `sub`, or both; the session when there is one.
fn load_target(claims: &Map<String, Value>) -> Result<LogoutTarget, LogoutTokenError> {
    let text = |name: &str| match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(LogoutTokenError::NoTarget),
    };
    match (text("sid")?, text("sub")?) {
        (Some(sid), _) => Ok(LogoutTarget::Session { sid }),
        (None, Some(sub)) => Ok(LogoutTarget::Subject { sub }),
        (None, None) => Err(LogoutTokenError::NoTarget),
    }
}

#[cfg(test)]
mod tests;
