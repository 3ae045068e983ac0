//! HTTP for the protocol: authorization (with its sign-in and consent detours), token,
//! UserInfo, discovery and JWKS. Parsing and rendering only; the flows live in `oauth`.

use std::{sync::Arc, time::Duration as StdDuration};

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};
use askama::Template;
use askama_web::WebTemplate;
use base64::{Engine as _, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};

use super::{
    BrowserSession, Page, RequestLang, WebError,
    client::client_info,
    page::{render, see_other},
};
use crate::{
    account::limits,
    audit::{self, AuditEvent},
    domain::ScopeToken,
    i18n::Lang,
    oauth::{
        authorize::{self, ClientResponse, Decisions, Interaction, Outcome, ResponseMode},
        client_auth,
        error::{ErrorCode, OAuthError},
        logout::{self, After, EndSession},
        params::Params,
        resource::{self, BearerError},
        revocation, token,
    },
    oidc::{
        discovery,
        tokens::{random_token, userinfo_claims},
    },
    state::AppState,
};

/// How long an authorization request waits for the person to sign in or decide.
const INTERACTION_TTL: StdDuration = StdDuration::from_secs(30 * 60);

fn interaction_key(id: &str) -> String {
    format!("interaction:{id}")
}

#[derive(Template, WebTemplate)]
#[template(path = "oauth_error.html")]
struct OAuthErrorView {
    page: Page,
    description: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "consent.html")]
struct ConsentView {
    page: Page,
    client_name: String,
    logo_url: Option<String>,
    scopes: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "form_post.html")]
struct FormPostView {
    page: Page,
    action: String,
    fields: Vec<(String, String)>,
}

/// The auto-submit script of the form_post page; the page's CSP allows exactly this script.
const FORM_POST_SCRIPT: &str = "document.forms[0].submit();";

/// GET and POST /authorize (OIDC Core §3.1.2.1 requires both).
pub async fn authorize(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: Option<web::Form<Vec<(String, String)>>>,
) -> Result<HttpResponse, WebError> {
    let pairs = match form {
        Some(form) => form.into_inner(),
        None => web::Query::<Vec<(String, String)>>::from_query(req.query_string())
            .map(|q| q.into_inner())
            .unwrap_or_default(),
    };
    let interaction = Interaction {
        params: pairs,
        started_at: state.clock.now(),
    };
    let lang = ui_locale(&interaction).unwrap_or(lang);
    run(
        &req,
        state,
        lang,
        session,
        None,
        interaction,
        Decisions::default(),
    )
    .await
}

/// `ui_locales` picks the page language when it names one we speak (OIDC Core §3.1.2.1).
fn ui_locale(interaction: &Interaction) -> Option<Lang> {
    let locales = interaction.params.iter().find(|(k, _)| k == "ui_locales")?;
    locales.1.split_ascii_whitespace().find_map(Lang::from_code)
}

/// GET /authorize/resume: back from signing in.
pub async fn resume(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
) -> Result<HttpResponse, WebError> {
    let Some((id, interaction)) = load_interaction(&state, &session).await? else {
        return Ok(see_other("/"));
    };
    let lang = ui_locale(&interaction).unwrap_or(lang);
    run(
        &req,
        state,
        lang,
        session,
        Some(id),
        interaction,
        Decisions::default(),
    )
    .await
}

#[derive(serde::Deserialize)]
pub struct ConsentForm {
    csrf: String,
    decision: String,
}

/// GET /consent: the consent page for the waiting request.
pub async fn get_consent(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
) -> Result<HttpResponse, WebError> {
    resume(req, state, RequestLang(lang), session).await
}

/// POST /consent: `decision=allow` or `decision=deny`.
pub async fn post_consent(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<ConsentForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let consent = match form.decision.as_str() {
        "allow" => true,
        "deny" => false,
        _ => return Ok(HttpResponse::BadRequest().finish()),
    };
    let Some((id, interaction)) = load_interaction(&state, &session).await? else {
        return Ok(see_other("/"));
    };
    let lang = ui_locale(&interaction).unwrap_or(lang);
    run(
        &req,
        state,
        lang,
        session,
        Some(id),
        interaction,
        Decisions {
            consent: Some(consent),
        },
    )
    .await
}

