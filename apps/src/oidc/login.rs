//! Signing in with OneID, step by step: the authorization code flow with PKCE, `state` and
//! `nonce` (OpenID Connect Core 1.0 §3.1), the UserInfo call (§5.3), and refreshing tokens
//! when the access token has expired (§12).

use openidconnect::{
    AccessToken, AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClaimsVerificationError,
    CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RefreshToken,
    RequestTokenError, Scope, SubjectIdentifier, TokenResponse as _,
    core::{CoreErrorResponseType, CoreGenderClaim, CoreResponseType, CoreUserInfoClaims},
    url::Url,
};

use super::{IdToken, Provider, TokenResponse, error_chain};

/// Access tokens this close to expiry count as expired, so they do not lapse in flight.
const EXPIRY_MARGIN: i64 = 10;

/// A sign-in in flight, kept on the server (never in the browser) until OneID sends the
/// browser back.
pub struct PendingLogin {
    pub state: CsrfToken,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
}

/// The tokens of a signed-in person. `Debug` shows no token.
#[derive(Clone)]
pub struct Tokens {
    pub access: AccessToken,
    pub refresh: Option<RefreshToken>,
    /// The latest ID token: the `id_token_hint` when signing out.
    pub id_token: IdToken,
    /// Seconds since the epoch; `None` when OneID gave no lifetime.
    pub expires_at: Option<i64>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("refresh", &self.refresh.is_some())
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    pub fn access_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now + EXPIRY_MARGIN)
    }
}

/// Who signed in, as this app shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The person's name (`name`), else their account ID.
    pub name: String,
    /// Their OneID account ID (`preferred_username`).
    pub account_id: String,
    pub email: Option<String>,
}

/// The outcome of a sign-in.
#[derive(Debug)]
pub struct SignedIn {
    pub sub: String,
    /// The OneID session (`sid`), which back-channel logout names.
    pub sid: Option<String>,
    pub profile: Profile,
    pub tokens: Tokens,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("OneID answered: {error}")]
    Denied {
        error: String,
        description: Option<String>,
    },
    #[error("the response does not name our issuer (RFC 9207)")]
    WrongIssuer,
    #[error("the code exchange failed: {0}")]
    Exchange(String),
    #[error("the token response has no ID token")]
    NoIdToken,
    #[error("the ID token is invalid: {0}")]
    IdToken(String),
    #[error("the access token does not match the ID token's at_hash")]
    AccessTokenHash,
    #[error("the UserInfo request failed: {0}")]
    UserInfo(String),
}

/// Why tokens could not be refreshed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// OneID refused: the grant was revoked or has expired. The person is signed out.
    #[error("OneID refused the refresh token: {0}")]
    Rejected(String),
    /// Nothing said no (OneID unreachable, say); try again later.
    #[error("refreshing failed: {0}")]
    Unavailable(String),
}

/// What the app may ask OneID for about the person's sign-in (Core §3.1.2.1 `prompt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// `prompt=login`: the person must prove who they are again, even if signed in at OneID.
    Login,
}

impl Prompt {
    /// The app's own `/login?prompt=…` value; anything else is ignored (an ordinary sign-in).
    pub fn parse(value: &str) -> Option<Self> {
        (value == "login").then_some(Self::Login)
    }
}

/// Step 1 (§3.1.2.1): the authorization request, with a fresh `state`, `nonce` and PKCE
/// challenge (RFC 7636, S256), and the `prompt` asked for. The browser goes to the URL; the
/// rest stays here.
pub fn start(provider: &Provider, scopes: &[&str], prompt: Option<Prompt>) -> (Url, PendingLogin) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let current = provider.current();
    let mut request = current.client.authorize_url(
        AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).to_owned()));
    }
    if prompt == Some(Prompt::Login) {
        request = request.add_prompt(openidconnect::core::CoreAuthPrompt::Login);
    }
    let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
    (
        url,
        PendingLogin {
            state,
            nonce,
            verifier,
        },
    )
}

/// What OneID sent the browser back with (§3.1.2.5 and §3.1.2.6).
#[derive(Debug)]
pub enum Callback {
    Code {
        code: String,
        iss: Option<String>,
    },
    Error {
        error: String,
        description: Option<String>,
        iss: Option<String>,
    },
}

/// Steps 2 to 5, once the browser is back and its `state` matched `pending`: check the
/// issuer, exchange the code, verify the ID token, then ask UserInfo who this is.
pub async fn finish(
    provider: &Provider,
    pending: PendingLogin,
    callback: Callback,
    now: i64,
) -> Result<SignedIn, LoginError> {
    let code = check_response(provider, callback)?;
    let response = exchange_code(provider, code, pending.verifier).await?;
    let (id_token, sub, sid) = check_id_token(provider, &response, &pending.nonce).await?;
    let profile = load_profile(provider, response.access_token(), &sub).await?;
    Ok(SignedIn {
        sub,
        sid,
        profile,
        tokens: tokens_from(&response, id_token, None, now),
    })
}

/// RFC 9207 §2.4 (mix-up defence): `iss`, required when OneID advertises it and checked
/// whenever present, is our issuer; then an error response ends here, and a code goes on.
fn check_response(provider: &Provider, callback: Callback) -> Result<String, LoginError> {
    let iss = match &callback {
        Callback::Code { iss, .. } | Callback::Error { iss, .. } => iss.as_deref(),
    };
    match iss {
        Some(iss) if iss != provider.issuer() => return Err(LoginError::WrongIssuer),
        None if provider.requires_iss() => return Err(LoginError::WrongIssuer),
        _ => {}
    }
    match callback {
        Callback::Code { code, .. } => Ok(code),
        Callback::Error {
            error, description, ..
        } => Err(LoginError::Denied { error, description }),
    }
}

