//! The authorization request, parsed once (RFC 6749 §4.1.1, OIDC Core §3.1.2.1) into an
//! [`AuthorizationRequest`]. Nothing may be redirected before the client and its redirect URI
//! are verified (RFC 6749 §4.1.2.1): until then a refusal is a page at OneID; after, it goes
//! back to the client with `state` and `iss`.

use chrono::Duration;

use super::{ClientResponse, ResponseMode};
use crate::{
    db::models::client::Client,
    domain::{Acr, Issuer},
    oauth::{
        Context,
        client_auth::find_client,
        error::{ErrorCode, OAuthError},
        params::Params,
        pkce::Challenge,
    },
};

/// An authorization request whose client and redirect URI are verified and whose every
/// parameter has been read. What the flow after the parse works with.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The registered client the request names.
    pub client: Client,
    /// `redirect_uri` exactly as sent, registered for the client. Codes remember this string:
    /// the token request must send it identically (RFC 6749 §4.1.3).
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    /// `state`, echoed in every answer (RFC 6749 §4.1.2).
    pub state: Option<String>,
    pub prompts: Prompts,
    /// `max_age`; [`Duration::MAX`] for a number too large to be any limit.
    pub max_age: Option<Duration>,
    /// The S256 challenge the code will be bound to (RFC 7636 §4.4).
    pub pkce: Option<Challenge>,
    pub nonce: Option<String>,
    pub login_hint: Option<String>,
    /// Not yet checked: only a signed-in person is compared with it.
    pub id_token_hint: Option<String>,
    /// `scope` as requested; what the client gets is decided by [`super::negotiate_scopes`].
    pub scope: Option<String>,
    /// The weakest class `acr_values` names that OneID knows (see
    /// [`Acr::weakest_requested`]): a voluntary request (OIDC Core §3.1.2.1).
    pub acr_values: Option<Acr>,
}

/// Why a request stops during its parse.
#[derive(Debug)]
pub enum Refusal {
    /// The client or redirect URI could not be verified: a page at OneID, never a redirect.
    Page(OAuthError),
    /// The client and redirect URI are good: the error goes back to the client.
    Client(Box<ClientResponse>),
    /// An administrator disabled the client: a page at OneID that says so (named `name`), in
    /// the person's language, never a redirect to it.
    Disabled { name: String },
}

impl AuthorizationRequest {
    /// An error for the client, with `state` and `iss`.
    pub fn refuse(&self, issuer: &Issuer, error: OAuthError) -> ClientResponse {
        error_response(
            issuer,
            &self.redirect_uri,
            self.state.as_deref(),
            self.response_mode,
            error,
        )
    }
}

/// Parses `pairs` against the current registration of the client they name. The outer error
/// is a failure of ours (the database is down); the inner one a refusal of the request.
pub async fn parse_request(
    ctx: &Context,
    pairs: &[(String, String)],
) -> Result<Result<AuthorizationRequest, Refusal>, OAuthError> {
    // A parameter sent twice cannot be read (RFC 6749 §3.1); nothing is verified yet.
    let params = match Params::from_pairs(pairs.to_vec()) {
        Ok(params) => params,
        Err(e) => return Ok(Err(Refusal::Page(e))),
    };
    let client = match load_client(ctx, params.get("client_id")).await? {
        Ok(client) => client,
        Err(e) => return Ok(Err(Refusal::Page(e))),
    };
    if client.is_disabled() {
        return Ok(Err(Refusal::Disabled { name: client.name }));
    }
    let redirect_uri = match check_redirect_uri(&client, params.get("redirect_uri")) {
        Ok(uri) => uri,
        Err(e) => return Ok(Err(Refusal::Page(e))),
    };
    let pkce_for_all = ctx.settings.require_pkce_for_all;
    Ok(read_verified(
        pairs,
        &params,
        client,
        redirect_uri,
        &ctx.issuer,
        pkce_for_all,
    )
    .map_err(Refusal::Client))
}

