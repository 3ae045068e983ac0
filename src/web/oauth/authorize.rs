//! GET and POST /authorize, its resumption after sign-in, and the consent page.

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};
use askama::Template;
use askama_web::WebTemplate;
use base64::{Engine as _, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};

use super::{OAuthErrorView, record_audit, request_pairs};
use crate::web::{
    BrowserSession, Page, RequestLang, WebError,
    page::{render, see_other},
    pages::{
        CsrfForm,
        second_factor::{SecondFactorAsk, Then, ask_second_factor},
    },
};
use crate::{
    account::limits,
    domain::{Acr, ScopeToken},
    i18n::Lang,
    oauth::{
        authorize::{self, ClientResponse, Decisions, Outcome, ResponseMode, StepUp},
        interaction::{self, Interaction},
    },
    state::AppState,
};

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
    let pairs = request_pairs(&req, form);
    let interaction = Interaction::new(pairs, state.clock.now());
    start(&req, &state, lang, session, &interaction).await
}

/// `ui_locales` picks the page language when it names one we speak (OIDC Core §3.1.2.1).
fn ui_locale(interaction: &Interaction) -> Option<Lang> {
    interaction.ui_locales().find_map(Lang::from_code)
}

/// GET /authorize/resume: back from signing in.
pub async fn resume(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
) -> Result<HttpResponse, WebError> {
    let parked = match session.0.interaction() {
        Some(id) => interaction::load(&state.oauth, id).await?,
        None => None,
    };
    let Some(interaction) = parked else {
        return Ok(see_other("/"));
    };
    start(&req, &state, lang, session, &interaction).await
}

/// Runs a request with no decision made yet, in the language `ui_locales` asks for if any.
async fn start(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    session: BrowserSession,
    interaction: &Interaction,
) -> Result<HttpResponse, WebError> {
    let lang = ui_locale(interaction).unwrap_or(lang);
    run(req, state, lang, session, interaction, Decisions::default()).await
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
    // The decision answers the parked request once: of two submissions of the form, only the
    // first finds it.
    let parked = match session.0.interaction() {
        Some(id) => interaction::take(&state.oauth, id).await?,
        None => None,
    };
    let Some(interaction) = parked else {
        return Ok(see_other("/"));
    };
    let lang = ui_locale(&interaction).unwrap_or(lang);
    let decisions = Decisions {
        consent: Some(consent),
        ..Decisions::default()
    };
    run(&req, &state, lang, session, &interaction, decisions).await
}

/// The page for an authorization request to an app an administrator turned off.
#[derive(askama::Template, askama_web::WebTemplate)]
#[template(path = "app_disabled.html")]
struct AppDisabledView {
    page: Page,
    text: String,
}

/// The page for an app whose minimum sign-in the person cannot reach yet.
#[derive(askama::Template, askama_web::WebTemplate)]
#[template(path = "step_up_needed.html")]
struct StepUpNeededView {
    page: Page,
    title: String,
    text: String,
    then: String,
    back: String,
}

/// POST /authorize/give-up: from the page that says the app needs a stronger sign-in, back to
/// the app without it; the app hears `unmet_authentication_requirements`.
pub async fn post_give_up(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let parked = match session.0.interaction() {
        Some(id) => interaction::take(&state.oauth, id).await?,
        None => None,
    };
    let Some(interaction) = parked else {
        return Ok(see_other("/"));
    };
    let lang = ui_locale(&interaction).unwrap_or(lang);
    let decisions = Decisions {
        step_up: StepUp::GaveUp,
        ..Decisions::default()
    };
    run(&req, &state, lang, session, &interaction, decisions).await
}

