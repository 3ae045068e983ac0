//! oxide-auth's primitives implemented over OneID's stores: the `Registrar` over the client
//! table, the `Authorizer` over the ephemeral store (codes), the `Issuer` over grants, JWT
//! access tokens and refresh tokens in the database.
//!
//! oxide-auth's traits are synchronous, so an [`Engine`] lives for one request inside
//! `web::block`, blocking on the async store. It records what each primitive saw in a
//! [`Trace`], from which the handler builds the exact RFC error and the token response:
//! oxide-auth alone reports a replayed code or a failed PKCE check as `invalid_request`.

use std::{borrow::Cow, cell::RefCell, time::Duration as StdDuration};

use chrono::{DateTime, Duration, Utc};
use oxide_auth::{
    code_grant::{accesstoken, client_credentials, refresh},
    primitives::{
        authorizer::Authorizer,
        grant::{Extensions, Grant as OxideGrant},
        issuer::{IssuedToken, Issuer, RefreshedToken, TokenType},
        registrar::{
            BoundClient, ClientUrl, ExactUrl, PreGrant, RegisteredUrl, Registrar, RegistrarError,
        },
        scope::Scope,
    },
};
use serde::{Deserialize, Serialize};

use super::{
    client_auth::credentials_match,
    params::{AuthMethod, Params},
    pkce::{self, Challenge, PkceError},
};
use crate::{
    db::{
        DbError,
        models::{
            client::{self, Client},
            grant::{self, Grant, Outlived, RefreshUse},
        },
    },
    domain::{AccountId, ClientId, GrantType, ScopeToken, Scopes},
    oidc::{
        keys::KeyRing,
        tokens::{AccessTokenClaims, random_token, sign_access_token, token_digest},
    },
    state::AppState,
    store::StoreError,
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

/// What an authorization code stands for. Stored under the code's digest for its short life.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeRecord {
    pub client_id: String,
    /// The `redirect_uri` exactly as the authorization request sent it: the token request must
    /// send the identical string (RFC 6749 §4.1.3), not merely one that parses the same.
    pub redirect_uri: String,
    pub scope: String,
    pub expires_at: DateTime<Utc>,
    pub pkce: Option<Challenge>,
    pub sign_in: SignInContext,
}

/// Left behind when a code is redeemed: a second redemption finds it and revokes the grant,
/// but only one that would have succeeded had the code been fresh (same client, identical
/// `redirect_uri`, matching PKCE verifier), so that a stranger holding a stolen code cannot
/// revoke the rightful client's tokens (OAuth 2.1 §4.1.3, RFC 9700 §4.5).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RedeemedCode {
    client_id: String,
    grant_id: String,
    redirect_uri: String,
    pkce: Option<Challenge>,
}

/// Tokens issued by this request.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: Option<String>,
    pub grant: Grant,
}

/// What the primitives saw during one run of an oxide-auth state machine.
#[derive(Debug, Default)]
pub struct Trace {
    /// The client named by the request, once loaded.
    pub client: Option<Client>,
    /// The client's credentials (or the method it used) were wrong.
    pub client_auth_failed: bool,
    pub pkce_error: Option<PkceError>,
    pub pkce_challenge: Option<Challenge>,
    /// The code redeemed by this request.
    pub code: Option<CodeRecord>,
    pub code_expired: bool,
    /// The code had been redeemed before; its grant was revoked.
    pub code_replayed: bool,
    /// The token request's `redirect_uri` is not the authorization request's, character for
    /// character.
    pub redirect_uri_mismatch: bool,
    /// The code's or refresh token's sign-in no longer stands (session ended, new password).
    pub outlived: Option<Outlived>,
    /// The client authenticated but is not registered for the requested grant type.
    pub grant_not_allowed: bool,
    /// A refresh token was presented a second time; its grant was revoked.
    pub refresh_reused: bool,
    /// The refresh token's grant was revoked, expired, or belongs to another client.
    pub refresh_dead: bool,
    pub issued: Option<Issued>,
    /// A store or database failure inside a primitive.
    pub failure: Option<String>,
}

