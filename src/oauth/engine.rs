//! oxide-auth's primitives implemented over OneID's stores: the `Registrar` over the client
//! table, the `Authorizer` over the ephemeral store (codes), the `Issuer` over grants, JWT
//! access tokens and refresh tokens in the database.
//!
//! oxide-auth's traits are synchronous, so an [`Engine`] lives for one request on tokio's
//! blocking pool, blocking on the async store; or, for client_credentials, first inline on the
//! executor from warm copies alone ([`super::warm`]), and on the blocking pool only when a step
//! needs a row. It is plumbing only: at the token endpoint each
//! primitive calls the named steps of a grant module (`oauth::grant`) and records the first
//! refusal in its [`Trace`]; the grant module turns that into the answer (oxide-auth alone
//! reports a replayed code or a failed PKCE check as `invalid_request`).

use std::{borrow::Cow, cell::RefCell, sync::LazyLock};

use chrono::{DateTime, Duration, Utc};
use oxide_auth::{
    code_grant::{accesstoken, client_credentials, refresh},
    primitives::{
        authorizer::Authorizer,
        grant::{Extensions, Grant as OxideGrant},
        issuer::{IssuedToken, Issuer, RefreshedToken, TokenType},
        registrar::{BoundClient, ClientUrl, PreGrant, RegisteredUrl, Registrar, RegistrarError},
        scope::Scope,
    },
};
use url::Url;

use super::{
    Context,
    code::CodeRecord,
    error::ErrorCode,
    grant::{self, GrantError, Io, Issued, check_client},
    params::{AuthMethod, Params},
    warm::Epoch,
};
use crate::{
    db::{
        DbError,
        models::{
            account::Account,
            client::{self, Client},
        },
    },
    domain::{GrantType, Scopes},
    oidc::keys::KeyRing,
};

/// What the primitives saw during one run of an oxide-auth state machine.
#[derive(Debug, Default)]
pub struct Trace {
    /// The client named by the request, once loaded.
    pub client: Option<Client>,
    /// Token endpoint: the code redeemed by this request.
    pub code: Option<CodeRecord>,
    /// Token endpoint, code grant: the account the code was issued for, read with its
    /// standing (step 6); the ID token names it.
    pub account: Option<Account>,
    /// Token endpoint: the tokens issued.
    pub issued: Option<Issued>,
    /// Token endpoint: the first refusal of a grant step. Later ones are not recorded (a
    /// primitive that refuses ends the run anyway), so the error precedence is the order of
    /// the steps in the grant's module.
    pub refusal: Option<GrantError>,
}

pub struct Engine<'a> {
    ctx: &'a Context,
    keys: KeyRing,
    /// Present on the blocking pool only: see [`Io`].
    runtime: Option<tokio::runtime::Handle>,
    /// The epoch of the warm copies, read before the machine ran.
    epoch: Option<Epoch>,
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
    /// With `runtime`, must be called on the blocking pool (`tokio::task::spawn_blocking`):
    /// primitives block on I/O through it. Without, the engine reads warm copies only.
    pub fn new(
        ctx: &'a Context,
        runtime: Option<tokio::runtime::Handle>,
        epoch: Option<Epoch>,
        params: &Params,
    ) -> Self {
        Self {
            ctx,
            keys: ctx.keys.current(),
            runtime,
            epoch,
            now: ctx.clock.now(),
            auth_method: params.client().map(|(_, m)| m),
            grant_type: params.get("grant_type").and_then(GrantType::parse),
            requesting_client: params.client().map(|(id, _)| id.to_owned()),
            redirect_uri: params.get("redirect_uri").map(str::to_owned),
            code_verifier: params.get("code_verifier").map(str::to_owned),
            redeemed_marker: None,
            trace: RefCell::new(Trace::default()),
        }
    }

    fn into_trace(self) -> Trace {
        self.trace.into_inner()
    }

    /// A store or database failure inside a primitive: `temporarily_unavailable`.
    fn fail(&self, e: impl std::fmt::Display) {
        self.refuse(GrantError::Unavailable(e.to_string()));
    }

    /// Records a grant step's refusal; the first one stands.
    fn refuse(&self, refusal: GrantError) {
        self.trace.borrow_mut().refusal.get_or_insert(refusal);
    }

    /// A grant step's value, or its refusal recorded and `Err(())` for oxide-auth.
    fn step<T>(&self, outcome: Result<T, GrantError>) -> Result<T, ()> {
        outcome.map_err(|e| self.refuse(e))
    }

    /// What the grant steps reach the outside world through.
    fn io(&self) -> Io<'_> {
        Io::new(
            self.ctx,
            self.now,
            &self.keys,
            self.epoch.as_ref(),
            self.runtime.as_ref(),
        )
    }

    fn db<T>(
        &self,
        work: impl FnOnce(&mut crate::db::DbConn) -> Result<T, DbError>,
    ) -> Result<T, ()> {
        self.step(self.io().db(work))
    }

    /// Loads the client once per request: from the warm copies, else from its row (which is
    /// then kept warm).
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
        let warm = self
            .epoch
            .as_ref()
            .and_then(|_| self.ctx.warm.client(id, self.now));
        let found = match warm {
            Some(client) => Some(client),
            None => {
                let found = self.db(|conn| client::find_by_raw_id(conn, id))?;
                if let (Some(epoch), Some(client)) = (&self.epoch, &found) {
                    self.ctx.warm.keep_client(epoch, client, self.now);
                }
                found
            }
        };
        self.trace.borrow_mut().client.clone_from(&found);
        Ok(found)
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