/// §3.1.3.1: the code and the PKCE verifier for tokens, authenticated as this client.
async fn exchange_code(
    provider: &Provider,
    code: String,
    verifier: PkceCodeVerifier,
) -> Result<TokenResponse, LoginError> {
    let current = provider.current();
    current
        .client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(provider.http())
        .await
        .map_err(|e| LoginError::Exchange(error_chain(&e)))
}

/// §3.1.3.7: signature (OneID's JWKS, fetched again once if the key is new), `iss`, `aud`,
/// `exp`, our `nonce`; then §3.1.3.8: `at_hash`, when present, matches the access token.
async fn check_id_token(
    provider: &Provider,
    response: &TokenResponse,
    nonce: &Nonce,
) -> Result<(IdToken, String, Option<String>), LoginError> {
    let id_token = response.id_token().ok_or(LoginError::NoIdToken)?;
    let verify = || {
        let current = provider.current();
        let verifier = current.client.id_token_verifier();
        let claims = id_token.claims(&verifier, nonce)?;
        if let Some(expected) = claims.access_token_hash() {
            let alg = id_token
                .signing_alg()
                .map_err(ClaimsVerificationError::SignatureVerification)?;
            let key = id_token
                .signing_key(&verifier)
                .map_err(ClaimsVerificationError::SignatureVerification)?;
            let actual = AccessTokenHash::from_token(response.access_token(), alg, key)
                .map_err(|e| ClaimsVerificationError::Other(e.to_string()))?;
            if actual != *expected {
                return Ok(Err(LoginError::AccessTokenHash));
            }
        }
        Ok(Ok((
            claims.subject().to_string(),
            claims.additional_claims().sid.clone(),
        )))
    };
    let outcome = match verify() {
        Err(e) if is_unknown_key(&e) && provider.refetch_keys().await => verify(),
        other => other,
    };
    let (sub, sid) =
        outcome.map_err(|e: ClaimsVerificationError| LoginError::IdToken(error_chain(&e)))??;
    Ok((id_token.clone(), sub, sid))
}

fn is_unknown_key(e: &ClaimsVerificationError) -> bool {
    matches!(
        e,
        ClaimsVerificationError::SignatureVerification(
            openidconnect::SignatureVerificationError::NoMatchingKey
        )
    )
}

/// §5.3: the person's name and account ID, from UserInfo, whose `sub` must be the ID token's
/// (§5.3.2, token substitution).
async fn load_profile(
    provider: &Provider,
    access_token: &AccessToken,
    sub: &str,
) -> Result<Profile, LoginError> {
    let current = provider.current();
    let claims: CoreUserInfoClaims = current
        .client
        .user_info(
            access_token.clone(),
            Some(SubjectIdentifier::new(sub.to_owned())),
        )
        .request_async::<_, _, CoreGenderClaim>(provider.http())
        .await
        .map_err(|e| LoginError::UserInfo(error_chain(&e)))?;
    let account_id = claims
        .preferred_username()
        .map(|u| u.to_string())
        .unwrap_or_default();
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| account_id.clone());
    Ok(Profile {
        name,
        account_id,
        email: claims.email().map(|e| e.to_string()),
    })
}

/// §12: new tokens for an expired access token. The refresh token rotates; a new ID token,
/// if OneID sends one, must be about the same person (§12.2). Then UserInfo again, so the
/// name shown stays current.
pub async fn refresh(
    provider: &Provider,
    tokens: &Tokens,
    sub: &str,
    now: i64,
) -> Result<(Tokens, Profile), RefreshError> {
    let Some(refresh_token) = &tokens.refresh else {
        return Err(RefreshError::Rejected("no refresh token".into()));
    };
    let current = provider.current();
    let response = current
        .client
        .exchange_refresh_token(refresh_token)
        .request_async(provider.http())
        .await
        .map_err(|e| match &e {
            RequestTokenError::ServerResponse(r)
                if matches!(
                    r.error(),
                    CoreErrorResponseType::InvalidGrant
                        | CoreErrorResponseType::InvalidClient
                        | CoreErrorResponseType::UnauthorizedClient
                ) =>
            {
                RefreshError::Rejected(error_chain(&e))
            }
            _ => RefreshError::Unavailable(error_chain(&e)),
        })?;
    let id_token = match response.id_token() {
        None => tokens.id_token.clone(),
        Some(id_token) => {
            let verifier = current.client.id_token_verifier();
            // A refreshed ID token carries no new nonce (§12.2).
            let claims = id_token
                .claims(&verifier, |_: Option<&Nonce>| Ok(()))
                .map_err(|e| RefreshError::Rejected(error_chain(&e)))?;
            if claims.subject().as_str() != sub {
                return Err(RefreshError::Rejected(
                    "the new ID token is about someone else".into(),
                ));
            }
            id_token.clone()
        }
    };
    let profile = load_profile(provider, response.access_token(), sub)
        .await
        .map_err(|e| RefreshError::Unavailable(e.to_string()))?;
    Ok((
        tokens_from(&response, id_token, tokens.refresh.clone(), now),
        profile,
    ))
}

/// The tokens to keep from a token response. Without a new refresh token, the old one stays.
fn tokens_from(
    response: &TokenResponse,
    id_token: IdToken,
    old_refresh: Option<RefreshToken>,
    now: i64,
) -> Tokens {
    Tokens {
        access: response.access_token().clone(),
        refresh: response.refresh_token().cloned().or(old_refresh),
        id_token,
        expires_at: response
            .expires_in()
            .map(|d| now + i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2)),
    }
}