async fn load_interaction(
    state: &AppState,
    session: &BrowserSession,
) -> Result<Option<(String, Interaction)>, WebError> {
    let Some(id) = session.0.interaction() else {
        return Ok(None);
    };
    let interaction = state
        .store
        .get_json::<Interaction>(&interaction_key(id))
        .await?;
    Ok(interaction.map(|i| (id.to_owned(), i)))
}

async fn run(
    req: &HttpRequest,
    state: web::Data<AppState>,
    lang: Lang,
    mut session: BrowserSession,
    interaction_id: Option<String>,
    interaction: Interaction,
    decisions: Decisions,
) -> Result<HttpResponse, WebError> {
    let shared: Arc<AppState> = state.clone().into_inner();
    let outcome =
        match authorize::authorize(&shared, &interaction, session.0.signed_in(), decisions).await {
            Ok(outcome) => outcome,
            Err(e) if matches!(e.code, ErrorCode::TemporarilyUnavailable) => {
                return Err(WebError::Unavailable(e.detail.unwrap_or_default()));
            }
            Err(e) => {
                return Err(WebError::Internal(
                    e.detail.unwrap_or_else(|| e.description.into_owned()),
                ));
            }
        };
    match outcome {
        Outcome::ErrorPage(error) => {
            let view = OAuthErrorView {
                page: Page::without_form(lang, "/authorize"),
                description: error.description.into_owned(),
            };
            Ok(render(req, StatusCode::BAD_REQUEST, view))
        }
        Outcome::Respond(mut response) => {
            record_audit(req, &state, response.audit.take()).await;
            // The request is answered; whatever this browser had parked goes (it had at most
            // one, and the session stops naming it).
            if let Some(id) = interaction_id.as_deref().or(session.0.interaction()) {
                state.store.delete(&interaction_key(id)).await?;
            }
            session.0.set_interaction(None);
            let reply = client_reply(req, lang, response);
            session.respond(&state, reply).await
        }
        Outcome::Login { login_hint } => {
            park(&state, &mut session, interaction_id, &interaction).await?;
            let location = match login_hint {
                Some(hint) => format!(
                    "/login?login_hint={}",
                    url::form_urlencoded::byte_serialize(hint.as_bytes()).collect::<String>()
                ),
                None => "/login".to_owned(),
            };
            session.respond(&state, see_other(&location)).await
        }
        Outcome::Consent { client, scopes } => {
            if req.path() != "/consent" {
                park(&state, &mut session, interaction_id, &interaction).await?;
                return session.respond(&state, see_other("/consent")).await;
            }
            // The page's CSP allows exactly the registered logo (only https ones can be).
            let logo = client
                .logo_url
                .as_ref()
                .and_then(|u| Some((u.to_string(), super::page_csp_with_logo(u)?)));
            let view = ConsentView {
                page: Page::new(lang, session.0.csrf_token(), "/consent"),
                client_name: client.name.clone(),
                logo_url: logo.as_ref().map(|(url, _)| url.clone()),
                scopes: scopes
                    .iter()
                    .map(|s| lang.t(scope_message_key(s)))
                    .collect(),
            };
            let mut response = render(req, StatusCode::OK, view);
            if let Some(csp) = logo.and_then(|(_, csp)| header::HeaderValue::from_str(&csp).ok()) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_SECURITY_POLICY, csp);
            }
            session.respond(&state, response).await
        }
    }
}

/// Puts the request aside, bound to this browser's session, until sign-in or consent.
///
/// A browser has at most one request waiting: a new one overwrites the one before under the
/// same id, so repeating `/authorize` on one cookie never adds to the store. A request that
/// needs a new entry (a browser with none waiting) counts against its address's
/// `ip_interactions` first, so a stranger without cookies cannot fill the store either.
async fn park(
    state: &AppState,
    session: &mut BrowserSession,
    id: Option<String>,
    interaction: &Interaction,
) -> Result<(), WebError> {
    let id = match id.or_else(|| session.0.interaction().map(str::to_owned)) {
        Some(id) => id,
        None => {
            let now = state.clock.now();
            let ip = session.client().ip;
            limits::interaction_started(&*state.store, &state.settings.limits, now, ip)
                .await?
                .map_err(WebError::Limited)?;
            random_token()
        }
    };
    state
        .store
        .put_json(&interaction_key(&id), interaction, INTERACTION_TTL)
        .await?;
    session.0.set_interaction(Some(id));
    Ok(())
}

