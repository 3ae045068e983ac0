//! The token endpoint's grants, one module each: [`authorization_code`] (RFC 6749 §4.1.3),
//! [`refresh_token`] (RFC 6749 §6) and [`client_credentials`] (RFC 6749 §4.4), each a list of
//! named `check_*` / `load_*` / `issue_*` steps; and here what they share: the typed refusal,
//! client authentication, the issuance of a grant and its tokens, and the run of oxide-auth's
//! machine.
//!
//! oxide-auth runs each grant's state machine and calls back into `engine.rs`, whose
//! primitives only call the steps below and record the first refusal. A refusal is a
//! [`GrantError`] returned by the step that refuses, so a request that breaks two rules gets
//! the first rule's error, and the order of the rules is the order of the calls in the grant's
//! module.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use chrono::{DateTime, Duration, Utc};

use super::{
    Context,
    client_auth::credentials_match,
    code::SignInContext,
    error::{ErrorCode, OAuthError},
    params::AuthMethod,
    pkce::PkceError,
    warm::Epoch,
};
use crate::{
    db::{
        DbConn, DbError,
        models::{
            client::Client,
            grant::{self, Grant, Outlived},
        },
    },
    domain::{GrantType, Scopes, random_token},
    oidc::{
        keys::KeyRing,
        tokens::{AccessTokenClaims, sign_access_token, token_digest},
    },
    store::StoreError,
};

/// Why the token endpoint refused a grant: each variant is the refusal of one step. The RFC
/// 6749 §5.2 error code and the description the client sees follow from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantError {
    /// The client did not authenticate the way it registered (RFC 6749 §2.3): `invalid_client`.
    ClientAuthFailed,
    /// Authenticated, but not registered for this grant type: `unauthorized_client`.
    GrantTypeNotAllowed,
    /// Authenticated, but an administrator disabled the client: `unauthorized_client` (RFC
    /// 6749 §5.2: "the authenticated client is not authorized to use this authorization grant
    /// type"). Said only after authentication, so it tells nothing to whoever lacks the secret.
    ClientDisabled,
    /// No such code, or one issued to another client.
    CodeInvalid,
    /// The code was redeemed before; what it gave is now revoked.
    CodeReplayed,
    CodeExpired,
    /// The token request's `redirect_uri` is not the authorization request's, to the character.
    RedirectUriMismatch,
    /// The sign-in behind the code or the grant no longer stands.
    Outlived(Outlived),
    Pkce(PkceError),
    /// A refresh token presented a second time; its grant is now revoked.
    RefreshReused,
    /// The refresh token is unknown, spent, expired, revoked, or another client's.
    RefreshDead,
    /// The person the code was issued for no longer has an account.
    AccountGone,
    /// client_credentials: none of the requested scopes is one the client is registered for:
    /// `invalid_scope` (RFC 6749 §5.2: "the requested scope is invalid, unknown, malformed, or
    /// exceeds the scope granted by the resource owner"). It was a `server_error` before the
    /// grants were named steps, because oxide-auth saw only a failed primitive.
    NoScope,
    /// Refused by oxide-auth's own checks (a malformed request, a scope that grows), with the
    /// code it gave; `server_error` when its primitive failed without a step refusing.
    Refused(ErrorCode),
    /// The database, the store or the signing keys failed: `temporarily_unavailable`. The
    /// detail is for the log only.
    Unavailable(String),
    /// A bug: `server_error`. The detail is for the log only.
    Server(String),
    /// Not a refusal: a machine run inline from warm copies reached a step that needs the
    /// database or the store, before anything was written; it is run again on the blocking
    /// pool ([`Io`]). Never answered to a client.
    NeedsIo,
}