pub struct Engine<'a> {
    state: &'a AppState,
    keys: KeyRing,
    runtime: tokio::runtime::Handle,
    now: DateTime<Utc>,
    /// How the client authenticated in this request (token endpoint only).
    auth_method: Option<AuthMethod>,
    /// The token request's grant type (token endpoint only).
    grant_type: Option<GrantType>,
    /// The client the request names (`client_id` or the Basic user name), authenticated or not.
    requesting_client: Option<String>,
    /// The request's `redirect_uri`, as sent.
    redirect_uri: Option<String>,
    /// The token request's `code_verifier`, as sent.
    code_verifier: Option<String>,
    /// Where to note that the code being redeemed was used (set by `extract`).
    redeemed_marker: Option<String>,
    trace: RefCell<Trace>,
}

impl<'a> Engine<'a> {
    /// Must be called on the blocking pool (inside `web::block`): primitives block on I/O.
    pub fn new(
        state: &'a AppState,
        keys: KeyRing,
        runtime: tokio::runtime::Handle,
        params: &Params,
    ) -> Self {
        Self {
            state,
            keys,
            runtime,
            now: state.clock.now(),
            auth_method: params.client().map(|(_, m)| m),
            grant_type: params.get("grant_type").and_then(GrantType::parse),
            requesting_client: params.client().map(|(id, _)| id.to_owned()),
            redirect_uri: params.get("redirect_uri").map(str::to_owned),
            code_verifier: params.get("code_verifier").map(str::to_owned),
            redeemed_marker: None,
            trace: RefCell::new(Trace::default()),
        }
    }

    pub fn into_trace(self) -> Trace {
        self.trace.into_inner()
    }

    pub fn trace(&self) -> std::cell::Ref<'_, Trace> {
        self.trace.borrow()
    }

    fn fail(&self, e: impl std::fmt::Display) {
        self.trace.borrow_mut().failure = Some(e.to_string());
    }

    fn block<T>(&self, future: impl Future<Output = Result<T, StoreError>>) -> Result<T, ()> {
        self.runtime.block_on(future).map_err(|e| self.fail(e))
    }

    fn db<T>(
        &self,
        work: impl FnOnce(&mut crate::db::DbConn) -> Result<T, DbError>,
    ) -> Result<T, ()> {
        self.state.db.with_conn(work).map_err(|e| self.fail(e))
    }

    /// Loads the client once per request.
    fn client(&self, id: &str) -> Result<Option<Client>, ()> {
        if let Some(client) = self
            .trace
            .borrow()
            .client
            .as_ref()
            .filter(|c| c.id.as_str() == id)
        {
            return Ok(Some(client.clone()));
        }
        let Some(id) = ClientId::parse(id) else {
            return Ok(None);
        };
        let found = self.db(|conn| client::find(conn, &id))?;
        self.trace.borrow_mut().client.clone_from(&found);
        Ok(found)
    }

    /// Creates the grant row and its first tokens.
    fn issue_tokens(
        &self,
        client: &Client,
        account: Option<(AccountId, &str)>,
        scope: Scopes,
        sign_in: Option<&SignInContext>,
    ) -> Result<Issued, ()> {
        let oauth = &self.state.settings.oauth;
        let grant = Grant {
            id: random_token(),
            client_id: client.id.clone(),
            account_id: account.map(|(id, _)| id),
            scope,
            created_at: self.now,
            expires_at: self.now + Duration::seconds(oauth.refresh_token_ttl_secs),
            revoked_at: None,
            sid: sign_in.map(|s| s.sid.clone()),
        };
        // Refresh tokens only where a person is involved, the client may use them, and either
        // the person allowed offline access or an administrator trusts the app (first party).
        let with_refresh = account.is_some()
            && client.allows_grant(GrantType::RefreshToken)
            && (grant.scope.contains(ScopeToken::OfflineAccess)
                || (client.first_party && oauth.first_party_refresh_tokens));
        let refresh_token = with_refresh.then(random_token);
        let stored = grant.clone();
        let refresh_digest = refresh_token.as_deref().map(token_digest);
        let now = self.now;
        self.db(move |conn| {
            grant::insert(conn, &stored)?;
            if let Some(digest) = &refresh_digest {
                grant::insert_refresh_token(conn, digest, &stored.id, now)?;
            }
            Ok(())
        })?;
        let subject = account.map_or_else(|| client.id.to_string(), |(_, sub)| sub.to_owned());
        let access_token = self.access_token(&grant, &subject, sign_in)?;
        Ok(Issued {
            access_token,
            expires_in: oauth.access_token_ttl_secs,
            refresh_token,
            grant,
        })
    }

    fn access_token(
        &self,
        grant: &Grant,
        subject: &str,
        sign_in: Option<&SignInContext>,
    ) -> Result<String, ()> {
        let ttl = self.state.settings.oauth.access_token_ttl_secs;
        let claims = AccessTokenClaims {
            iss: issuer(self.state),
            sub: subject.to_owned(),
            aud: issuer(self.state),
            client_id: grant.client_id.to_string(),
            scope: grant.scope.to_string(),
            exp: (self.now + Duration::seconds(ttl)).timestamp(),
            iat: self.now.timestamp(),
            jti: random_token(),
            gid: grant.id.clone(),
            auth_time: sign_in.map(|s| s.auth_time.timestamp()),
            sid: sign_in.map(|s| s.sid.clone()),
        };
        sign_access_token(&self.keys, &claims).map_err(|e| self.fail(e))
    }

    fn oxide_grant(
        &self,
        owner: String,
        client_id: String,
        scope: &str,
        redirect_uri: &str,
    ) -> Result<OxideGrant, ()> {
        Ok(OxideGrant {
            owner_id: owner,
            client_id,
            scope: scope
                .parse()
                .map_err(|_| self.fail("stored scope does not parse"))?,
            redirect_uri: redirect_uri
                .parse()
                .map_err(|_| self.fail("stored redirect URI does not parse"))?,
            // oxide-auth compares this with the system clock; OneID's own expiry checks (against
            // the injected clock) come first and are the ones that count.
            until: Utc::now() + Duration::minutes(10),
            extensions: Extensions::new(),
        })
    }
}

