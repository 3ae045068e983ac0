//! The signed-in person's account page.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::{
    db::models::account,
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError,
        page::{render, see_other},
    },
};

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
struct AccountView {
    page: Page,
    name: String,
    account_id: String,
    phone: Option<String>,
    email: Option<String>,
}

pub async fn get_home(session: BrowserSession) -> HttpResponse {
    see_other(if session.0.signed_in().is_some() {
        "/account"
    } else {
        "/login"
    })
}

pub async fn get_account(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
) -> Result<HttpResponse, WebError> {
    let Some(signed_in) = session.0.signed_in() else {
        return Ok(see_other("/login"));
    };
    let id = signed_in.account_id;
    let Some(account) = state
        .db
        .run(move |conn| account::find_by_id(conn, id))
        .await
        .map_err(|e| WebError::Unavailable(e.to_string()))?
    else {
        return session.end(&state, see_other("/login")).await;
    };
    let view = AccountView {
        page: Page::new(lang, session.0.csrf_token(), "/account"),
        name: account.display_name.to_string(),
        account_id: account.id.to_string(),
        phone: account.phone.as_ref().map(|p| p.masked()),
        email: account.email.as_ref().map(|e| e.masked()),
    };
    let response = render(&req, StatusCode::OK, view);
    session.respond(&state, response).await
}
