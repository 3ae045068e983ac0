//! Password (`/account/password`): the current password and the new one twice. On success
//! every other device is signed out, and this browser is signed in again (keeping its OIDC
//! session) so it stays usable after the password epoch moved. The rules live in
//! `account::password`. An account without a password (made by "Continue with your number")
//! is offered to set one: no current password, the re-authentication having proven who is there.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{DoneQuery, recent_account, signed_in};
use crate::{
    account::password::{self, PasswordChange},
    domain::{NewPassword, Password},
    i18n::Lang,
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError,
        page::{render, see_other},
    },
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(PATH).get(get_password).post(post_password));
}

const PATH: &str = "/account/password";

#[derive(Template, WebTemplate)]
#[template(path = "account/password.html")]
struct PasswordView {
    page: Page,
    /// The account has a password: the form asks for it first. Without one, the page sets the
    /// first password.
    has_password: bool,
    done: bool,
    error: Option<String>,
    current_error: Option<String>,
    new_error: Option<String>,
}

fn view(lang: Lang, session: &BrowserSession, has_password: bool) -> PasswordView {
    PasswordView {
        page: Page::new(lang, session.0.csrf_token(), PATH),
        has_password,
        done: false,
        error: None,
        current_error: None,
        new_error: None,
    }
}

pub async fn get_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, WebError> {
    let (account, session) = match recent_account(&state, session, PATH).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let mut view = view(lang, &session, account.password_hash.is_some());
    view.done = query.done.is_some();
    let response = render(&req, StatusCode::OK, view);
    session.respond(&state, response).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: String,
    /// Absent when the account has no password yet.
    #[serde(default)]
    current: String,
    password: String,
    password_confirm: String,
}

pub async fn post_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let (account, mut session) = match recent_account(&state, session, PATH).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let form = form.into_inner();
    let has_password = account.password_hash.is_some();
    let mut page = view(lang, &session, has_password);
    // No current password to type for an account that has none.
    let current = if has_password {
        Password::parse(form.current)
            .map(Some)
            .map_err(|e| page.current_error = Some(lang.t(e.message_key())))
    } else {
        Ok(None)
    };
    let new = NewPassword::parse(form.password, &form.password_confirm)
        .map_err(|e| page.new_error = Some(lang.t(e.message_key())));
    let (Ok(current), Ok(new)) = (current, new) else {
        let response = render(&req, StatusCode::UNPROCESSABLE_ENTITY, page);
        return session.respond(&state, response).await;
    };
    let sid = signed_in(&session).map(|s| s.sid);
    let (ctx, id, from) = (&state.account, account.id, session.client());
    let changed = match current {
        Some(current) => password::change(ctx, id, current, new, sid.as_deref(), from).await?,
        None => password::set_first(ctx, id, new, sid.as_deref(), from).await?,
    };
    let key = match changed {
        PasswordChange::Changed { .. } => {
            // The new password's epoch would outdate this sign-in's codes and tokens: sign
            // this browser in again, under the same OIDC session.
            // The methods are what was proven: the current password, or, for a first
            // password (only chosen, not checked), the ones this sign-in already had.
            let kept: Vec<String> = signed_in(&session).map(|s| s.amr).unwrap_or_default();
            let methods: Vec<&str> = if has_password {
                vec!["pwd"]
            } else {
                kept.iter().map(String::as_str).collect()
            };
            session.sign_in_again(&state, account.id, &methods).await?;
            return session
                .respond(&state, see_other(&format!("{PATH}?done=1")))
                .await;
        }
        PasswordChange::Gone => return session.end(&state, see_other("/login")).await,
        PasswordChange::WrongPassword => "change-password-wrong",
        PasswordChange::Locked => "login-locked",
        PasswordChange::MustResetPassword => "login-must-reset",
        // Set meanwhile in another tab: this page now asks for it.
        PasswordChange::AlreadySet => {
            page.has_password = true;
            "change-password-already-set"
        }
    };
    page.current_error = Some(lang.t(key));
    let response = render(&req, StatusCode::UNPROCESSABLE_ENTITY, page);
    session.respond(&state, response).await
}
