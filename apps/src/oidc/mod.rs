//! OneID as this app sees it, through the `openidconnect` crate only: discovery, the client,
//! OneID's signing keys, and the protocol steps (sign-in, refresh, logout tokens).

pub mod login;
pub mod logout_token;

use std::{
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use openidconnect::{
    AdditionalClaims, AdditionalProviderMetadata, ClientId, ClientSecret, EmptyExtraTokenFields,
    EndSessionUrl, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, JsonWebKeySet,
    RedirectUrl, StandardErrorResponse, StandardTokenResponse,
    core::{
        CoreAuthDisplay, CoreAuthPrompt, CoreClaimName, CoreClaimType, CoreClientAuthMethod,
        CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJsonWebKey, CoreJsonWebKeySet,
        CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
        CoreResponseMode, CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
        CoreSubjectIdentifierType, CoreTokenIntrospectionResponse, CoreTokenType,
    },
    reqwest,
};
use serde::{Deserialize, Serialize};

use crate::config::{Config, PublicUrl};

/// The ID token claim this app reads beyond the standard ones: `sid`, the OneID session
/// (Back-Channel Logout 1.0 §2.1), so a logout token can name it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl AdditionalClaims for SessionClaims {}

/// Discovery fields this app reads beyond OpenID Connect Discovery 1.0's own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraMetadata {
    /// RP-Initiated Logout 1.0 §2.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<EndSessionUrl>,
    /// RFC 9207 §3: OneID names itself in every authorization response.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

impl AdditionalProviderMetadata for ExtraMetadata {}

pub type ProviderMetadata = openidconnect::ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

pub type IdToken = openidconnect::IdToken<
    SessionClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

pub type IdTokenFields = openidconnect::IdTokenFields<
    SessionClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

pub type TokenResponse = StandardTokenResponse<IdTokenFields, CoreTokenType>;

/// The client: authorization, token and UserInfo endpoints set, the rest unused.
pub type OidcClient = ClientWith<EndpointSet, EndpointSet>;

/// The client with the token and UserInfo endpoints in a given state (discovery leaves them
/// "maybe set").
type ClientWith<HasToken, HasUserInfo> = openidconnect::Client<
    SessionClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    HasToken,
    HasUserInfo,
>;

/// How long to keep trying discovery while OneID starts.
pub const DISCOVERY_PATIENCE: Duration = Duration::from_secs(30);
/// Fetch OneID's keys again at most this often (an unknown `kid` must not let anyone make us
/// hammer OneID).
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("invalid issuer URL: {0}")]
    Issuer(String),
    #[error("OpenID Connect discovery at {issuer} failed: {detail}")]
    Discovery { issuer: String, detail: String },
    #[error("OneID's discovery document has no {0}")]
    MissingEndpoint(&'static str),
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

/// What discovery found, rebuilt whenever OneID's keys are fetched again.
pub struct Discovered {
    pub client: OidcClient,
    pub jwks: CoreJsonWebKeySet,
    metadata: ProviderMetadata,
}

/// OneID, discovered: the client this app uses, its keys, its end-session endpoint.
pub struct Provider {
    current: RwLock<Arc<Discovered>>,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    redirect_uri: RedirectUrl,
    http: reqwest::Client,
    last_jwks_fetch: tokio::sync::Mutex<Option<Instant>>,
}

/// The HTTP client for calls to OneID. It never follows redirects (an OIDC client must not:
/// SSRF), and gives up after [`HTTP_TIMEOUT`].
pub fn http_client() -> Result<reqwest::Client, ProviderError> {
    reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(HTTP_TIMEOUT)
        .build()
        .map_err(|e| ProviderError::Http(e.to_string()))
}

impl Provider {
    /// OpenID Connect Discovery 1.0 §4 (the JWKS included), tried again every second for up to
    /// `patience` while OneID starts.
    pub async fn discover(
        config: &Config,
        public_url: &PublicUrl,
        patience: Duration,
    ) -> Result<Self, ProviderError> {
        let issuer = IssuerUrl::new(config.issuer.clone())
            .map_err(|e| ProviderError::Issuer(e.to_string()))?;
        let http = http_client()?;
        let started = Instant::now();
        let metadata = loop {
            match ProviderMetadata::discover_async(issuer.clone(), &http).await {
                Ok(metadata) => break metadata,
                Err(e) if started.elapsed() < patience => {
                    tracing::info!(issuer = %issuer.as_str(), error = %error_chain(&e), "OneID not reachable yet, retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => {
                    return Err(ProviderError::Discovery {
                        issuer: issuer.to_string(),
                        detail: error_chain(&e),
                    });
                }
            }
        };
        Self::from_metadata(
            metadata,
            ClientId::new(config.client_id.clone()),
            config
                .client_secret
                .as_ref()
                .map(|s| ClientSecret::new(s.expose().to_owned())),
            public_url,
            http,
        )
    }

    /// A provider from metadata already in hand (discovery's result, or a test's).
    pub fn from_metadata(
        metadata: ProviderMetadata,
        client_id: ClientId,
        client_secret: Option<ClientSecret>,
        public_url: &PublicUrl,
        http: reqwest::Client,
    ) -> Result<Self, ProviderError> {
        let redirect_uri = RedirectUrl::new(public_url.join("/callback"))
            .map_err(|e| ProviderError::Issuer(e.to_string()))?;
        let discovered = build(metadata, &client_id, &client_secret, &redirect_uri)?;
        Ok(Self {
            current: RwLock::new(Arc::new(discovered)),
            client_id,
            client_secret,
            redirect_uri,
            http,
            last_jwks_fetch: tokio::sync::Mutex::new(None),
        })
    }

    /// The client and keys as of now.
    pub fn current(&self) -> Arc<Discovered> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn issuer(&self) -> String {
        self.current().metadata.issuer().to_string()
    }

    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// RP-Initiated Logout 1.0 §2: where to send the browser to sign out at OneID, if it says.
    pub fn end_session_endpoint(&self) -> Option<EndSessionUrl> {
        self.current()
            .metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()
    }

    /// Whether every authorization response must carry `iss` (RFC 9207 §2.4).
    pub fn requires_iss(&self) -> bool {
        self.current()
            .metadata
            .additional_metadata()
            .authorization_response_iss_parameter_supported
    }

    /// Fetches OneID's JWKS again after a key we do not know turned up (Core §10.1.1: keys
    /// rotate). Returns whether the keys were fetched; at most once per interval.
    pub async fn refetch_keys(&self) -> bool {
        let mut last = self.last_jwks_fetch.lock().await;
        if last.is_some_and(|t| t.elapsed() < JWKS_REFETCH_INTERVAL) {
            return false;
        }
        *last = Some(Instant::now());
        let current = self.current();
        let jwks = match JsonWebKeySet::fetch_async(current.metadata.jwks_uri(), &self.http).await {
            Ok(jwks) => jwks,
            Err(e) => {
                tracing::warn!(error = %error_chain(&e), "fetching OneID's keys failed");
                return false;
            }
        };
        let metadata = current.metadata.clone().set_jwks(jwks);
        match build(
            metadata,
            &self.client_id,
            &self.client_secret,
            &self.redirect_uri,
        ) {
            Ok(discovered) => {
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(discovered);
                tracing::info!("fetched OneID's keys again");
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "OneID's metadata no longer usable");
                false
            }
        }
    }
}

fn build(
    metadata: ProviderMetadata,
    client_id: &ClientId,
    client_secret: &Option<ClientSecret>,
    redirect_uri: &RedirectUrl,
) -> Result<Discovered, ProviderError> {
    let token_url = metadata
        .token_endpoint()
        .cloned()
        .ok_or(ProviderError::MissingEndpoint("token_endpoint"))?;
    let userinfo_url = metadata
        .userinfo_endpoint()
        .cloned()
        .ok_or(ProviderError::MissingEndpoint("userinfo_endpoint"))?;
    let client = ClientWith::<EndpointMaybeSet, EndpointMaybeSet>::from_provider_metadata(
        metadata.clone(),
        client_id.clone(),
        client_secret.clone(),
    )
    .set_token_uri(token_url)
    .set_user_info_url(userinfo_url)
    .set_redirect_uri(redirect_uri.clone());
    Ok(Discovered {
        client,
        jwks: metadata.jwks().clone(),
        metadata,
    })
}

/// An error and its sources on one line, for logs.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