// Running oxide-auth's grant machines. The token endpoint (`oauth::token`) calls these; each
// runs one machine over an `Engine` on the blocking pool, and the primitives above call the
// named steps of the grant's module. The arrows point one way: this adapter knows the grant
// steps, the steps know nothing of oxide-auth.

/// What redeeming a code gave: the tokens issued, and what the token endpoint builds the ID
/// token from.
pub struct Redeemed {
    pub issued: Issued,
    pub record: CodeRecord,
    pub client: Client,
    /// The account the code was issued for, as step 6 read it.
    pub account: Account,
}

/// The code grant (RFC 6749 §4.1.3): the tokens issued, with the redeemed code's record, its
/// client and its account.
pub async fn redeem_code(ctx: &Context, params: Params) -> Result<Redeemed, GrantError> {
    let mut trace = run_machine(ctx, params, Reach::Blocking, |engine, params| {
        accesstoken::access_token(engine, params)
            .map(drop)
            .map_err(|e| access_token_error(&e))
    })
    .await
    .map_err(|e| match e {
        // oxide-auth calls a request without `code` or `redirect_uri` invalid_request;
        // OneID has always answered it as an invalid code.
        GrantError::Refused(ErrorCode::InvalidRequest) => GrantError::CodeInvalid,
        e => e,
    })?;
    let issued = issued(&mut trace)?;
    match (trace.code, trace.client, trace.account) {
        (Some(record), Some(client), Some(account)) => Ok(Redeemed {
            issued,
            record,
            client,
            account,
        }),
        _ => Err(GrantError::Server(
            "the redeemed code is not in the trace".into(),
        )),
    }
}

/// The refresh grant (RFC 6749 §6): the new pair of tokens.
pub async fn refresh(ctx: &Context, params: Params) -> Result<Issued, GrantError> {
    let mut trace = run_machine(ctx, params, Reach::Blocking, |engine, params| {
        refresh::refresh(engine, params)
            .map(drop)
            .map_err(|e| refresh_error(&e))
    })
    .await?;
    issued(&mut trace)
}

/// The client-credentials grant (RFC 6749 §4.4): an access token for the client itself.
pub async fn client_credentials(ctx: &Context, params: Params) -> Result<Issued, GrantError> {
    let mut trace = run_machine(ctx, params, Reach::WarmFirst, |engine, params| {
        let pending = client_credentials::client_credentials(engine, params)
            .map_err(|e| client_credentials_error(&e))?;
        let client_id = params
            .client()
            .map(|(id, _)| id.to_owned())
            .unwrap_or_default();
        pending
            .issue(engine, client_id, false)
            .map(drop)
            .map_err(|_| ErrorCode::ServerError)
    })
    .await?;
    issued(&mut trace)
}