/// The issuer identifier, without the trailing slash `Url` adds to a bare origin.
pub fn issuer(state: &AppState) -> String {
    state.issuer.to_string()
}

/// Where a code's [`CodeRecord`] is stored: under the code's digest, never the code itself.
pub(crate) fn code_key(code: &str) -> String {
    format!("authcode:{}", token_digest(code))
}

fn redeemed_key(code: &str) -> String {
    format!("authcode-redeemed:{}", token_digest(code))
}

impl Registrar for Engine<'_> {
    /// Only client_credentials binds here, without a redirect URI: nothing is redirected, any
    /// registered URI does. Authorization requests bind through `oauth::authorize`'s own
    /// endpoint, with the client loaded and the redirect URI verified once, by the parse.
    fn bound_redirect<'b>(&self, bound: ClientUrl<'b>) -> Result<BoundClient<'b>, RegistrarError> {
        if bound.redirect_uri.is_some() {
            return Err(RegistrarError::Unspecified);
        }
        let client = self
            .client(&bound.client_id)
            .map_err(|()| RegistrarError::PrimitiveError)?
            .ok_or(RegistrarError::Unspecified)?;
        let requested = client
            .redirect_uris
            .first()
            .and_then(|u| exact_url(u.as_str()))
            .ok_or(RegistrarError::Unspecified)?;
        Ok(BoundClient {
            client_id: bound.client_id,
            redirect_uri: Cow::Owned(RegisteredUrl::Exact(requested)),
        })
    }

    /// Grants the requested scopes the client may have; unknown ones are dropped (RFC 6749 §3.3).
    fn negotiate(
        &self,
        bound: BoundClient,
        scope: Option<Scope>,
    ) -> Result<PreGrant, RegistrarError> {
        let client = self
            .client(&bound.client_id)
            .map_err(|()| RegistrarError::PrimitiveError)?
            .ok_or(RegistrarError::Unspecified)?;
        let mut requested =
            Scopes::parse_lenient(&scope.map(|s| s.to_string()).unwrap_or_default());
        if requested.is_empty() && self.grant_type == Some(GrantType::ClientCredentials) {
            // RFC 6749 §3.3: a request without scope gets the default, here everything the
            // client is registered for except offline access, which needs a person.
            requested = client
                .scopes
                .iter()
                .filter(|s| *s != ScopeToken::OfflineAccess)
                .collect();
        }
        let granted = requested.intersection(&client.scopes);

        if granted.is_empty() {
            return Err(RegistrarError::Unspecified);
        }
        let scope = granted
            .to_string()
            .parse()
            .map_err(|_| RegistrarError::PrimitiveError)?;
        Ok(PreGrant {
            client_id: bound.client_id.into_owned(),
            redirect_uri: bound.redirect_uri.into_owned(),
            scope,
        })
    }

    /// The client must authenticate the way it registered: a confidential client with its
    /// secret by its own method, a public client with nothing (RFC 6749 §2.3, §3.2.1).
    fn check(&self, client_id: &str, passphrase: Option<&[u8]>) -> Result<(), RegistrarError> {
        let client = self
            .client(client_id)
            .map_err(|()| RegistrarError::PrimitiveError)?;
        let secret = passphrase.map(std::str::from_utf8);
        let ok = match (&client, secret) {
            (Some(client), None) => credentials_match(client, self.auth_method, None),
            (Some(client), Some(Ok(secret))) => {
                credentials_match(client, self.auth_method, Some(secret))
            }
            _ => false,
        };
        if !ok {
            self.trace.borrow_mut().client_auth_failed = true;
            return Err(RegistrarError::Unspecified);
        }
        // RFC 6749 §5.2 unauthorized_client: authenticated, but not registered for this grant.
        if let (Some(client), Some(grant)) = (&client, self.grant_type)
            && !client.allows_grant(grant)
        {
            self.trace.borrow_mut().grant_not_allowed = true;
            return Err(RegistrarError::Unspecified);
        }
        Ok(())
    }
}

