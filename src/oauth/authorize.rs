//! The authorization endpoint's flow (RFC 6749 §4.1.1, OIDC Core §3.1.2), as ordered steps.
//! Errors are redirected to the client only after the client and its redirect URI are
//! verified (RFC 6749 §4.1.2.1); before that they are shown at OneID.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use oxide_auth::code_grant::authorization::{self, Error as OxideError};
use serde::{Deserialize, Serialize};

use super::{
    engine::{Engine, SignInContext, issuer},
    error::{ErrorCode, OAuthError},
    params::Params,
};
use crate::{
    audit::{self, AuditEvent, AuditKind},
    db::models::{account, client::Client, grant},
    domain::{AccountId, ClientId, Scopes},
    session::SignedIn,
    state::AppState,
};

/// `response_mode` (OAuth 2.0 Multiple Response Type Encoding Practices, Form Post Response Mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    FormPost,
}

/// An answer for the client, delivered through the browser.
#[derive(Debug, Clone)]
pub struct ClientResponse {
    pub redirect_uri: String,
    pub params: Vec<(String, String)>,
    pub mode: ResponseMode,
    /// The consent decision this answer carries out, for the caller to complete and record.
    pub audit: Option<AuditEvent>,
}

impl ClientResponse {
    /// The redirect URI with the parameters added to its query.
    pub fn location(&self) -> String {
        let mut url =
            url::Url::parse(&self.redirect_uri).expect("redirect URIs are validated URLs");
        url.query_pairs_mut().extend_pairs(&self.params);
        url.to_string()
    }
}

#[derive(Debug)]
pub enum Outcome {
    /// The client or redirect URI could not be verified: show an error page, never redirect.
    ErrorPage(OAuthError),
    /// Back to the client, with a code or an error.
    Respond(ClientResponse),
    /// The person must sign in (again); then resume the saved request.
    Login { login_hint: Option<String> },
    /// The person must decide whether the client may have these scopes.
    Consent { client: Box<Client>, scopes: Scopes },
}

/// A request put aside while the person signs in or decides on consent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interaction {
    pub params: Vec<(String, String)>,
    pub started_at: DateTime<Utc>,
}

/// What the person did on OneID's pages during this interaction.
#[derive(Debug, Clone, Copy, Default)]
pub struct Decisions {
    /// Consent given (`Some(true)`) or refused (`Some(false)`) on the consent page just now.
    pub consent: Option<bool>,
}

