//! Sign-in with a mobile number, email or account ID and a password (or a passkey: the page's
//! passkey controls call `pages::passkeys`); and sign-out.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    account::login::{self, LoginOutcome},
    domain::{LoginIdentifier, Password},
    i18n::Lang,
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError,
        page::{render, see_other},
        pages::passkeys,
    },
};

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginView {
    page: Page,
    identifier: String,
    error: Option<String>,
    /// The account is locked: offer "Unlock with a code".
    locked: bool,
    /// An administrator asked for a new password: offer "Choose a new password".
    must_reset: bool,
    /// Passkeys are offered (the deployment has them): the page carries their controls, hidden
    /// until the passkey script shows them, and the script.
    passkeys: bool,
    passkey_start: &'static str,
    passkey_finish: &'static str,
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf: String,
    identifier: String,
    password: String,
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf: String,
}

fn login_view(
    state: &AppState,
    lang: Lang,
    session: &BrowserSession,
    identifier: &str,
    error: Option<String>,
) -> LoginView {
    LoginView {
        page: Page::new(lang, session.0.csrf_token(), "/login"),
        identifier: identifier.chars().take(254).collect(),
        error,
        locked: false,
        must_reset: false,
        passkeys: passkeys::available(state),
        passkey_start: "/login/passkey/start",
        passkey_finish: "/login/passkey/finish",
    }
}

/// The sign-in page, with the passkey script allowed in its CSP when it carries it.
fn render_login(req: &HttpRequest, status: StatusCode, view: LoginView) -> HttpResponse {
    let with_script = view.passkeys;
    let mut response = render(req, status, view);
    if with_script {
        passkeys::allow_script(&mut response);
    }
    response
}

#[derive(Deserialize)]
pub struct LoginQuery {
    login_hint: Option<String>,
}

pub async fn get_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, WebError> {
    // Signed-in people are sent on, unless an app asked for a fresh sign-in (prompt=login).
    if session.0.signed_in().is_some() && session.0.interaction().is_none() {
        return Ok(see_other("/account"));
    }
    let hint = query.login_hint.as_deref().unwrap_or_default();
    let view = login_view(&state, lang, &session, hint, None);
    let response = render_login(&req, StatusCode::OK, view);
    session.respond(&state, response).await
}

pub async fn post_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    mut session: BrowserSession,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let parsed = LoginIdentifier::parse(&form.identifier, state.settings.default_region).and_then(
        |identifier| Password::parse(form.password).map(|password| (identifier, password)),
    );
    let error_key = match parsed {
        Err(e) => e.message_key(),
        Ok((identifier, password)) => {
            match login::authenticate(&state.account, identifier, password, session.client())
                .await?
            {
                LoginOutcome::SignedIn(account) => {
                    tracing::info!(account_id = %account.id, "signed in");
                    session.sign_in(&state, account.id, &["pwd"]).await?;
                    let next = after_sign_in(&session);
                    return session.respond(&state, see_other(next)).await;
                }
                LoginOutcome::InvalidCredentials => "login-invalid",
                LoginOutcome::Locked => "login-locked",
                LoginOutcome::Disabled => "login-disabled",
                LoginOutcome::MustResetPassword => "login-must-reset",
            }
        }
    };
    let error = Some(lang.t(error_key));
    let mut view = login_view(&state, lang, &session, &form.identifier, error);
    view.locked = error_key == "login-locked";
    view.must_reset = error_key == "login-must-reset";
    let response = render_login(&req, StatusCode::UNPROCESSABLE_ENTITY, view);
    session.respond(&state, response).await
}

pub async fn post_logout(
    state: web::Data<AppState>,
    session: BrowserSession,
    form: web::Form<LogoutForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    if let Some(signed_in) = session.0.signed_in() {
        tracing::info!(account_id = %signed_in.account_id, "signed out");
    }
    session.end(&state, see_other("/login")).await
}

/// Where to go after signing in: to the second-factor step when one was asked for (see
/// [`BrowserSession::sign_in`]), back to the app's waiting request, or to the account page.
pub fn after_sign_in(session: &BrowserSession) -> &'static str {
    if session.0.second_factor().is_some() {
        super::second_factor::PATH
    } else if session.0.interaction().is_some() {
        "/authorize/resume"
    } else {
        "/account"
    }
}