impl From<GrantError> for OAuthError {
    fn from(e: GrantError) -> Self {
        let invalid_grant =
            |description: &'static str| Self::new(ErrorCode::InvalidGrant, description);
        match e {
            GrantError::ClientAuthFailed => {
                Self::new(ErrorCode::InvalidClient, "client authentication failed")
            }
            GrantError::GrantTypeNotAllowed => Self::new(
                ErrorCode::UnauthorizedClient,
                "this client is not registered for this grant type",
            ),
            GrantError::ClientDisabled => Self::new(
                ErrorCode::UnauthorizedClient,
                "this client is disabled by an administrator",
            ),
            GrantError::CodeInvalid => invalid_grant("the authorization code is invalid"),
            GrantError::CodeReplayed => invalid_grant(
                "the authorization code was already used; tokens issued from it are revoked",
            ),
            GrantError::CodeExpired => invalid_grant("the authorization code has expired"),
            GrantError::RedirectUriMismatch => {
                invalid_grant("redirect_uri is not identical to the authorization request's")
            }
            GrantError::Outlived(Outlived::SessionEnded) => {
                invalid_grant("the session this grant was issued in has ended")
            }
            GrantError::Outlived(Outlived::PasswordChanged) => {
                invalid_grant("the password changed after this grant was issued")
            }
            GrantError::Pkce(pkce) => Self::new(ErrorCode::InvalidGrant, pkce.to_string()),
            GrantError::RefreshReused => {
                invalid_grant("the refresh token was already used; the grant is revoked")
            }
            GrantError::RefreshDead => {
                invalid_grant("the refresh token is invalid, expired or revoked")
            }
            GrantError::AccountGone => invalid_grant("the account no longer exists"),
            GrantError::NoScope => Self::new(
                ErrorCode::InvalidScope,
                "none of the requested scopes is registered for this client",
            ),
            GrantError::Refused(ErrorCode::ServerError) => Self::server("token primitive failed"),
            GrantError::Refused(code) => Self::new(
                code,
                match code {
                    ErrorCode::InvalidGrant => {
                        "the grant is invalid for this client or redirect_uri"
                    }
                    ErrorCode::InvalidClient => "client authentication failed",
                    ErrorCode::InvalidScope => "the requested scope exceeds the grant",
                    ErrorCode::UnauthorizedClient => "this client may not use this grant type",
                    _ => "the token request is malformed",
                },
            ),
            GrantError::Unavailable(detail) => Self::unavailable(detail),
            GrantError::Server(detail) => Self::server(detail),
            GrantError::NeedsIo => Self::server("an inline grant needed I/O and was not rerun"),
        }
    }
}

impl From<DbError> for GrantError {
    fn from(e: DbError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<StoreError> for GrantError {
    fn from(e: StoreError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

/// RFC 6749 §2.3, §3.2.1: the client authenticates the way it registered (a confidential
/// client with its secret, by its own method; a public client with nothing); then RFC 6749
/// §5.2 `unauthorized_client`: it must be enabled, and registered for the grant type it asks
/// for. A client that fails both is told only that it failed to authenticate. Every grant
/// (code, refresh, client_credentials) passes here, so a disabled client gets no token at all.
pub fn check_client(
    client: Option<&Client>,
    method: Option<AuthMethod>,
    secret: Option<&str>,
    grant_type: Option<GrantType>,
) -> Result<(), GrantError> {
    let client = check_credentials(client, method, secret)?;
    check_enabled(client)?;
    match grant_type {
        Some(grant_type) => check_grant_type(client, grant_type),
        None => Ok(()),
    }
}

/// RFC 6749 §2.3: the named client exists and `method` and `secret` are what it registered.
fn check_credentials<'c>(
    client: Option<&'c Client>,
    method: Option<AuthMethod>,
    secret: Option<&str>,
) -> Result<&'c Client, GrantError> {
    client
        .filter(|client| credentials_match(client, method, secret))
        .ok_or(GrantError::ClientAuthFailed)
}

/// RFC 6749 §5.2 `unauthorized_client`: no administrator has disabled the client.
fn check_enabled(client: &Client) -> Result<(), GrantError> {
    if client.is_disabled() {
        Err(GrantError::ClientDisabled)
    } else {
        Ok(())
    }
}

/// RFC 6749 §5.2 `unauthorized_client`: the client is registered for this grant type.
fn check_grant_type(client: &Client, grant_type: GrantType) -> Result<(), GrantError> {
    if client.allows_grant(grant_type) {
        Ok(())
    } else {
        Err(GrantError::GrantTypeNotAllowed)
    }
}

/// What a successful grant gives: the tokens, and for the code grant with `openid`, the ID
/// token.
#[derive(Debug, Clone)]
pub struct Granted {
    pub issued: Issued,
    pub id_token: Option<String>,
}

/// Tokens issued by this request, and the grant they belong to.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: Option<String>,
    pub grant: Grant,
}

/// Whom the tokens act for.
#[derive(Debug, Clone, Copy)]
pub enum Holder<'a> {
    /// A person, signed in as `sign_in` says (the code grant).
    Person(&'a SignInContext),
    /// The client itself (client_credentials: no person, RFC 6749 §4.4).
    Client,
}

/// The outside world as the steps reach it from inside oxide-auth's synchronous primitives:
/// the core's context, the request's time, its snapshot of the signing keys, the epoch its warm
/// copies are read under, and, on the blocking pool only, the runtime to wait on for the async
/// store.
///
/// Without a runtime the machine runs inline on the executor, from warm copies alone
/// ([`super::warm`]): a step that would need the database or the store answers
/// [`GrantError::NeedsIo`] instead, and the machine is run again on the blocking pool.
pub struct Io<'a> {
    pub ctx: &'a Context,
    pub now: DateTime<Utc>,
    pub keys: &'a KeyRing,
    /// The epoch read before this request's first copy; `None` when the store could not be read
    /// (then nothing is read from or kept in the warm copies).
    pub epoch: Option<&'a Epoch>,
    runtime: Option<&'a tokio::runtime::Handle>,
}