/// Runs the authorization flow for `params` and the browser's sign-in state.
pub async fn authorize(
    state: &Arc<AppState>,
    interaction: &Interaction,
    signed_in: Option<&SignedIn>,
    decisions: Decisions,
) -> Result<Outcome, OAuthError> {
    // A parameter sent twice cannot be read (RFC 6749 §3.1); nothing is verified yet, so the
    // answer is a page at OneID, never a redirect.
    let params = match Params::from_pairs(interaction.params.clone()) {
        Ok(params) => params,
        Err(e) => return Ok(Outcome::ErrorPage(e)),
    };
    let oversize = check_size(&interaction.params).err();
    let client = match load_client(state, &params).await? {
        Ok(client) => client,
        Err(page) => return Ok(Outcome::ErrorPage(page)),
    };
    let redirect_uri = match check_redirect_uri(&client, &params) {
        Ok(uri) => uri,
        Err(page) => return Ok(Outcome::ErrorPage(page)),
    };
    // From here on, errors go back to the client.
    let mode = match check_response_mode(&params) {
        Ok(mode) => mode,
        Err(e) => {
            return Ok(Outcome::Respond(error_response(
                state,
                &params,
                &redirect_uri,
                ResponseMode::Query,
                e,
            )));
        }
    };
    let reply = |e: OAuthError| {
        Ok(Outcome::Respond(error_response(
            state,
            &params,
            &redirect_uri,
            mode,
            e,
        )))
    };
    if let Some(e) = oversize {
        return reply(e);
    }
    if let Err(e) = check_request_objects(&params) {
        return reply(e);
    }
    if let Err(e) = check_response_type(&params) {
        return reply(e);
    }
    let prompts = match Prompts::parse(params.get("prompt")) {
        Ok(p) => p,
        Err(e) => return reply(e),
    };
    let max_age = match parse_max_age(params.get("max_age")) {
        Ok(age) => age,
        Err(e) => return reply(e),
    };

    if let Err(e) = check_pkce(state, &client, &params) {
        return reply(e);
    }

    let Some(person) = check_session(state, signed_in, interaction, &prompts, max_age) else {
        if prompts.none {
            return reply(OAuthError::new(
                ErrorCode::LoginRequired,
                "the person is not signed in (prompt=none)",
            ));
        }
        return Ok(Outcome::Login {
            login_hint: params.get("login_hint").map(str::to_owned),
        });
    };

    let account_id = person.account_id;
    let account = state
        .db
        .run(move |conn| account::find_by_id(conn, account_id))
        .await?
        .ok_or_else(|| OAuthError::server("signed-in account vanished"))?;
    // OIDC Core §3.1.2.2: an id_token_hint naming someone else than the signed-in person
    // means that person must sign in; with prompt=none that is login_required.
    if let Some(hint) = params.get("id_token_hint") {
        let hinted = crate::oidc::jwt::verify_id_token::<HintSubject>(&state.keys.current(), hint)
            .ok()
            .filter(|h| h.iss == issuer(state));
        let Some(hinted) = hinted else {
            return reply(OAuthError::new(
                ErrorCode::InvalidRequest,
                "id_token_hint is not an ID token issued by OneID",
            ));
        };
        if hinted.sub != account.sub.as_str() && signed_in_before(&person, interaction) {
            if prompts.none {
                return reply(OAuthError::new(
                    ErrorCode::LoginRequired,
                    "a different person is signed in (id_token_hint)",
                ));
            }
            return Ok(Outcome::Login {
                login_hint: params.get("login_hint").map(str::to_owned),
            });
        }
    }
    let sign_in = SignInContext {
        account_id,
        sub: account.sub.to_string(),
        auth_time: person.auth_time,
        sid: person.sid.clone(),
        amr: person.amr.clone(),
        nonce: params.get("nonce").map(str::to_owned),
        acr: Some(ACR_SINGLE_FACTOR.to_owned()),
    };
    let decided =
        run_oxide_authorization(state, &params, &client, sign_in, prompts, decisions).await?;
    let decision = |scopes: &Scopes, outcome| consent_event(&client, account_id, scopes, outcome);
    match decided {
        Decided::Code { params, consented } => Ok(Outcome::Respond(ClientResponse {
            redirect_uri,
            params,
            mode,
            audit: consented.map(|scopes| decision(&scopes, audit::Outcome::Ok)),
        })),
        Decided::Refused(scopes) => {
            let error = OAuthError::new(ErrorCode::AccessDenied, "the person did not allow access");
            let mut response = error_response(state, &params, &redirect_uri, mode, error);
            response.audit = Some(decision(&scopes, audit::Outcome::Refused));
            Ok(Outcome::Respond(response))
        }
        Decided::Error(e) => reply(e),
        Decided::AskConsent(scopes) => Ok(Outcome::Consent {
            client: Box::new(client),
            scopes,
        }),
    }
}

enum Decided {
    /// A code, in the response parameters; `consented`: the scopes just allowed on the page.
    Code {
        params: Vec<(String, String)>,
        consented: Option<Scopes>,
    },
    /// The person refused these scopes on the consent page just now.
    Refused(Scopes),
    Error(OAuthError),
    AskConsent(Scopes),
}

/// `consent_given` for the decision just made on the consent page (`Refused` when the person
/// said no), with the scopes it was about.
fn consent_event(
    client: &Client,
    account: AccountId,
    scopes: &Scopes,
    outcome: audit::Outcome,
) -> AuditEvent {
    AuditEvent::new(AuditKind::ConsentGiven, outcome)
        .account(account)
        .client(&client.id)
        .detail(scopes.to_string())
}