fn scope_message_key(scope: ScopeToken) -> &'static str {
    match scope {
        ScopeToken::OpenId => "scope-openid",
        ScopeToken::Profile => "scope-profile",
        ScopeToken::Email => "scope-email",
        ScopeToken::Phone => "scope-phone",
        ScopeToken::OfflineAccess => "scope-offline-access",
    }
}

/// The answer to the client: a 303 redirect, or the form_post page.
fn client_reply(req: &HttpRequest, lang: Lang, response: ClientResponse) -> HttpResponse {
    match response.mode {
        ResponseMode::Query => see_other(&response.location()),
        ResponseMode::FormPost => {
            let origin = url::Url::parse(&response.redirect_uri)
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_default();
            let hash = STANDARD.encode(Sha256::digest(FORM_POST_SCRIPT.as_bytes()));
            let view = FormPostView {
                page: Page::without_form(lang, "/authorize"),
                action: response.redirect_uri,
                fields: response.params,
            };
            let mut reply = render(req, StatusCode::OK, view);
            // This page alone runs a script: the one line that submits the form to the client.
            let csp = format!(
                "default-src 'none'; script-src 'sha256-{hash}'; style-src 'self'; form-action {origin}; frame-ancestors 'none'; base-uri 'none'"
            );
            reply.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                header::HeaderValue::from_str(&csp).expect("ASCII CSP"),
            );
            reply
        }
    }
}

/// POST /token.
pub async fn post_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let params = match form_params(&req, form) {
        Ok(params) => params,
        Err(e) => return json_error(&e),
    };
    let state = state.into_inner();
    match token::token(&state, params).await {
        Ok((response, issued)) => {
            record_audit(&req, &state, Some(issued)).await;
            HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header((header::PRAGMA, "no-cache"))
                .json(response)
        }
        Err(e) => json_error(&e),
    }
}

/// Records what the protocol core reported, with the address and user agent of the request.
async fn record_audit(req: &HttpRequest, state: &AppState, event: Option<AuditEvent>) {
    if let Some(event) = event {
        state.audit.record(event.from(&client_info(req))).await;
    }
}

/// RFC 6749 §5.2: a JSON error; 401 with `WWW-Authenticate` when client authentication failed.
pub fn json_error(error: &OAuthError) -> HttpResponse {
    if let Some(detail) = &error.detail {
        tracing::warn!(error = error.code.as_str(), %detail, "protocol request failed");
    }
    let status = StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    if error.code == ErrorCode::InvalidClient {
        response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"oneid\""));
    }
    if error.code == ErrorCode::TemporarilyUnavailable {
        response.insert_header((header::RETRY_AFTER, "5"));
    }
    response.json(
        serde_json::json!({ "error": error.code.as_str(), "error_description": error.description }),
    )
}

/// GET and POST /userinfo (OIDC Core §5.3): the token from the `Authorization: Bearer` header,
/// or `access_token` in a form body (RFC 6750 §2.2).
pub async fn userinfo(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Option<web::Form<Vec<(String, String)>>>,
) -> HttpResponse {
    let from_header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .map(str::to_owned);
    let from_body = form.and_then(|f| {
        f.into_inner()
            .into_iter()
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v)
    });
    let token = match (from_header, from_body) {
        (Some(t), None) | (None, Some(t)) => t,
        // RFC 6750 §3.1: no token at all gets a bare challenge; two tokens is a bad request.
        (None, None) => return bearer_challenge(StatusCode::UNAUTHORIZED, None),
        (Some(_), Some(_)) => {
            return bearer_challenge(
                StatusCode::BAD_REQUEST,
                Some(("invalid_request", "send the access token once")),
            );
        }
    };
    match resource::validate(&state, &token).await {
        Ok((claims, grant, Some(account))) if grant.scope.contains(ScopeToken::OpenId) => {
            let _ = claims;
            HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(userinfo_claims(&account, &grant.scope))
        }
        Ok(_) => bearer_challenge(
            StatusCode::FORBIDDEN,
            Some((
                "insufficient_scope",
                "the token does not carry the openid scope",
            )),
        ),
        Err(BearerError::Invalid) => bearer_challenge(
            StatusCode::UNAUTHORIZED,
            Some((
                "invalid_token",
                "the access token is invalid, expired or revoked",
            )),
        ),
        Err(BearerError::Unavailable(detail)) => {
            tracing::warn!(%detail, "userinfo unavailable");
            HttpResponse::ServiceUnavailable()
                .insert_header((header::RETRY_AFTER, "5"))
                .finish()
        }
    }
}