/// The rest of the parse, once errors may go back to the client: the steps in the order their
/// errors take precedence.
fn read_verified(
    pairs: &[(String, String)],
    params: &Params,
    client: Client,
    redirect_uri: String,
    issuer: &Issuer,
    pkce_for_all: bool,
) -> Result<AuthorizationRequest, Box<ClientResponse>> {
    // An oversized state is not echoed: the error may be about that very state.
    let state = params
        .get("state")
        .filter(|s| s.len() <= max_parameter_bytes("state"));
    let refuse_as =
        |mode, error| Box::new(error_response(issuer, &redirect_uri, state, mode, error));
    let response_mode = check_response_mode(params.get("response_mode"))
        .map_err(|e| refuse_as(ResponseMode::Query, e))?;
    let refuse = |e| refuse_as(response_mode, e);
    check_size(pairs).map_err(refuse)?;
    check_request_objects(params.get("request"), params.get("request_uri")).map_err(refuse)?;
    check_response_type(params.get("response_type")).map_err(refuse)?;
    let prompts = Prompts::parse(params.get("prompt")).map_err(refuse)?;
    let max_age = parse_max_age(params.get("max_age")).map_err(refuse)?;
    let pkce = check_pkce(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
        client.auth.is_public() || pkce_for_all,
    )
    .map_err(refuse)?;
    let owned = |name| params.get(name).map(str::to_owned);
    Ok(AuthorizationRequest {
        state: state.map(str::to_owned),
        response_mode,
        prompts,
        max_age,
        pkce,
        nonce: owned("nonce"),
        login_hint: owned("login_hint"),
        id_token_hint: owned("id_token_hint"),
        scope: owned("scope"),
        acr_values: params.get("acr_values").and_then(Acr::weakest_requested),
        client,
        redirect_uri,
    })
}

/// The client must exist; otherwise there is nobody to redirect to (RFC 6749 §4.1.2.1).
async fn load_client(
    ctx: &Context,
    client_id: Option<&str>,
) -> Result<Result<Client, OAuthError>, OAuthError> {
    let Some(raw) = client_id.map(str::to_owned) else {
        return Ok(Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "client_id is missing",
        )));
    };
    let found = find_client(ctx, &raw).await?;
    Ok(found.ok_or_else(|| OAuthError::new(ErrorCode::InvalidRequest, "unknown client_id")))
}

/// `redirect_uri` is required (OIDC Core §3.1.2.1) and must be registered, compared as an
/// exact string (RFC 9700 §4.1.3; loopback ports excepted, RFC 8252 §7.3).
pub fn check_redirect_uri(client: &Client, requested: Option<&str>) -> Result<String, OAuthError> {
    let requested = requested
        .ok_or_else(|| OAuthError::new(ErrorCode::InvalidRequest, "redirect_uri is missing"))?;
    client
        .redirect_uri(requested)
        .map(|_| requested.to_owned())
        .ok_or_else(|| {
            OAuthError::new(
                ErrorCode::InvalidRequest,
                "redirect_uri is not registered for this client",
            )
        })
}

/// `response_mode` (OAuth 2.0 Multiple Response Type Encoding Practices §2.1, Form Post
/// Response Mode §2): `query`, the default for `code`, or `form_post`.
pub fn check_response_mode(value: Option<&str>) -> Result<ResponseMode, OAuthError> {
    match value {
        None | Some("query") => Ok(ResponseMode::Query),
        Some("form_post") => Ok(ResponseMode::FormPost),
        Some(_) => Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "response_mode must be query or form_post",
        )),
    }
}

/// `response_type` must be `code`: only the authorization code flow (RFC 6749 §4.1.1; RFC
/// 9700 §2.1.2 retires the implicit flow).
pub fn check_response_type(value: Option<&str>) -> Result<(), OAuthError> {
    match value {
        Some("code") => Ok(()),
        None => Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "response_type is missing",
        )),
        Some(_) => Err(OAuthError::new(
            ErrorCode::UnsupportedResponseType,
            "only response_type=code is supported",
        )),
    }
}

/// PKCE (RFC 7636 §4.3): a challenge is S256 only (`plain`, and a missing method that
/// defaults to it, are refused, RFC 9700 §2.1.1) and well formed; it is required from public
/// clients, and from every client when the settings say so. Checked before anyone is asked
/// to sign in, so a broken request fails at once.
pub fn check_pkce(
    challenge: Option<&str>,
    method: Option<&str>,
    required: bool,
) -> Result<Option<Challenge>, OAuthError> {
    Challenge::from_request(challenge, method, required)
        .map_err(|e| OAuthError::new(ErrorCode::InvalidRequest, e.to_string()))
}

/// `max_age` (OIDC Core §3.1.2.1): a non-negative number of seconds. A number too large for a
/// duration (more than about 292 billion years) cannot make any sign-in too old: it means "no
/// limit", with checked arithmetic instead of chrono's panicking `Duration::seconds`.
pub fn parse_max_age(value: Option<&str>) -> Result<Option<Duration>, OAuthError> {
    let Some(value) = value else { return Ok(None) };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "max_age must be a non-negative number of seconds",
        ));
    }
    // All digits: a parse failure can only be an overflow, which is "no limit" too.
    Ok(value
        .parse::<i64>()
        .ok()
        .and_then(Duration::try_seconds)
        .or(Some(Duration::MAX)))
}

