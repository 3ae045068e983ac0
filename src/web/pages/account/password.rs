//! Password (`/account/password`): the current password and the new one twice. On success
//! every other device is signed out, and this browser is signed in again (keeping its OIDC
//! session) so it stays usable after the password epoch moved. The rules live in
//! `account::password`.

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
    done: bool,
    error: Option<String>,
    current_error: Option<String>,
    new_error: Option<String>,
}

fn view(lang: Lang, session: &BrowserSession) -> PasswordView {
    PasswordView {
        page: Page::new(lang, session.0.csrf_token(), PATH),
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
    let (_, session) = match recent_account(&state, session, PATH).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let mut view = view(lang, &session);
    view.done = query.done.is_some();
    let response = render(&req, StatusCode::OK, view);
    session.respond(&state, response).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: String,
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
    let mut page = view(lang, &session);
    let current = Password::parse(form.current)
        .map_err(|e| page.current_error = Some(lang.t(e.message_key())));
    let new = NewPassword::parse(form.password, &form.password_confirm)
        .map_err(|e| page.new_error = Some(lang.t(e.message_key())));
    let (Ok(current), Ok(new)) = (current, new) else {
        let response = render(&req, StatusCode::UNPROCESSABLE_ENTITY, page);
        return session.respond(&state, response).await;
    };
    let sid = signed_in(&session).map(|s| s.sid);
    let changed = password::change(
        &state.account,
        account.id,
        current,
        new,
        sid.as_deref(),
        session.client(),
    )
    .await?;
    let key = match changed {
        PasswordChange::Changed { .. } => {
            // The new password's epoch would outdate this sign-in's codes and tokens: sign
            // this browser in again, under the same OIDC session.
            session.sign_in(&state, account.id, &["pwd"]).await?;
            return session
                .respond(&state, see_other(&format!("{PATH}?done=1")))
                .await;
        }
        PasswordChange::Gone => return session.end(&state, see_other("/login")).await,
        PasswordChange::WrongPassword => "change-password-wrong",
        PasswordChange::Locked => "login-locked",
        PasswordChange::MustResetPassword => "login-must-reset",
    };
    page.current_error = Some(lang.t(key));
    let response = render(&req, StatusCode::UNPROCESSABLE_ENTITY, page);
    session.respond(&state, response).await
}
