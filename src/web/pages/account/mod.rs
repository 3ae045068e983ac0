//! The account console under `/account`: the overview, and one module per section (profile,
//! phone and email, password, security (second factors and passkeys), connected apps, sessions
//! and devices, recent activity, deletion,
//! and the re-authentication that guards the sensitive ones). Every page is server-rendered and
//! works without JavaScript; every form carries the session's CSRF token; every change is made
//! by one function of the account or session core, which the admin console calls too.

mod activity;
mod apps;
mod contacts;
mod delete;
mod passkeys;
mod password;
mod profile;
mod reauth;
mod security;
mod sessions;

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;

use crate::{
    account::reauth::ContactKind,
    db::models::account::{self, Account},
    i18n::Lang,
    session::SignedIn,
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError,
        page::{render, see_other},
    },
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").get(get_home))
        .service(web::resource("/account").get(get_account));
    for section in [
        reauth::routes,
        profile::routes,
        contacts::routes,
        password::routes,
        passkeys::routes,
        apps::routes,
        sessions::routes,
        security::routes,
        activity::routes,
        delete::routes,
    ] {
        section(cfg);
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "account/home.html")]
struct AccountView {
    page: Page,
    name: String,
    account_id: String,
    phone: Option<String>,
    email: Option<String>,
    is_admin: bool,
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
    let (account, session) = match console_account(&state, session).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let view = AccountView {
        page: Page::new(lang, session.0.csrf_token(), "/account"),
        name: account.display_name.to_string(),
        account_id: account.id.to_string(),
        phone: account.phone.as_ref().map(|p| p.masked()),
        email: account.email.as_ref().map(|e| e.masked()),
        is_admin: account.role == Some(crate::domain::Role::Admin),
    };
    let response = render(&req, StatusCode::OK, view);
    session.respond(&state, response).await
}

/// Who is signed in to this browser; `None` sends the visitor to sign in.
pub(crate) fn signed_in(session: &BrowserSession) -> Option<SignedIn> {
    session.0.signed_in().cloned()
}

/// The signed-in person's account, for a console page: `Err` is the answer to give instead (to
/// the sign-in page when nobody is signed in; a vanished or deleted account also ends the
/// browser's session there).
pub(crate) async fn console_account(
    state: &AppState,
    session: BrowserSession,
) -> Result<Result<(Account, BrowserSession), HttpResponse>, WebError> {
    let Some(signed_in) = signed_in(&session) else {
        return Ok(Err(see_other("/login")));
    };
    let id = signed_in.account_id;
    let found = state
        .db
        .run(move |conn| account::find_by_id(conn, id))
        .await
        .map_err(|e| WebError::Unavailable(e.to_string()))?;
    match found {
        Some(account) if account.status != account::AccountStatus::Deleted => {
            Ok(Ok((account, session)))
        }
        // Its deletion ended every session and told the apps; signing out here would record
        // this browser's address for the account after its events were stripped of them.
        Some(_) => Ok(Err(session.discard(state, see_other("/login")).await?)),
        None => Ok(Err(session.end(state, see_other("/login")).await?)),
    }
}

/// The signed-in account for a page of the console's sensitive sections, once the sign-in is
/// recent enough; `Err` is the answer instead: sign in, or confirm it's you and come back to
/// `back_to`.
pub(crate) async fn recent_account(
    state: &AppState,
    session: BrowserSession,
    back_to: &str,
) -> Result<Result<(Account, BrowserSession), HttpResponse>, WebError> {
    let (account, session) = match console_account(state, session).await? {
        Ok(found) => found,
        Err(response) => return Ok(Err(response)),
    };
    if let Some(person) = signed_in(&session)
        && let Some(confirm) = require_recent(state, &person, back_to)
    {
        return Ok(Err(confirm));
    }
    Ok(Ok((account, session)))
}

/// `?done=...`: what the POST before the redirect did, for the page to say so.
#[derive(serde::Deserialize)]
pub struct DoneQuery {
    pub(crate) done: Option<String>,
}

/// Guards a sensitive action: `None` when the sign-in is recent enough
/// (`session.reauth_window_secs`), else the redirect to the confirmation page, which brings the
/// person back to `back_to` (a console path) once they have confirmed.
pub(crate) fn require_recent(
    state: &AppState,
    signed_in: &SignedIn,
    back_to: &str,
) -> Option<HttpResponse> {
    let window = chrono::Duration::seconds(state.settings.session.reauth_window_secs);
    if signed_in.is_recent(window, state.clock.now()) {
        return None;
    }
    let next: String = url::form_urlencoded::byte_serialize(back_to.as_bytes()).collect();
    Some(see_other(&format!("/account/confirm?next={next}")))
}

/// A contact of the account a code can go to, masked: "Send a code to 98•••••678".
pub(crate) struct CodeOption {
    pub kind: &'static str,
    pub label: String,
}

/// The account's contacts as code choices, labelled with `label_key` (which takes `to`).
pub(crate) fn code_options(lang: Lang, account: &Account, label_key: &str) -> Vec<CodeOption> {
    [ContactKind::Phone, ContactKind::Email]
        .into_iter()
        .filter_map(|kind| {
            kind.of(account).map(|to| CodeOption {
                kind: kind.as_str(),
                label: lang.t_args(label_key, &[("to", to.masked())]),
            })
        })
        .collect()
}