/// `request` and `request_uri` (OIDC Core §6.1, §6.2) are not supported; ignoring them would
/// silently drop whatever the client put in the request object, so they are refused with the
/// codes §6.1 and §6.2 name for that.
pub fn check_request_objects(
    request: Option<&str>,
    request_uri: Option<&str>,
) -> Result<(), OAuthError> {
    if request.is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects (request) are not supported",
        ));
    }
    if request_uri.is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request objects by reference (request_uri) are not supported",
        ));
    }
    Ok(())
}

/// `prompt` values (OIDC Core §3.1.2.1).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Prompts {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
    pub select_account: bool,
}

impl Prompts {
    /// `prompt` is a space-separated list of known values; `none` stands alone (OIDC Core
    /// §3.1.2.1: "If this parameter contains none with any other value, an error is returned").
    pub fn parse(value: Option<&str>) -> Result<Self, OAuthError> {
        let mut prompts = Self::default();
        for token in value.unwrap_or_default().split_ascii_whitespace() {
            match token {
                "none" => prompts.none = true,
                "login" => prompts.login = true,
                "consent" => prompts.consent = true,
                "select_account" => prompts.select_account = true,
                other => {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidRequest,
                        format!("unknown prompt value `{other}`"),
                    ));
                }
            }
        }
        if prompts.none && (prompts.login || prompts.consent || prompts.select_account) {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "prompt=none cannot be combined with other values",
            ));
        }
        Ok(prompts)
    }
}

/// The most a parameter of an authorization request may carry, in bytes. A request is parked
/// in the store while the person signs in, so what it carries is what a stranger can make the
/// server hold; these caps keep that small while leaving room for every real client.
pub const MAX_PARAMETER_BYTES: &[(&str, usize)] = &[
    ("state", 2048),
    ("nonce", 512),
    ("login_hint", 320),
    ("id_token_hint", 4096),
    ("ui_locales", 256),
    ("claims_locales", 256),
    ("acr_values", 512),
    ("claims", 2048),
    ("scope", 1024),
    ("redirect_uri", 2048),
    ("client_id", 128),
    ("code_challenge", 128),
];
/// Any parameter not named in [`MAX_PARAMETER_BYTES`].
pub const MAX_OTHER_PARAMETER_BYTES: usize = 1024;
/// The longest parameter name.
pub const MAX_NAME_BYTES: usize = 64;
/// Parameters in one request (OIDC Core §3.1.2.1 defines fewer than 20).
pub const MAX_PARAMETERS: usize = 32;
/// Names and values of one request together.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;

/// The cap on one parameter's value.
pub fn max_parameter_bytes(name: &str) -> usize {
    MAX_PARAMETER_BYTES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(MAX_OTHER_PARAMETER_BYTES, |(_, max)| *max)
}

/// Bounds what one authorization request may carry: the number of parameters, each name and
/// value, their total, and no control characters (none of the protocol's parameters has any;
/// RFC 6749 Appendix A allows only visible characters and spaces in `state`).
pub fn check_size(pairs: &[(String, String)]) -> Result<(), OAuthError> {
    let too_large = |what: String| OAuthError::new(ErrorCode::InvalidRequest, what);
    if pairs.len() > MAX_PARAMETERS {
        return Err(too_large(format!(
            "at most {MAX_PARAMETERS} parameters are accepted"
        )));
    }
    let mut total = 0usize;
    for (name, value) in pairs {
        if name.len() > MAX_NAME_BYTES {
            return Err(too_large("a parameter name is too long".to_owned()));
        }
        let max = max_parameter_bytes(name);
        if value.len() > max {
            // The name is short and printable here (checked above is only its length).
            let shown: String = name.chars().filter(|c| c.is_ascii_graphic()).collect();
            return Err(too_large(format!("`{shown}` is longer than {max} bytes")));
        }
        if name.chars().chain(value.chars()).any(char::is_control) {
            return Err(too_large(
                "parameters must not contain control characters".to_owned(),
            ));
        }
        total = total.saturating_add(name.len()).saturating_add(value.len());
    }
    if total > MAX_REQUEST_BYTES {
        return Err(too_large(format!(
            "the request is larger than {MAX_REQUEST_BYTES} bytes"
        )));
    }
    Ok(())
}

/// An error for the client (RFC 6749 §4.1.2.1), with `state` and `iss` (RFC 9207 §2).
pub fn error_response(
    issuer: &Issuer,
    redirect_uri: &str,
    state: Option<&str>,
    mode: ResponseMode,
    error: OAuthError,
) -> ClientResponse {
    let mut params = vec![
        ("error".to_owned(), error.code.as_str().to_owned()),
        (
            "error_description".to_owned(),
            error.description.into_owned(),
        ),
    ];
    if let Some(state) = state {
        params.push(("state".into(), state.to_owned()));
    }
    params.push(("iss".into(), issuer.to_string()));
    ClientResponse {
        redirect_uri: redirect_uri.to_owned(),
        params,
        mode,
        audit: None,
    }
}
