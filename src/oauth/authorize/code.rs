//! Issuing the authorization code (RFC 6749 §4.1.2) through oxide-auth's authorization state
//! machine, fed only values the flow has already checked: the loaded client, the verified
//! redirect URI, the negotiated scopes and the PKCE challenge. Nothing here looks anything up
//! or checks anything again; the machine binds, negotiates and asks for the code, and the
//! code's record is stored afterwards, off the machine's synchronous callbacks.

use std::borrow::Cow;

use chrono::{DateTime, Duration, Utc};
use oxide_auth::{
    code_grant::authorization,
    primitives::{
        authorizer::Authorizer,
        grant::{Extensions, Grant as OxideGrant},
        registrar::{
            BoundClient, ClientUrl, ExactUrl, PreGrant, RegisteredUrl, Registrar, RegistrarError,
        },
        scope::Scope,
    },
};

use super::AuthorizationRequest;
use crate::{
    db::models::connected_app,
    domain::{Scopes, random_token},
    oauth::{
        Context,
        code::{CodeRecord, SignInContext, code_key},
        error::OAuthError,
    },
    store::ttl_until,
};

/// Issues a code for `request` to the person of `sign_in`, for `scopes`, and stores what it
/// stands for under its client and its digest ([`code_key`]) for `authorization_code_ttl_secs`. The code itself is 256
/// random bits (RFC 6749 §10.10 asks for at least 128). The app joins (or moves up) the
/// person's connected apps.
pub async fn issue_code(
    ctx: &Context,
    request: &AuthorizationRequest,
    sign_in: SignInContext,
    scopes: &Scopes,
) -> Result<String, OAuthError> {
    let now = ctx.clock.now();
    let expires_at = now + Duration::seconds(ctx.settings.authorization_code_ttl_secs);
    let account = sign_in.account_id;
    let (code, mut record) = run_machine(request, sign_in, scopes, expires_at)?;
    record.issued_at = Some(now);
    ctx.store
        .put_json(
            &code_key(&request.client.id, &code),
            &record,
            ttl_until(now, expires_at),
        )
        .await?;
    let client = request.client.id.clone();
    ctx.db
        .run(move |conn| connected_app::record_use(conn, account, &client, now))
        .await?;
    Ok(code)
}

/// One pass of oxide-auth's machine over checked values; in memory only.
fn run_machine(
    request: &AuthorizationRequest,
    sign_in: SignInContext,
    scopes: &Scopes,
    expires_at: DateTime<Utc>,
) -> Result<(String, CodeRecord), OAuthError> {
    let scope = scopes.to_string();
    let owner = sign_in.account_id.to_string();
    let checked = CheckedRequest {
        request,
        scope: &scope,
    };
    let mut endpoint = CheckedEndpoint {
        request,
        granted: scopes,
        scope: scope
            .parse()
            .map_err(|_| OAuthError::server("negotiated scopes do not parse as a scope"))?,
        redirect_uri: ExactUrl::new(request.redirect_uri.clone())
            .map_err(|_| OAuthError::server("a verified redirect URI does not parse"))?,
        sign_in: Some(sign_in),
        expires_at,
        issued: None,
    };
    authorization::authorization_code(&mut endpoint, &checked)
        .map_err(|_| OAuthError::server("oxide-auth refused a checked authorization request"))?
        .authorize(&mut endpoint, owner.into())
        .map_err(|_| OAuthError::server("oxide-auth could not issue the code"))?;
    endpoint
        .issued
        .ok_or_else(|| OAuthError::server("oxide-auth issued no code"))
}

/// The request as oxide-auth reads it: the checked values, with the negotiated scopes in
/// place of the requested ones and no extension parameters (PKCE is already checked).
struct CheckedRequest<'r> {
    request: &'r AuthorizationRequest,
    scope: &'r str,
}

impl authorization::Request for CheckedRequest<'_> {
    fn valid(&self) -> bool {
        true
    }
    fn client_id(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(self.request.client.id.as_str()))
    }
    fn scope(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(self.scope))
    }
    fn redirect_uri(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(&self.request.redirect_uri))
    }
    fn state(&self) -> Option<Cow<'_, str>> {
        self.request.state.as_deref().map(Cow::Borrowed)
    }
    fn response_type(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed("code"))
    }
    fn extension(&self, _: &str) -> Option<Cow<'_, str>> {
        None
    }
}

/// oxide-auth's primitives for one checked request: the registrar answers with the loaded
/// client's verified redirect URI and the negotiated scopes, the authorizer makes the code.
struct CheckedEndpoint<'r> {
    request: &'r AuthorizationRequest,
    granted: &'r Scopes,
    /// `granted` as oxide-auth's type.
    scope: Scope,
    redirect_uri: ExactUrl,
    sign_in: Option<SignInContext>,
    expires_at: DateTime<Utc>,
    /// The code made, and what it stands for, to be stored once the machine is done.
    issued: Option<(String, CodeRecord)>,
}