impl Authorizer for Engine<'_> {
    /// Codes are issued by `oauth::authorize::issue_code`, from the checked authorization
    /// request; the token endpoint's engine only redeems them.
    fn authorize(&mut self, _: OxideGrant) -> Result<String, ()> {
        self.fail("the token endpoint's engine does not issue authorization codes");
        Err(())
    }

    /// One atomic take: of two concurrent redemptions exactly one finds the code. Then, in
    /// order: the code is unexpired, the `redirect_uri` is the identical string, and the
    /// sign-in behind the code still stands. A second redemption that would otherwise have
    /// succeeded revokes everything issued from the code (RFC 6749 §4.1.2).
    fn extract(&mut self, code: &str) -> Result<Option<OxideGrant>, ()> {
        // RFC 6749 §4.1.3: the code must have been issued to the authenticated client. Checked
        // before the take, so another client presenting it cannot burn a code not its own.
        let authenticated = self
            .trace
            .borrow()
            .client
            .as_ref()
            .map(|c| c.id.to_string());
        let store = self.state.store.clone();
        let key = code_key(code);
        if let Some(record) = self.block(async move { store.get_json::<CodeRecord>(&key).await })?
            && authenticated.as_deref() != Some(record.client_id.as_str())
        {
            tracing::warn!(issued_to = %record.client_id, "authorization code presented by another client");
            return Ok(None);
        }
        let store = self.state.store.clone();
        let key = code_key(code);
        let Some(record) = self.block(async move { store.take_json::<CodeRecord>(&key).await })?
        else {
            self.check_replay(code)?;
            return Ok(None);
        };
        if self.now >= record.expires_at {
            self.trace.borrow_mut().code_expired = true;
            return Ok(None);
        }
        if !self.check_redirect_uri(&record.redirect_uri) {
            return Ok(None);
        }
        if !self.check_sign_in_stands(&record.sign_in)? {
            return Ok(None);
        }
        let grant = self.oxide_grant(
            record.sign_in.account_id.to_string(),
            record.client_id.clone(),
            &record.scope,
            &record.redirect_uri,
        )?;
        self.redeemed_marker = Some(redeemed_key(code));
        self.trace.borrow_mut().code = Some(record);
        Ok(Some(grant))
    }
}