impl<'a> Io<'a> {
    pub fn new(
        ctx: &'a Context,
        now: DateTime<Utc>,
        keys: &'a KeyRing,
        epoch: Option<&'a Epoch>,
        runtime: Option<&'a tokio::runtime::Handle>,
    ) -> Self {
        Self {
            ctx,
            now,
            keys,
            epoch,
            runtime,
        }
    }

    /// Diesel work on this (blocking) thread; inline, [`GrantError::NeedsIo`].
    pub fn db<T>(
        &self,
        work: impl FnOnce(&mut DbConn) -> Result<T, DbError>,
    ) -> Result<T, GrantError> {
        if self.runtime.is_none() {
            return Err(GrantError::NeedsIo);
        }
        Ok(self.ctx.db.with_conn(work)?)
    }

    /// Waits for the async store from this (blocking) thread; inline, [`GrantError::NeedsIo`].
    pub fn store<T>(
        &self,
        future: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, GrantError> {
        let runtime = self.runtime.ok_or(GrantError::NeedsIo)?;
        Ok(runtime.block_on(future)?)
    }

    /// A live service grant kept warm, when the epoch is known.
    pub fn warm_service_grant(
        &self,
        client: &Client,
        scope: &Scopes,
        until: DateTime<Utc>,
    ) -> Option<Grant> {
        self.epoch?;
        self.ctx
            .warm
            .service_grant(&client.id, scope, until, self.now)
    }

    /// Keeps a service grant warm, under the request's epoch.
    pub fn keep_grant(&self, grant: &Grant) {
        if let Some(epoch) = self.epoch {
            self.ctx.warm.keep_grant(epoch, grant, self.now);
        }
    }
}

/// RFC 6749 §4.1.4, §4.4.3: creates the grant row, its first refresh token when
/// `with_refresh` (the grant's issuance policy decides), and the first access token.
pub fn issue_tokens(
    io: &Io<'_>,
    client: &Client,
    holder: Holder<'_>,
    scope: Scopes,
    with_refresh: bool,
) -> Result<Issued, GrantError> {
    let settings = &io.ctx.settings;
    let sign_in = match holder {
        Holder::Person(sign_in) => Some(sign_in),
        Holder::Client => None,
    };
    let grant = Grant {
        id: random_token(),
        client_id: client.id.clone(),
        account_id: sign_in.map(|s| s.account_id),
        scope,
        created_at: io.now,
        expires_at: io.now + Duration::seconds(settings.refresh_token_ttl_secs),
        revoked_at: None,
        sid: sign_in.map(|s| s.sid.clone()),
    };
    let refresh_token = with_refresh.then(random_token);
    let stored = grant.clone();
    let refresh_digest = refresh_token.as_deref().map(token_digest);
    let now = io.now;
    io.db(move |conn| {
        grant::insert_with_refresh_token(conn, &stored, refresh_digest.as_deref(), now)
    })?;
    let subject = sign_in.map_or_else(|| client.id.to_string(), |s| s.sub.clone());
    let access_token = issue_access_token(io, client, &grant, &subject, sign_in)?;
    Ok(Issued {
        access_token,
        expires_in: settings.access_token_ttl_secs,
        refresh_token,
        grant,
    })
}

/// RFC 9068: a JWT access token for `grant`, naming its grant (`gid`) so that revoking the
/// grant kills the token, and the sign-in it carries (`auth_time`, `sid`) when there is one.
/// Signed with the client's access-token algorithm, else the server's (RFC 9068 §2.1).
pub fn issue_access_token(
    io: &Io<'_>,
    client: &Client,
    grant: &Grant,
    subject: &str,
    sign_in: Option<&SignInContext>,
) -> Result<String, GrantError> {
    let ttl = io.ctx.settings.access_token_ttl_secs;
    let claims = AccessTokenClaims {
        iss: io.ctx.issuer.to_string(),
        sub: subject.to_owned(),
        aud: io.ctx.issuer.to_string(),
        client_id: grant.client_id.to_string(),
        scope: grant.scope.to_string(),
        exp: (io.now + Duration::seconds(ttl)).timestamp(),
        iat: io.now.timestamp(),
        jti: random_token(),
        gid: grant.id.clone(),
        auth_time: sign_in.map(|s| s.auth_time.timestamp()),
        sid: sign_in.map(|s| s.sid.clone()),
    };
    let alg = client
        .access_token_alg
        .unwrap_or(io.ctx.settings.access_token_alg);
    sign_access_token(io.keys, alg, &claims).map_err(|e| GrantError::Unavailable(e.to_string()))
}

#[cfg(test)]
mod machine_tests;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{ClientAuth, ClientSecret, RedirectUri};