/// One of oxide-auth's grant machines, driven over an [`Engine`]: `Err` carries the RFC code
/// of oxide-auth's own refusal.
type Machine = fn(&mut Engine<'_>, &Params) -> Result<(), ErrorCode>;

/// Where a machine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// On the blocking pool: its steps read and write rows and the store.
    Blocking,
    /// Inline from warm copies first, and on the blocking pool only when a step needed I/O. For
    /// machines whose steps write nothing before the last one (client_credentials), so that a
    /// run abandoned for I/O has done nothing.
    WarmFirst,
}

/// Runs `machine` and returns what the primitives saw. The answer is the first refusal a step
/// recorded; only when no step refused does oxide-auth's own error count.
async fn run_machine(
    ctx: &Context,
    params: Params,
    reach: Reach,
    machine: Machine,
) -> Result<Trace, GrantError> {
    let epoch = match ctx.warm.sync().await {
        Ok(epoch) => Some(epoch),
        Err(e) => {
            tracing::warn!(error = %e, "warm copies unchecked; reading rows");
            None
        }
    };
    if reach == Reach::WarmFirst && epoch.is_some() {
        let mut engine = Engine::new(ctx, None, epoch.clone(), &params);
        let outcome = machine(&mut engine, &params);
        match answer(engine.into_trace(), outcome) {
            Err(GrantError::NeedsIo) => {}
            answered => return answered,
        }
    }
    let ctx = ctx.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut engine = Engine::new(&ctx, Some(runtime), epoch, &params);
        let outcome = machine(&mut engine, &params);
        answer(engine.into_trace(), outcome)
    })
    .await
    .map_err(|e| GrantError::Server(e.to_string()))?
}

/// The first refusal a step recorded, else oxide-auth's own error, else the trace.
fn answer(mut trace: Trace, outcome: Result<(), ErrorCode>) -> Result<Trace, GrantError> {
    match (trace.refusal.take(), outcome) {
        (Some(refusal), _) => Err(refusal),
        (None, Err(code)) => Err(GrantError::Refused(code)),
        (None, Ok(())) => Ok(trace),
    }
}

/// The tokens the machine issued, once it succeeded.
fn issued(trace: &mut Trace) -> Result<Issued, GrantError> {
    trace
        .issued
        .take()
        .ok_or_else(|| GrantError::Server("no token was issued".into()))
}

/// The RFC 6749 §5.2 code in oxide-auth's JSON description of an error.
fn code_from_json(json: &str) -> ErrorCode {
    let value: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    match value.get("error").and_then(|e| e.as_str()) {
        Some("invalid_grant") => ErrorCode::InvalidGrant,
        Some("unsupported_grant_type") => ErrorCode::UnsupportedGrantType,
        Some("invalid_scope") => ErrorCode::InvalidScope,
        Some("invalid_client") => ErrorCode::InvalidClient,
        Some("unauthorized_client") => ErrorCode::UnauthorizedClient,
        _ => ErrorCode::InvalidRequest,
    }
}

/// oxide-auth's access-token (code grant) error as an RFC code.
fn access_token_error(e: &accesstoken::Error) -> ErrorCode {
    match e {
        accesstoken::Error::Invalid(description) => code_from_json(&description.to_json()),
        accesstoken::Error::Unauthorized(..) => ErrorCode::InvalidClient,
        accesstoken::Error::Primitive(_) => ErrorCode::ServerError,
    }
}

/// oxide-auth's refresh error as an RFC code.
fn refresh_error(e: &refresh::Error) -> ErrorCode {
    match e {
        refresh::Error::Invalid(description) => code_from_json(&description.to_json()),
        refresh::Error::Unauthorized(..) => ErrorCode::InvalidClient,
        refresh::Error::Primitive => ErrorCode::ServerError,
    }
}

/// oxide-auth's client-credentials error as an RFC code. Its `Ignore` (the client bound no
/// redirect URI, or [`grant::client_credentials::check_scope`] refused) is a `server_error`, as it
/// has always been answered.
fn client_credentials_error(e: &client_credentials::Error) -> ErrorCode {
    match e {
        client_credentials::Error::Unauthorized(..) => ErrorCode::InvalidClient,
        client_credentials::Error::Invalid(_) => ErrorCode::InvalidRequest,
        _ => ErrorCode::ServerError,
    }
}