impl Engine<'_> {
    /// RFC 6749 §4.1.3: the token request's `redirect_uri` must be "identical" to the
    /// authorization request's. Compared as strings: oxide-auth compares parsed URLs, which
    /// would take `HTTPS://RP.EXAMPLE:443/cb` for `https://rp.example/cb`.
    fn check_redirect_uri(&self, issued_for: &str) -> bool {
        let identical = self.redirect_uri.as_deref() == Some(issued_for);
        if !identical {
            self.trace.borrow_mut().redirect_uri_mismatch = true;
        }
        identical
    }

    /// Issue 10, point 5: a code gives nothing once the session it was issued in has ended
    /// (the person signed out before the client redeemed it), whether or not it asked for
    /// `offline_access`, nor once the password changed after the sign-in.
    fn check_sign_in_stands(&self, sign_in: &SignInContext) -> Result<bool, ()> {
        let (account, sid, since) = (sign_in.account_id, sign_in.sid.clone(), sign_in.auth_time);
        let outlived = self.db(move |conn| grant::outlived(conn, account, Some(&sid), since))?;
        if let Some(why) = outlived {
            tracing::info!(
                ?why,
                "authorization code refused: its sign-in no longer stands"
            );
            self.trace.borrow_mut().outlived = Some(why);
        }
        Ok(outlived.is_none())
    }

    /// A code redeemed before: revokes its grant, but only when this request would have
    /// succeeded with a fresh code (the same client, the identical `redirect_uri`, a verifier
    /// that matches). Anything less is an invalid request by someone who holds the code
    /// without the rest, and must not cost the rightful client its tokens (OAuth 2.1 §4.1.3,
    /// RFC 9700 §4.5).
    fn check_replay(&self, code: &str) -> Result<(), ()> {
        let store = self.state.store.clone();
        let key = redeemed_key(code);
        let Some(redeemed) =
            self.block(async move { store.get_json::<RedeemedCode>(&key).await })?
        else {
            return Ok(());
        };
        let same_client = self
            .trace
            .borrow()
            .client
            .as_ref()
            .is_some_and(|c| c.id.as_str() == redeemed.client_id);
        let would_succeed = same_client
            && self.redirect_uri.as_deref() == Some(redeemed.redirect_uri.as_str())
            && pkce::verify(redeemed.pkce.as_ref(), self.code_verifier.as_deref()).is_ok();
        if !would_succeed {
            tracing::warn!(client_id = %redeemed.client_id, "a redeemed authorization code was presented without its client's proof: nothing revoked");
            return Ok(());
        }
        let now = self.now;
        self.db(move |conn| grant::revoke(conn, &redeemed.grant_id, now))?;
        self.trace.borrow_mut().code_replayed = true;
        tracing::warn!(client_id = %redeemed.client_id, "authorization code replayed: its grant is revoked");
        Ok(())
    }

    /// Issue 10, point 5: a refresh token gives nothing once its grant's session has ended
    /// (unless it is `offline_access`) or the password changed after the grant was made. The
    /// grant is then revoked, as sign-out or the reset would have done had it existed then.
    fn check_grant_stands(&self, grant: &Grant) -> Result<bool, ()> {
        let Some(account) = grant.account_id else {
            return Ok(true);
        };
        let (sid, since) = (grant.bound_session().map(str::to_owned), grant.created_at);
        let outlived =
            self.db(move |conn| grant::outlived(conn, account, sid.as_deref(), since))?;
        let Some(why) = outlived else {
            return Ok(true);
        };
        let (id, now) = (grant.id.clone(), self.now);
        self.db(move |conn| grant::revoke(conn, &id, now))?;
        tracing::info!(?why, client_id = %grant.client_id, "refresh refused: the grant's sign-in no longer stands; grant revoked");
        let mut trace = self.trace.borrow_mut();
        trace.outlived = Some(why);
        trace.refresh_dead = true;
        Ok(false)
    }
}