    /// A registered client for the pure steps' tests: confidential (Basic) unless `secret` is
    /// `None`.
    pub(crate) fn client(
        secret: Option<&ClientSecret>,
        scopes: &str,
        grant_types: &[GrantType],
    ) -> Client {
        Client {
            name: "Cloud".into(),
            auth: secret.map_or(ClientAuth::None, |s| ClientAuth::SecretBasic(s.digest())),
            redirect_uris: vec![RedirectUri::parse("https://rp.example/cb").unwrap()],
            scopes: Scopes::parse_strict(scopes).unwrap(),
            grant_types: grant_types.to_vec(),
            ..Client::example(Utc::now())
        }
    }

    /// A confidential client registered for the code grant only, and its secret.
    fn cloud() -> (ClientSecret, Client) {
        let secret = ClientSecret::generate();
        let cloud = client(Some(&secret), "openid", &[GrantType::AuthorizationCode]);
        (secret, cloud)
    }

    #[test]
    fn a_client_authenticates_the_way_it_registered() {
        let (secret, cloud) = cloud();
        let code = Some(GrantType::AuthorizationCode);
        let basic = Some(AuthMethod::Basic);
        assert_eq!(
            check_client(Some(&cloud), basic, Some(secret.expose()), code),
            Ok(())
        );
        for (method, presented) in [
            (basic, Some("not-the-secret")),
            (basic, None),
            (Some(AuthMethod::Post), Some(secret.expose())),
            (Some(AuthMethod::None), None),
        ] {
            assert_eq!(
                check_client(Some(&cloud), method, presented, code),
                Err(GrantError::ClientAuthFailed)
            );
        }
        assert_eq!(
            check_client(None, basic, Some(secret.expose()), code),
            Err(GrantError::ClientAuthFailed)
        );
        let public = client(None, "openid", &[GrantType::AuthorizationCode]);
        assert_eq!(
            check_client(Some(&public), Some(AuthMethod::None), None, code),
            Ok(())
        );
    }

    #[test]
    fn authentication_is_checked_before_the_grant_type() {
        let (secret, cloud) = cloud();
        let (basic, cc) = (Some(AuthMethod::Basic), Some(GrantType::ClientCredentials));
        // Both rules broken: the first one's error, so a stranger learns nothing of the
        // client's registration.
        assert_eq!(
            check_client(Some(&cloud), basic, Some("wrong"), cc),
            Err(GrantError::ClientAuthFailed)
        );
        assert_eq!(
            check_client(Some(&cloud), basic, Some(secret.expose()), cc),
            Err(GrantError::GrantTypeNotAllowed)
        );
    }

    #[test]
    fn each_refusal_has_its_rfc_code() {
        let code = |e: GrantError| OAuthError::from(e).code;
        assert_eq!(code(GrantError::ClientAuthFailed), ErrorCode::InvalidClient);
        assert_eq!(
            code(GrantError::GrantTypeNotAllowed),
            ErrorCode::UnauthorizedClient
        );
        for refusal in [
            GrantError::CodeInvalid,
            GrantError::CodeReplayed,
            GrantError::CodeExpired,
            GrantError::RedirectUriMismatch,
            GrantError::Outlived(Outlived::SessionEnded),
            GrantError::Pkce(PkceError::Mismatch),
            GrantError::RefreshReused,
            GrantError::RefreshDead,
            GrantError::AccountGone,
        ] {
            assert_eq!(code(refusal), ErrorCode::InvalidGrant);
        }
        assert_eq!(
            code(GrantError::Unavailable("db".into())),
            ErrorCode::TemporarilyUnavailable
        );
        assert_eq!(
            code(GrantError::Refused(ErrorCode::ServerError)),
            ErrorCode::ServerError
        );
        assert_eq!(
            code(GrantError::Refused(ErrorCode::InvalidScope)),
            ErrorCode::InvalidScope
        );
    }
}