/// The token of an `Authorization: Bearer` header. The scheme name is case-insensitive
/// (RFC 7235 §2.1, which RFC 6750 §2.1 builds on): `bearer` and `BEARER` are `Bearer`.
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn bearer_challenge(status: StatusCode, error: Option<(&str, &str)>) -> HttpResponse {
    let challenge = match error {
        Some((code, description)) => {
            format!("Bearer realm=\"oneid\", error=\"{code}\", error_description=\"{description}\"")
        }
        None => "Bearer realm=\"oneid\"".to_owned(),
    };
    HttpResponse::build(status)
        .insert_header((header::WWW_AUTHENTICATE, challenge))
        .content_type("application/json")
        .body("{}")
}

/// GET /.well-known/openid-configuration
pub async fn get_discovery(state: web::Data<AppState>) -> HttpResponse {
    let issuer = crate::oauth::engine::issuer(&state);
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(discovery::provider_metadata(&issuer))
}

/// GET /jwks.json: current and recently retired public keys.
pub async fn get_jwks(state: web::Data<AppState>) -> HttpResponse {
    // The lifetime that a new key's activation delay waits out (oidc::keys::ACTIVATION_DELAY).
    let max_age = crate::oidc::keys::JWKS_MAX_AGE_SECS;
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={max_age}")))
        .content_type("application/jwk-set+json")
        .body(serde_json::to_string(&state.keys.current().jwks()).unwrap_or_default())
}

/// The body of the token, revocation and introspection endpoints must be a form (RFC 6749
/// §3.2, RFC 7009 §2.1, RFC 7662 §2.1). Anything else (JSON, no content type, too large) is
/// the protocol's JSON `invalid_request` (RFC 6749 §5.2), not the HTML error page.
pub fn protocol_form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(super::FORM_LIMIT_BYTES)
        .error_handler(|err, _req| {
            let response = json_error(&OAuthError::new(
                ErrorCode::InvalidRequest,
                "the body must be an application/x-www-form-urlencoded form of at most 16 KiB",
            ));
            actix_web::error::InternalError::from_response(err, response).into()
        })
}

/// Reads a form body and the Basic header into protocol parameters, or answers with the error.
fn form_params(
    req: &HttpRequest,
    form: web::Form<Vec<(String, String)>>,
) -> Result<Params, OAuthError> {
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    Params::from_pairs(form.into_inner()).and_then(|p| p.with_basic_header(basic))
}

/// What revocation and introspection both start with: an authenticated client and a token.
async fn client_and_token(
    req: &HttpRequest,
    state: &AppState,
    form: web::Form<Vec<(String, String)>>,
) -> Result<(crate::db::models::client::Client, Params), OAuthError> {
    let params = form_params(req, form)?;
    let client = client_auth::authenticate(state, &params).await?;
    if params.get("token").is_none() {
        return Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "token is missing",
        ));
    }
    Ok((client, params))
}

/// POST /revoke (RFC 7009).
pub async fn post_revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let outcome = async {
        let (client, params) = client_and_token(&req, &state, form).await?;
        let token = params.get("token").unwrap_or_default();
        revocation::revoke(&state, &client, token, params.get("token_type_hint")).await
    };
    match outcome.await {
        Ok(revoked) => {
            record_audit(&req, &state, revoked).await;
            HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish()
        }
        Err(e) => json_error(&e),
    }
}

/// POST /introspect (RFC 7662).
pub async fn post_introspect(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let outcome = async {
        let (client, params) = client_and_token(&req, &state, form).await?;
        let token = params.get("token").unwrap_or_default();
        revocation::introspect(&state, &client, token, params.get("token_type_hint")).await
    };
    match outcome.await {
        Ok(answer) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(answer),
        Err(e) => json_error(&e),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "logout_confirm.html")]