impl accesstoken::Extension for Engine<'_> {
    /// PKCE at the token endpoint: the verifier must match, and may not appear when the
    /// authorization had no challenge (RFC 9700 §4.8.2).
    fn extend(
        &mut self,
        request: &dyn accesstoken::Request,
        _: Extensions,
    ) -> Result<Extensions, ()> {
        let verifier = request.extension("code_verifier");
        let challenge = self
            .trace
            .borrow()
            .code
            .as_ref()
            .and_then(|c| c.pkce.clone());
        match pkce::verify(challenge.as_ref(), verifier.as_deref()) {
            Ok(()) => Ok(Extensions::new()),
            Err(e) => {
                self.trace.borrow_mut().pkce_error = Some(e);
                Err(())
            }
        }
    }
}

impl client_credentials::Extension for Engine<'_> {
    fn extend(&mut self, _: &dyn client_credentials::Request) -> Result<Extensions, ()> {
        Ok(Extensions::new())
    }
}

impl Issuer for Engine<'_> {
    fn issue(&mut self, oxide: OxideGrant) -> Result<IssuedToken, ()> {
        let client = self
            .client(&oxide.client_id)?
            .ok_or_else(|| self.fail("client vanished"))?;
        let scope = Scopes::parse_lenient(&oxide.scope.to_string());
        let code = self.trace.borrow().code.clone();
        let issued = match &code {
            Some(record) => {
                let sign_in = &record.sign_in;
                let issued = self.issue_tokens(
                    &client,
                    Some((sign_in.account_id, &sign_in.sub)),
                    scope,
                    Some(sign_in),
                )?;
                // Remember the redemption for as long as its access tokens live, to catch replays.
                let store = self.state.store.clone();
                let marker = RedeemedCode {
                    client_id: client.id.to_string(),
                    grant_id: issued.grant.id.clone(),
                    redirect_uri: record.redirect_uri.clone(),
                    pkce: record.pkce.clone(),
                };
                let ttl = StdDuration::from_secs(
                    self.state
                        .settings
                        .oauth
                        .access_token_ttl_secs
                        .max(600)
                        .unsigned_abs(),
                );
                if let Some(key) = self.redeemed_marker.take() {
                    self.block(async move { store.put_json(&key, &marker, ttl).await })?;
                }
                issued
            }
            // client_credentials: no person, no refresh token (RFC 6749 §4.4.3).
            None => self.issue_tokens(&client, None, scope, None)?,
        };
        let token = IssuedToken {
            token: issued.access_token.clone(),
            refresh: issued.refresh_token.clone(),
            until: Utc::now() + Duration::seconds(issued.expires_in),
            token_type: TokenType::Bearer,
        };
        self.trace.borrow_mut().issued = Some(issued);
        Ok(token)
    }

    /// Spends the refresh token and issues a new pair in the same grant (rotation, RFC 9700
    /// §4.14.2). A token spent before means it leaked: the whole grant is revoked.
    fn refresh(&mut self, token: &str, _: OxideGrant) -> Result<RefreshedToken, ()> {
        let digest = token_digest(token);
        let now = self.now;
        let used = self.db(move |conn| grant::use_refresh_token(conn, &digest, now))?;
        let grant = match used {
            RefreshUse::Fresh(grant) if grant.is_live(now) => grant,
            RefreshUse::Reused(grant) => {
                let id = grant.id.clone();
                self.db(move |conn| grant::revoke(conn, &id, now))?;
                self.trace.borrow_mut().refresh_reused = true;
                tracing::warn!(client_id = %grant.client_id, "refresh token reused: its grant is revoked");
                return Err(());
            }
            RefreshUse::Fresh(_) | RefreshUse::Unknown => {
                self.trace.borrow_mut().refresh_dead = true;
                return Err(());
            }
        };
        let account = grant
            .account_id
            .ok_or_else(|| self.fail("refresh token on a grant without an account"))?;
        let sub = self
            .db(move |conn| crate::db::models::account::find_by_id(conn, account))?
            .ok_or_else(|| self.trace.borrow_mut().refresh_dead = true)?
            .sub
            .to_string();
        let access_token = self.access_token(&grant, &sub, None)?;
        let refresh_token = random_token();
        let (new_digest, grant_id) = (token_digest(&refresh_token), grant.id.clone());
        self.db(move |conn| grant::insert_refresh_token(conn, &new_digest, &grant_id, now))?;
        let expires_in = self.state.settings.oauth.access_token_ttl_secs;
        self.trace.borrow_mut().issued = Some(Issued {
            access_token: access_token.clone(),
            expires_in,
            refresh_token: Some(refresh_token.clone()),
            grant,
        });
        Ok(RefreshedToken {
            token: access_token,
            refresh: Some(refresh_token),
            until: Utc::now() + Duration::seconds(expires_in),
            token_type: TokenType::Bearer,
        })
    }

    fn recover_token(&self, _: &str) -> Result<Option<OxideGrant>, ()> {
        // Access tokens are JWTs verified by OneID itself (see oidc::jwt), not through oxide-auth.
        Ok(None)
    }

    /// Finds the refresh token's grant without spending it; oxide-auth then checks that it
    /// belongs to the authenticated client and that the scope does not grow.
    fn recover_refresh(&self, token: &str) -> Result<Option<OxideGrant>, ()> {
        let digest = token_digest(token);
        let Some((grant, _used)) =
            self.db(move |conn| grant::grant_of_refresh_token(conn, &digest))?
        else {
            self.trace.borrow_mut().refresh_dead = true;
            return Ok(None);
        };
        if grant.revoked_at.is_some() || self.now >= grant.expires_at {
            self.trace.borrow_mut().refresh_dead = true;
            return Ok(None);
        }
        // RFC 6749 §6: the refresh token is bound to the client it was issued to. oxide-auth
        // checks that for a client that authenticated; a public client sends only its
        // `client_id`, which oxide-auth never compares, so it is compared here.
        if self.requesting_client.as_deref() != Some(grant.client_id.as_str()) {
            self.trace.borrow_mut().refresh_dead = true;
            return Ok(None);
        }
        if !self.check_grant_stands(&grant)? {
            return Ok(None);
        }
        let issuer = issuer(self.state);
        let owner = grant.account_id.map(|a| a.to_string()).unwrap_or_default();
        self.oxide_grant(
            owner,
            grant.client_id.to_string(),
            &grant.scope.to_string(),
            &issuer,
        )
        .map(Some)
    }
}

impl accesstoken::Endpoint for Engine<'_> {
    fn registrar(&self) -> &dyn Registrar {
        self
    }
    fn authorizer(&mut self) -> &mut dyn Authorizer {
        self
    }
    fn issuer(&mut self) -> &mut dyn Issuer {
        self
    }
    fn extension(&mut self) -> &mut dyn accesstoken::Extension {
        self
    }
}

impl refresh::Endpoint for Engine<'_> {
    fn registrar(&self) -> &dyn Registrar {
        self
    }
    fn issuer(&mut self) -> &mut dyn Issuer {
        self
    }
}

impl client_credentials::Endpoint for Engine<'_> {
    fn registrar(&self) -> &dyn Registrar {
        self
    }
    fn issuer(&mut self) -> &mut dyn Issuer {
        self
    }
    fn extension(&mut self) -> &mut dyn client_credentials::Extension {
        self
    }
}

/// `ExactUrl` for a redirect URI that was already matched against the registration.
pub fn exact_url(uri: &str) -> Option<ExactUrl> {
    ExactUrl::new(uri.to_owned()).ok()
}