impl Registrar for CheckedEndpoint<'_> {
    /// The redirect URI was verified against the loaded client by the parse.
    fn bound_redirect<'b>(&self, bound: ClientUrl<'b>) -> Result<BoundClient<'b>, RegistrarError> {
        if bound.client_id != self.request.client.id.as_str() {
            return Err(RegistrarError::PrimitiveError);
        }
        Ok(BoundClient {
            client_id: bound.client_id,
            redirect_uri: Cow::Owned(RegisteredUrl::Exact(self.redirect_uri.clone())),
        })
    }

    /// The scopes were negotiated by [`super::negotiate_scopes`].
    fn negotiate(&self, bound: BoundClient, _: Option<Scope>) -> Result<PreGrant, RegistrarError> {
        Ok(PreGrant {
            client_id: bound.client_id.into_owned(),
            redirect_uri: bound.redirect_uri.into_owned(),
            scope: self.scope.clone(),
        })
    }

    /// Client authentication belongs to the token endpoint; the authorization machine never
    /// asks for it.
    fn check(&self, _: &str, _: Option<&[u8]>) -> Result<(), RegistrarError> {
        Err(RegistrarError::PrimitiveError)
    }
}

impl Authorizer for CheckedEndpoint<'_> {
    fn authorize(&mut self, grant: OxideGrant) -> Result<String, ()> {
        let sign_in = self.sign_in.take().ok_or(())?;
        let code = random_token();
        let record = CodeRecord {
            client_id: grant.client_id,
            // The string the request sent: `grant.redirect_uri` is its parsed (normalised)
            // form, and the token request must send the identical string.
            redirect_uri: self.request.redirect_uri.clone(),
            // The same set as `grant.scope`, written in OneID's order (oxide-auth's is a hash
            // set's, different on every run).
            scope: self.granted.to_string(),
            expires_at: self.expires_at,
            issued_at: None,
            pkce: self.request.pkce.clone(),
            sign_in,
        };
        self.issued = Some((code.clone(), record));
        Ok(code)
    }

    /// Codes are redeemed at the token endpoint, by its own engine.
    fn extract(&mut self, _: &str) -> Result<Option<OxideGrant>, ()> {
        Err(())
    }
}

impl authorization::Extension for CheckedEndpoint<'_> {
    /// PKCE was checked by the parse; its challenge goes straight into the code's record.
    fn extend(&mut self, _: &dyn authorization::Request) -> Result<Extensions, ()> {
        Ok(Extensions::new())
    }
}

impl authorization::Endpoint for CheckedEndpoint<'_> {
    fn registrar(&self) -> &dyn Registrar {
        self
    }
    fn authorizer(&mut self) -> &mut dyn Authorizer {
        self
    }
    fn extension(&mut self) -> &mut dyn authorization::Extension {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        domain::AccountId,
        oauth::{
            authorize::{Prompts, ResponseMode},
            pkce::Challenge,
            registry::{self, Registration},
        },
    };

    /// A checked request of a public client whose redirect URI is a loopback one, sent with
    /// another port than registered (RFC 8252 §7.3), and a PKCE challenge.
    fn request() -> AuthorizationRequest {
        let (client, _) = registry::build(
            Registration {
                name: "Talk".into(),
                logo_url: None,
                redirect_uris: vec!["http://127.0.0.1/cb".into()],
                post_logout_redirect_uris: vec![],
                backchannel_logout_uri: None,
                public: true,
                secret_post: false,
                first_party: false,
                scopes: None,
                client_credentials: false,
                id_token_alg: None,
                access_token_alg: None,
            },
            Utc::now(),
        )
        .unwrap();
        AuthorizationRequest {
            client,
            redirect_uri: "http://127.0.0.1:49152/cb".into(),
            response_mode: ResponseMode::Query,
            state: Some("st".into()),
            prompts: Prompts::default(),
            max_age: None,
            pkce: Challenge::from_request(
                Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
                Some("S256"),
                true,
            )
            .unwrap(),
            nonce: Some("n".into()),
            login_hint: None,
            id_token_hint: None,
            // What was asked is not what the code carries: the negotiated scopes are.
            scope: Some("openid email unknown".into()),
            acr_values: None,
        }
    }

    fn sign_in() -> SignInContext {
        SignInContext {
            account_id: AccountId::from_stored(7),
            sub: "sub-7".into(),
            auth_time: Utc::now(),
            sid: "sid".into(),
            amr: vec!["pwd".into()],
            nonce: Some("n".into()),
            acr: None,
        }
    }

    #[test]
    fn the_code_carries_exactly_the_checked_values() {
        let request = request();
        let scopes = Scopes::parse_strict("openid email").unwrap();
        let expires_at = Utc::now() + Duration::seconds(60);
        let (code, record) = run_machine(&request, sign_in(), &scopes, expires_at).unwrap();
        assert_eq!(code.len(), 43, "256 bits, base64url");
        assert_eq!(record.client_id, request.client.id.as_str());
        // The string as sent, not oxide-auth's parsed form of it.
        assert_eq!(record.redirect_uri, "http://127.0.0.1:49152/cb");
        assert_eq!(record.scope, "openid email");
        assert_eq!(record.pkce, request.pkce);
        assert_eq!(record.expires_at, expires_at);
        assert_eq!(record.sign_in.sub, "sub-7");
        let (again, _) = run_machine(&request, sign_in(), &scopes, expires_at).unwrap();
        assert_ne!(code, again);
    }
}