struct LogoutConfirmView {
    page: Page,
    /// Where to go afterwards (already checked), carried through the confirmation form and
    /// signed with `issued` and this browser's session (see `logout::sign_confirmation`).
    then: String,
    issued: i64,
    signature: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "signed_out.html")]
struct SignedOutView {
    page: Page,
}

/// GET and POST /end-session (RP-Initiated Logout 1.0 §2).
pub async fn end_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: Option<web::Form<Vec<(String, String)>>>,
) -> Result<HttpResponse, WebError> {
    let pairs = match form {
        Some(form) => form.into_inner(),
        None => web::Query::<Vec<(String, String)>>::from_query(req.query_string())
            .map(|q| q.into_inner())
            .unwrap_or_default(),
    };
    let params = match Params::from_pairs(pairs) {
        Ok(p) => p,
        Err(e) => {
            return Ok(render(
                &req,
                StatusCode::BAD_REQUEST,
                OAuthErrorView {
                    page: Page::without_form(lang, "/end-session"),
                    description: e.description.into_owned(),
                },
            ));
        }
    };
    let lang = params
        .get("ui_locales")
        .and_then(|l| l.split_ascii_whitespace().find_map(Lang::from_code))
        .unwrap_or(lang);
    let session_sub = match session.0.signed_in() {
        Some(signed_in) => {
            let id = signed_in.account_id;
            state
                .db
                .run(move |conn| crate::db::models::account::find_by_id(conn, id))
                .await
                .map_err(|e| WebError::Unavailable(e.to_string()))?
                .map(|a| a.sub.to_string())
        }
        None => None,
    };
    let decision = logout::end_session(&state, &params, session_sub.as_deref())
        .await
        .map_err(|e| WebError::Unavailable(e.detail.unwrap_or_default()))?;
    match decision {
        EndSession::Refuse(e) => Ok(render(
            &req,
            StatusCode::BAD_REQUEST,
            OAuthErrorView {
                page: Page::without_form(lang, "/end-session"),
                description: e.description.into_owned(),
            },
        )),
        EndSession::SignOut { then } => sign_out_then(&req, &state, lang, session, then).await,
        EndSession::Confirm { then } => {
            let then = match then {
                After::Redirect(uri) => uri,
                After::Page => String::new(),
            };
            // The checked destination travels in the form, signed and bound to this browser's
            // session: nothing is stored for a confirmation page, and the form cannot be edited
            // into an open redirect or replayed in another browser.
            let issued = state.clock.now().timestamp();
            let key = state.kek.derive(logout::CONFIRMATION_KEY_PURPOSE);
            let signature = logout::sign_confirmation(&key, session.0.csrf_token(), issued, &then);
            let view = LogoutConfirmView {
                page: Page::new(lang, session.0.csrf_token(), "/end-session"),
                then,
                issued,
                signature,
            };
            let response = render(&req, StatusCode::OK, view);
            session.respond(&state, response).await
        }
    }
}

#[derive(serde::Deserialize)]
pub struct ConfirmForm {
    csrf: String,
    #[serde(default)]
    then: String,
    #[serde(default)]
    issued: String,
    #[serde(default)]
    signature: String,
}

/// POST /end-session/confirm: the person confirmed signing out.
pub async fn post_end_session_confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let key = state.kek.derive(logout::CONFIRMATION_KEY_PURPOSE);
    // A form whose destination does not verify is treated like a stale form.
    let then = logout::verify_confirmation(
        &key,
        session.0.csrf_token(),
        &form.issued,
        &form.then,
        &form.signature,
        state.clock.now(),
    )
    .ok_or(WebError::Csrf)?;
    sign_out_then(&req, &state, lang, session, then).await
}

async fn sign_out_then(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    session: BrowserSession,
    then: After,
) -> Result<HttpResponse, WebError> {
    if let Some(signed_in) = session.0.signed_in() {
        tracing::info!(account_id = %signed_in.account_id, "signed out by an app (RP-initiated logout)");
    }
    let response = match then {
        After::Redirect(uri) => see_other(&uri),
        After::Page => render(
            req,
            StatusCode::OK,
            SignedOutView {
                page: Page::without_form(lang, "/end-session"),
            },
        ),
    };
    session.end(state, response).await
}