/// oxide-auth's authorization state machine binds the client and redirect URI, runs the PKCE
/// extension and negotiates the scope; then consent is checked and the code issued through
/// `Pending::authorize`, all in one pass on the blocking pool.
async fn run_oxide_authorization(
    state: &Arc<AppState>,
    params: &Params,
    client: &Client,
    sign_in: SignInContext,
    prompts: Prompts,
    decisions: Decisions,
) -> Result<Decided, OAuthError> {
    let (state, params, client) = (Arc::clone(state), params.clone(), client.clone());
    let runtime = tokio::runtime::Handle::current();
    actix_web::web::block(move || {
        let mut engine = Engine::new(&state.oauth, runtime, &params).with_sign_in(sign_in.clone());
        let pending = match authorization::authorization_code(&mut engine, &params) {
            Ok(pending) => pending,
            Err(e) => return Ok(Decided::Error(oxide_error(&engine, e)?)),
        };
        let scopes = Scopes::parse_lenient(&pending.pre_grant().scope.to_string());
        let consent = state.db.with_conn(|conn| {
            check_consent(
                conn,
                &client,
                sign_in.account_id,
                &scopes,
                &prompts,
                decisions,
                state.clock.now(),
            )
        })?;
        match consent {
            ConsentState::Given => {}
            ConsentState::Refused => return Ok(Decided::Refused(scopes)),
            ConsentState::Needed if prompts.none => {
                return Ok(Decided::Error(OAuthError::new(
                    ErrorCode::ConsentRequired,
                    "consent is needed (prompt=none)",
                )));
            }
            ConsentState::Needed => return Ok(Decided::AskConsent(scopes)),
        }
        let url = pending
            .authorize(&mut engine, sign_in.account_id.to_string().into())
            .map_err(|_| {
                engine.trace().failure.clone().map_or_else(
                    || OAuthError::server("code issuance failed"),
                    OAuthError::unavailable,
                )
            })?;
        // RFC 9207: `iss` tells the client which server answered (mix-up defence).
        let mut response: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k == "code" || k == "state")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        response.push(("iss".into(), issuer(&state)));
        Ok(Decided::Code {
            params: response,
            consented: decisions.consent.is_some().then_some(scopes),
        })
    })
    .await
    .map_err(OAuthError::server)?
}

/// The RFC error for a failed run of oxide-auth's authorization machine. oxide-auth reports a
/// refused PKCE parameter as a bare `invalid_request`; the trace says what was wrong.
fn oxide_error(engine: &Engine<'_>, error: OxideError) -> Result<OAuthError, OAuthError> {
    let trace = engine.trace();
    if let Some(failure) = &trace.failure {
        return Err(OAuthError::unavailable(failure));
    }
    Ok(match error {
        _ if trace.pkce_error.is_some() => OAuthError::new(
            ErrorCode::InvalidRequest,
            trace.pkce_error.map(|e| e.to_string()).unwrap_or_default(),
        ),
        OxideError::Redirect(url) => {
            let url: url::Url = url.into();
            match url
                .query_pairs()
                .find(|(k, _)| k == "error")
                .map(|(_, v)| v.into_owned())
                .as_deref()
            {
                Some("invalid_scope") => OAuthError::new(
                    ErrorCode::InvalidScope,
                    "none of the requested scopes is allowed for this client",
                ),
                _ => OAuthError::new(
                    ErrorCode::InvalidRequest,
                    "the authorization request is malformed",
                ),
            }
        }
        OxideError::Ignore => {
            OAuthError::new(ErrorCode::InvalidRequest, "unknown client or redirect_uri")
        }
        OxideError::PrimitiveError => {
            return Err(OAuthError::server("authorization primitive failed"));
        }
    })
}

/// The `acr` OneID asserts: one factor (a password, or a code to a verified phone or email).
/// Relying parties that need more must not accept it (OIDC Core §2, `acr`).
pub const ACR_SINGLE_FACTOR: &str = "urn:oneid:acr:1fa";

#[derive(Deserialize)]
struct HintSubject {
    iss: String,
    sub: String,
}

/// True unless the person signed in during this very interaction (then the hint is moot: they
/// just proved who they are).
fn signed_in_before(person: &SignedIn, interaction: &Interaction) -> bool {
    person.auth_time < interaction.started_at
}

/// The client must exist; otherwise there is nobody to redirect to.
async fn load_client(
    state: &AppState,
    params: &Params,
) -> Result<Result<Client, OAuthError>, OAuthError> {
    let Some(id) = params.get("client_id").and_then(ClientId::parse) else {
        return Ok(Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "client_id is missing",
        )));
    };
    let found = state
        .db
        .run(move |conn| crate::db::models::client::find(conn, &id))
        .await?;
    Ok(found.ok_or_else(|| OAuthError::new(ErrorCode::InvalidRequest, "unknown client_id")))
}