/// Runs the flow and turns its outcome into the browser's next page.
async fn run(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    mut session: BrowserSession,
    interaction: &Interaction,
    decisions: Decisions,
) -> Result<HttpResponse, WebError> {
    let outcome =
        authorize::authorize(&state.oauth, interaction, session.0.signed_in(), decisions).await?;
    match outcome {
        Outcome::ErrorPage(error) => {
            let view = OAuthErrorView {
                page: Page::without_form(lang, "/authorize"),
                description: error.description.into_owned(),
            };
            Ok(render(req, StatusCode::BAD_REQUEST, view))
        }
        Outcome::ClientDisabled { name } => {
            let view = AppDisabledView {
                page: Page::without_form(lang, "/authorize"),
                text: lang.t_args("app-disabled-text", &[("app", name)]),
            };
            Ok(render(req, StatusCode::FORBIDDEN, view))
        }
        Outcome::Respond(mut response) => {
            record_audit(req, state, response.audit.take()).await;
            // The request is answered; whatever this browser had parked goes (it had at most
            // one, and the session stops naming it).
            if let Some(id) = session.0.interaction() {
                interaction::discard(&state.oauth, id).await?;
            }
            session.0.set_interaction(None);
            let reply = client_reply(req, lang, response);
            session.respond(state, reply).await
        }
        Outcome::Login { login_hint } => {
            park(state, &mut session, interaction).await?;
            // The default way in is "Continue with your number", which signs in and signs up
            // alike. An app that passes a hint knows whom to expect, a returning person: the
            // password sign-in, filled in, as before (and one link away from a code).
            let location = match login_hint {
                Some(hint) => format!(
                    "/login?login_hint={}",
                    url::form_urlencoded::byte_serialize(hint.as_bytes()).collect::<String>()
                ),
                None => "/continue".to_owned(),
            };
            session.respond(state, see_other(&location)).await
        }
        Outcome::StepUp { need } => {
            park(state, &mut session, interaction).await?;
            match ask_second_factor(state, &mut session, need, Then::AuthorizeResume).await? {
                SecondFactorAsk::Redirect(location) => {
                    session.respond(state, see_other(location)).await
                }
                // Nothing to step up with: the flow decides what that means (a request goes
                // on as it is, a minimum shows how to add a method).
                SecondFactorAsk::NoMethod => {
                    let decisions = Decisions {
                        step_up: StepUp::Unavailable,
                        ..decisions
                    };
                    Box::pin(run(req, state, lang, session, interaction, decisions)).await
                }
            }
        }
        Outcome::NeedsStrongerMethod { client_name, need } => {
            park(state, &mut session, interaction).await?;
            let app = || [("app", client_name.clone())];
            let text = match need {
                Acr::PhishingResistant => "step-up-needed-phr",
                Acr::OneFactor | Acr::TwoFactor => "step-up-needed-2fa",
            };
            let view = StepUpNeededView {
                page: Page::new(lang, session.0.csrf_token(), "/authorize"),
                title: lang.t_args("step-up-needed-heading", &app()),
                text: lang.t_args(text, &app()),
                then: lang.t_args("step-up-needed-then", &app()),
                back: lang.t_args("step-up-needed-back", &app()),
            };
            let response = render(req, StatusCode::FORBIDDEN, view);
            session.respond(state, response).await
        }
        Outcome::Consent { client, scopes } => {
            if req.path() != "/consent" {
                park(state, &mut session, interaction).await?;
                return session.respond(state, see_other("/consent")).await;
            }
            // The page's CSP allows exactly the registered logo (only https ones can be).
            let logo = client
                .logo_url
                .as_ref()
                .and_then(|u| Some((u.to_string(), crate::web::page_csp_with_logo(u)?)));
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
            session.respond(state, response).await
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
    parked: &Interaction,
) -> Result<(), WebError> {
    let id = match session.0.interaction() {
        Some(id) => id.to_owned(),
        None => {
            let now = state.clock.now();
            let ip = session.client().ip;
            limits::interaction_started(&*state.store, &state.settings.limits, now, ip)
                .await?
                .map_err(WebError::Limited)?;
            interaction::new_id()
        }
    };
    interaction::park(&state.oauth, &id, parked).await?;
    session.0.set_interaction(Some(id));
    Ok(())
}

/// The plain-language phrase of a scope, as the consent page and the connected apps show it.
pub(crate) fn scope_message_key(scope: ScopeToken) -> &'static str {
    match scope {
        ScopeToken::OpenId => "scope-openid",
        ScopeToken::Profile => "scope-profile",
        ScopeToken::Email => "scope-email",
        ScopeToken::Phone => "scope-phone",
        ScopeToken::OfflineAccess => "scope-offline-access",
        ScopeToken::Admin => "scope-admin",
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