impl Registrar for Engine<'_> {
    /// Only client_credentials binds here, without a redirect URI. Nothing is redirected and
    /// the bound URI is never stored, but oxide-auth's types need one: every client binds to a
    /// placeholder in the reserved `.invalid` domain (RFC 2606 §2) that nobody ever visits,
    /// parsed once (parsing a registered URI per token was 3 % of a token's CPU).
    /// Authorization requests bind through `oauth::authorize`'s own endpoint, with the client
    /// loaded and the redirect URI verified once, by the parse.
    fn bound_redirect<'b>(&self, bound: ClientUrl<'b>) -> Result<BoundClient<'b>, RegistrarError> {
        static NOWHERE: LazyLock<Option<Url>> =
            LazyLock::new(|| Url::parse("https://service-client.invalid/").ok());
        if bound.redirect_uri.is_some() {
            return Err(RegistrarError::Unspecified);
        }
        self.client(&bound.client_id)
            .map_err(|()| RegistrarError::PrimitiveError)?
            .ok_or(RegistrarError::Unspecified)?;
        let nowhere = NOWHERE.clone().ok_or(RegistrarError::Unspecified)?;
        Ok(BoundClient {
            client_id: bound.client_id,
            redirect_uri: Cow::Owned(RegisteredUrl::Semantic(nowhere)),
        })
    }

    /// Only client_credentials negotiates here (authorization requests negotiate their scopes
    /// in `oauth::authorize::negotiate_scopes`): [`grant::client_credentials::check_scope`].
    fn negotiate(
        &self,
        bound: BoundClient,
        scope: Option<Scope>,
    ) -> Result<PreGrant, RegistrarError> {
        self.negotiate_client_credentials(bound, scope)
    }

    /// Token endpoint, every grant: [`check_client`] (RFC 6749 §2.3, §3.2.1, §5.2).
    fn check(&self, client_id: &str, passphrase: Option<&[u8]>) -> Result<(), RegistrarError> {
        let client = self
            .client(client_id)
            .map_err(|()| RegistrarError::PrimitiveError)?;
        let checked = passphrase
            .map(std::str::from_utf8)
            .transpose()
            .map_err(|_| GrantError::ClientAuthFailed)
            .and_then(|secret| {
                check_client(client.as_ref(), self.auth_method, secret, self.grant_type)
            });
        self.step(checked).map_err(|()| RegistrarError::Unspecified)
    }
}

impl Engine<'_> {
    /// client_credentials: [`grant::client_credentials::check_scope`] on the client that
    /// authenticated; nothing is redirected, so the bound URI is whatever `bound_redirect` chose.
    fn negotiate_client_credentials(
        &self,
        bound: BoundClient,
        scope: Option<Scope>,
    ) -> Result<PreGrant, RegistrarError> {
        let client = self
            .client(&bound.client_id)
            .map_err(|()| RegistrarError::PrimitiveError)?
            .ok_or(RegistrarError::Unspecified)?;
        let requested = Scopes::parse_lenient(&scope.map(|s| s.to_string()).unwrap_or_default());
        let granted = self
            .step(grant::client_credentials::check_scope(&client, &requested))
            .map_err(|()| RegistrarError::Unspecified)?;
        Ok(PreGrant {
            client_id: bound.client_id.into_owned(),
            redirect_uri: bound.redirect_uri.into_owned(),
            scope: granted
                .to_string()
                .parse()
                .map_err(|_| RegistrarError::PrimitiveError)?,
        })
    }
}

impl Authorizer for Engine<'_> {
    /// Codes are issued by `oauth::authorize::issue_code`, from the checked authorization
    /// request; the token endpoint's engine only redeems them.
    fn authorize(&mut self, _: OxideGrant) -> Result<String, ()> {
        self.fail("the token endpoint's engine does not issue authorization codes");
        Err(())
    }

    /// Token endpoint, code grant: [`grant::authorization_code::load_code`], the code taken once
    /// and checked in order.
    fn extract(&mut self, code: &str) -> Result<Option<OxideGrant>, ()> {
        let authenticated = self
            .trace
            .borrow()
            .client
            .as_ref()
            .map(|c| c.id.to_string());
        let request = grant::authorization_code::CodeRequest {
            client_id: authenticated.as_deref(),
            redirect_uri: self.redirect_uri.as_deref(),
            code_verifier: self.code_verifier.as_deref(),
        };
        let Ok((record, account)) = self.step(grant::authorization_code::load_code(
            &self.io(),
            &request,
            code,
        )) else {
            return Ok(None);
        };
        let grant = self.oxide_grant(
            record.sign_in.account_id.to_string(),
            record.client_id.clone(),
            &record.scope,
            &record.redirect_uri,
        )?;
        self.redeemed_marker = Some(grant::authorization_code::redeemed_key(code));
        let mut trace = self.trace.borrow_mut();
        trace.code = Some(record);
        trace.account = Some(account);
        Ok(Some(grant))
    }
}