/// `redirect_uri` is required (OIDC Core §3.1.2.1) and must be registered, compared as an
/// exact string (RFC 9700 §4.1.3).
fn check_redirect_uri(client: &Client, params: &Params) -> Result<String, OAuthError> {
    let requested = params
        .get("redirect_uri")
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

fn check_response_mode(params: &Params) -> Result<ResponseMode, OAuthError> {
    match params.get("response_mode") {
        None | Some("query") => Ok(ResponseMode::Query),
        Some("form_post") => Ok(ResponseMode::FormPost),
        Some(_) => Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "response_mode must be query or form_post",
        )),
    }
}

/// Only the authorization code flow (RFC 9700 §2.1.2 retires the implicit flow).
fn check_response_type(params: &Params) -> Result<(), OAuthError> {
    match params.get("response_type") {
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

/// PKCE parameters are checked before anyone is asked to sign in, so a broken request fails
/// at once; oxide-auth's extension checks them again when the code is issued.
fn check_pkce(state: &AppState, client: &Client, params: &Params) -> Result<(), OAuthError> {
    let required = client.auth.is_public() || state.settings.oauth.require_pkce_for_all;
    crate::oauth::pkce::Challenge::from_request(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
        required,
    )
    .map(|_| ())
    .map_err(|e| OAuthError::new(ErrorCode::InvalidRequest, e.to_string()))
}

/// `max_age` (OIDC Core §3.1.2.1): a non-negative number of seconds. A number too large for a
/// duration (more than about 292 billion years) cannot make any sign-in too old: it means "no
/// limit", with checked arithmetic instead of chrono's panicking `Duration::seconds`.
fn parse_max_age(value: Option<&str>) -> Result<Option<Duration>, OAuthError> {
    let Some(value) = value else { return Ok(None) };
    let invalid = || {
        OAuthError::new(
            ErrorCode::InvalidRequest,
            "max_age must be a non-negative number of seconds",
        )
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
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
fn check_request_objects(params: &Params) -> Result<(), OAuthError> {
    if params.get("request").is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects (request) are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request objects by reference (request_uri) are not supported",
        ));
    }
    Ok(())
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

/// `prompt` values (OIDC Core §3.1.2.1).
#[derive(Debug, Default, Clone, Copy)]
struct Prompts {
    none: bool,
    login: bool,
    consent: bool,
    select_account: bool,
}

impl Prompts {
    fn parse(value: Option<&str>) -> Result<Self, OAuthError> {
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

/// The signed-in person, unless they must sign in (again): nobody is signed in, `prompt=login`
/// or `select_account` asks for it, or the sign-in is older than `max_age`. A sign-in that
/// happened during this interaction satisfies all three.
fn check_session(
    state: &AppState,
    signed_in: Option<&SignedIn>,
    interaction: &Interaction,
    prompts: &Prompts,
    max_age: Option<Duration>,
) -> Option<SignedIn> {
    let signed_in = signed_in?;
    let fresh = signed_in.auth_time >= interaction.started_at;
    if fresh {
        return Some(signed_in.clone());
    }
    let too_old = max_age.is_some_and(|age| state.clock.now() - signed_in.auth_time > age);
    if prompts.login || prompts.select_account || too_old {
        return None;
    }
    Some(signed_in.clone())
}

enum ConsentState {
    Given,
    Needed,
    Refused,
}

/// First-party clients carry an administrator's consent for everyone. Otherwise the person's
/// remembered consent must cover the scopes, unless `prompt=consent` asks again. A decision
/// just made on the consent page is remembered (added to what was allowed before).
fn check_consent(
    conn: &mut crate::db::DbConn,
    client: &Client,
    account: crate::domain::AccountId,
    scopes: &Scopes,
    prompts: &Prompts,
    decisions: Decisions,
    now: DateTime<Utc>,
) -> Result<ConsentState, crate::db::DbError> {
    match decisions.consent {
        Some(true) => {
            let earlier = grant::consent(conn, account, &client.id)?.unwrap_or_default();
            grant::save_consent(conn, account, &client.id, &earlier.union(scopes), now)?;
            return Ok(ConsentState::Given);
        }
        Some(false) => return Ok(ConsentState::Refused),
        None => {}
    }
    if client.first_party {
        return Ok(ConsentState::Given);
    }
    if prompts.consent {
        return Ok(ConsentState::Needed);
    }
    Ok(match grant::consent(conn, account, &client.id)? {
        Some(given) if scopes.is_subset(&given) => ConsentState::Given,
        _ => ConsentState::Needed,
    })
}

/// An error for the client, with `state` and `iss` (RFC 6749 §4.1.2.1, RFC 9207 §2).
fn error_response(
    state: &AppState,
    params: &Params,
    redirect_uri: &str,
    mode: ResponseMode,
    error: OAuthError,
) -> ClientResponse {
    let mut response = vec![
        ("error".to_owned(), error.code.as_str().to_owned()),
        (
            "error_description".to_owned(),
            error.description.into_owned(),
        ),
    ];
    // An oversized state is not echoed: the error may be about that very state.
    if let Some(s) = params
        .get("state")
        .filter(|s| s.len() <= max_parameter_bytes("state"))
    {
        response.push(("state".into(), s.to_owned()));
    }
    response.push(("iss".into(), issuer(state)));
    ClientResponse {
        redirect_uri: redirect_uri.to_owned(),
        params: response,
        mode,
        audit: None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn max_age_is_checked_arithmetic_at_the_edges_of_i64() {
        assert_eq!(parse_max_age(None).unwrap(), None);
        assert_eq!(
            parse_max_age(Some("60")).unwrap(),
            Some(Duration::seconds(60))
        );
        // Past what a duration holds (the panic of issue 10): no limit, not a crash.
        for huge in [
            "9223372036854776",
            "9223372036854775807",
            "99999999999999999999",
        ] {
            assert_eq!(
                parse_max_age(Some(huge)).unwrap(),
                Some(Duration::MAX),
                "{huge}"
            );
        }
        for bad in [
            "",
            "-1",
            "+1",
            " 1",
            "1.5",
            "1e3",
            "٣",
            "-9223372036854775808",
        ] {
            assert!(parse_max_age(Some(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn request_size_caps_hold_at_their_edges() {
        let state = |n| pairs(&[("state", &"s".repeat(n))]);
        assert!(check_size(&state(2048)).is_ok());
        assert!(check_size(&state(2049)).is_err());
        let many: Vec<(String, String)> = (0..=MAX_PARAMETERS)
            .map(|i| (format!("p{i}"), "v".into()))
            .collect();
        assert!(check_size(&many[..MAX_PARAMETERS]).is_ok());
        assert!(check_size(&many).is_err());
        let wide: Vec<(String, String)> = (0..9)
            .map(|i| (format!("p{i}"), "v".repeat(1000)))
            .collect();
        assert!(check_size(&wide).is_err(), "over the total");
        assert!(check_size(&pairs(&[("nonce", "a\u{7f}")])).is_err());
        assert!(check_size(&pairs(&[(&"k".repeat(65), "v")])).is_err());
    }

    proptest! {
        #[test]
        fn prompts_parse_or_refuse_without_panicking(value in any::<String>()) {
            if let Ok(p) = Prompts::parse(Some(&value)) {
                prop_assert!(!(p.none && (p.login || p.consent || p.select_account)));
            }
        }

        #[test]
        fn max_age_never_panics_and_accepts_exactly_the_digit_strings(value in prop_oneof![any::<String>(), "[0-9]{1,30}", "-?[0-9]{1,20}"]) {
            let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
            prop_assert_eq!(parse_max_age(Some(&value)).is_ok(), digits);
        }

        #[test]
        fn the_size_check_accepts_only_what_fits_every_cap(
            pairs in prop::collection::vec(("[a-z_]{0,70}", ".{0,3000}"), 0..40)
        ) {
            let fits = pairs.len() <= MAX_PARAMETERS
                && pairs.iter().all(|(k, v)| {
                    k.len() <= MAX_NAME_BYTES
                        && v.len() <= max_parameter_bytes(k)
                        && !k.chars().chain(v.chars()).any(char::is_control)
                })
                && pairs.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() <= MAX_REQUEST_BYTES;
            prop_assert_eq!(check_size(&pairs).is_ok(), fits);
        }

        #[test]
        fn response_mode_and_type_parse_or_refuse(mode in any::<String>(), kind in any::<String>()) {
            let params = Params::from_pairs(pairs(&[("response_mode", &mode), ("response_type", &kind)])).unwrap();
            let _ = check_response_mode(&params);
            prop_assert_eq!(check_response_type(&params).is_ok(), kind == "code");
        }
    }
}