impl accesstoken::Extension for Engine<'_> {
    /// Nothing: the PKCE verifier is one of the code's checks
    /// ([`grant::authorization_code::check_pkce`]), in their order, so that the precedence of the
    /// code grant's errors is one list.
    fn extend(&mut self, _: &dyn accesstoken::Request, _: Extensions) -> Result<Extensions, ()> {
        Ok(Extensions::new())
    }
}

impl client_credentials::Extension for Engine<'_> {
    fn extend(&mut self, _: &dyn client_credentials::Request) -> Result<Extensions, ()> {
        Ok(Extensions::new())
    }
}

impl Issuer for Engine<'_> {
    /// Code grant: [`grant::authorization_code::issue_tokens`]; client_credentials:
    /// [`grant::client_credentials::issue_tokens`].
    fn issue(&mut self, oxide: OxideGrant) -> Result<IssuedToken, ()> {
        let client = self
            .client(&oxide.client_id)?
            .ok_or_else(|| self.fail("client vanished"))?;
        let scope = Scopes::parse_lenient(&oxide.scope.to_string());
        let code = self.trace.borrow().code.clone();
        let redeemed_key = self.redeemed_marker.take();
        let issued = match &code {
            Some(record) => grant::authorization_code::issue_tokens(
                &self.io(),
                &client,
                record,
                scope,
                redeemed_key,
            ),
            None => grant::client_credentials::issue_tokens(&self.io(), &client, scope),
        };
        let (token, refresh, until) = self.keep(self.step(issued)?);
        Ok(IssuedToken {
            token,
            refresh,
            until,
            token_type: TokenType::Bearer,
        })
    }

    /// Refresh grant: [`grant::refresh_token::rotate`], which spends the token and issues a new pair.
    fn refresh(&mut self, token: &str, oxide: OxideGrant) -> Result<RefreshedToken, ()> {
        let client = self
            .client(&oxide.client_id)?
            .ok_or_else(|| self.fail("client vanished"))?;
        let rotated = grant::refresh_token::rotate(&self.io(), &client, token);
        let (token, refresh, until) = self.keep(self.step(rotated)?);
        Ok(RefreshedToken {
            token,
            refresh,
            until,
            token_type: TokenType::Bearer,
        })
    }

    fn recover_token(&self, _: &str) -> Result<Option<OxideGrant>, ()> {
        // Access tokens are JWTs verified by OneID itself (see oidc::jwt), not through oxide-auth.
        Ok(None)
    }

    /// Refresh grant: [`grant::refresh_token::load_grant`], the token's grant found without spending
    /// it; oxide-auth then checks that it belongs to the authenticated client and that the
    /// scope does not grow.
    fn recover_refresh(&self, token: &str) -> Result<Option<OxideGrant>, ()> {
        let found =
            grant::refresh_token::load_grant(&self.io(), self.requesting_client.as_deref(), token);
        let Ok(grant) = self.step(found) else {
            return Ok(None);
        };
        let owner = grant.account_id.map(|a| a.to_string()).unwrap_or_default();
        self.oxide_grant(
            owner,
            grant.client_id.to_string(),
            &grant.scope.to_string(),
            self.ctx.issuer.as_str(),
        )
        .map(Some)
    }
}

impl Engine<'_> {
    /// Keeps `issued` in the trace, which the token response is built from, and returns
    /// oxide-auth's copy: the access token, the refresh token, and their expiry by the system
    /// clock, which oxide-auth compares with.
    fn keep(&self, issued: Issued) -> (String, Option<String>, DateTime<Utc>) {
        let copy = (
            issued.access_token.clone(),
            issued.refresh_token.clone(),
            Utc::now() + Duration::seconds(issued.expires_in),
        );
        self.trace.borrow_mut().issued = Some(issued);
        copy
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
