//! Deleting the account: `/account/delete` says what happens and sends a code to a contact of
//! the account (bound to this browser); `/account/delete/confirm` takes the code, deletes the
//! account (`account::deletion`), forgets this browser's session and shows that it is done.
//! Every page and form here needs a recent sign-in (see [`super::require_recent`]).

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::recent_account;
use crate::{
    account::{
        codes::BrowserTag,
        deletion::{self, Confirmation},
        reauth::{self, ContactKind},
    },
    db::models::account::Account,
    domain::{CodePurpose, VerificationCode},
    i18n::Lang,
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError,
        page::{render, see_other},
        pages::{refusal_message, signup::code_rejected_message},
    },
};

const PATH: &str = "/account/delete";
const CONFIRM_PATH: &str = "/account/delete/confirm";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(PATH).get(get_delete).post(post_delete))
        .service(
            web::resource(CONFIRM_PATH)
                .get(get_confirm)
                .post(post_confirm),
        );
}

#[derive(Template, WebTemplate)]
#[template(path = "account/delete.html")]
struct DeleteView {
    page: Page,
    options: Vec<super::CodeOption>,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "account/delete_code.html")]
struct CodeView {
    page: Page,
    kind: &'static str,
    sent_to: String,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "account/delete_done.html")]
struct DoneView {
    page: Page,
}

/// What a form or link about one contact works on.
type WithContact = (Account, BrowserSession, ContactKind);

/// [`recent_account`], and the contact kind `named` (by a form or link), which the account
/// must have: else a friendly 404 that changes nothing. Once confirmed, the person comes back
/// to the code page for that contact (or to the deletion page).
async fn with_contact(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    session: BrowserSession,
    named: &str,
    back_to_code_page: bool,
) -> Result<Result<WithContact, HttpResponse>, WebError> {
    let back_to = match ContactKind::parse(named) {
        Some(kind) if back_to_code_page => confirm_path(kind),
        _ => PATH.to_owned(),
    };
    let (account, session) = match recent_account(state, session, &back_to).await? {
        Ok(found) => found,
        Err(response) => return Ok(Err(response)),
    };
    match ContactKind::parse(named).filter(|kind| kind.of(&account).is_some()) {
        Some(kind) => Ok(Ok((account, session, kind))),
        None => {
            let not_found = StatusCode::NOT_FOUND;
            let key = "console-not-found";
            let page = answer_delete_page(req, state, lang, session, &account, not_found, key);
            Ok(Err(page.await?))
        }
    }
}

fn confirm_path(kind: ContactKind) -> String {
    format!("{CONFIRM_PATH}?kind={}", kind.as_str())
}

fn delete_view(
    lang: Lang,
    session: &BrowserSession,
    account: &Account,
    error: Option<String>,
) -> DeleteView {
    let options = super::code_options(lang, account, "delete-send-code");
    DeleteView {
        page: Page::new(lang, session.0.csrf_token(), PATH),
        options,
        error,
    }
}

fn code_view(
    lang: Lang,
    session: &BrowserSession,
    account: &Account,
    kind: ContactKind,
    error: Option<String>,
) -> CodeView {
    let to = kind.of(account).map(|to| to.masked()).unwrap_or_default();
    CodeView {
        page: Page::new(lang, session.0.csrf_token(), &confirm_path(kind)),
        kind: kind.as_str(),
        sent_to: lang.t_args("delete-code-sent", &[("to", to)]),
        error,
    }
}

/// The deletion page with `key`'s message, answered `status`.
async fn answer_delete_page(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    session: BrowserSession,
    account: &Account,
    status: StatusCode,
    key: &str,
) -> Result<HttpResponse, WebError> {
    let view = delete_view(lang, &session, account, Some(lang.t(key)));
    let response = render(req, status, view);
    session.respond(state, response).await
}

pub async fn get_delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
) -> Result<HttpResponse, WebError> {
    let (account, session) = match recent_account(&state, session, PATH).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let response = render(
        &req,
        StatusCode::OK,
        delete_view(lang, &session, &account, None),
    );
    session.respond(&state, response).await
}

#[derive(Deserialize)]
pub struct SendForm {
    csrf: String,
    kind: String,
}

/// Sends the code to the chosen contact, then shows where to type it.
pub async fn post_delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<SendForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let found = with_contact(&req, &state, lang, session, &form.kind, false).await?;
    let (account, session, kind) = match found {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let browser = BrowserTag::new(session.0.csrf_token());
    let sent = reauth::send_code(
        &state.account,
        CodePurpose::Delete,
        &account,
        kind,
        lang,
        session.client(),
        &browser,
    )
    .await;
    match sent {
        Ok(_) => {
            session
                .respond(&state, see_other(&confirm_path(kind)))
                .await
        }
        Err(e) => {
            let key = refusal_message(e)?;
            let refused = StatusCode::UNPROCESSABLE_ENTITY;
            answer_delete_page(&req, &state, lang, session, &account, refused, key).await
        }
    }
}

#[derive(Deserialize)]
pub struct KindQuery {
    kind: Option<String>,
}

pub async fn get_confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    query: web::Query<KindQuery>,
) -> Result<HttpResponse, WebError> {
    let named = query.kind.as_deref().unwrap_or_default();
    let (account, session, kind) =
        match with_contact(&req, &state, lang, session, named, true).await? {
            Ok(found) => found,
            Err(response) => return Ok(response),
        };
    let response = render(
        &req,
        StatusCode::OK,
        code_view(lang, &session, &account, kind, None),
    );
    session.respond(&state, response).await
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf: String,
    kind: String,
    code: String,
}

/// Takes the code; when right, the account is deleted and this browser signed out.
pub async fn post_confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let found = with_contact(&req, &state, lang, session, &form.kind, true).await?;
    let (account, session, kind) = match found {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let code = match VerificationCode::parse(&form.code) {
        Ok(code) => code,
        Err(e) => {
            let view = code_view(
                lang,
                &session,
                &account,
                kind,
                Some(lang.t(e.message_key())),
            );
            let response = render(&req, StatusCode::UNPROCESSABLE_ENTITY, view);
            return session.respond(&state, response).await;
        }
    };
    let browser = BrowserTag::new(session.0.csrf_token());
    let id = account.id;
    let confirmed =
        deletion::confirm(&state.account, id, kind, &code, session.client(), &browser).await?;
    match confirmed {
        Confirmation::Deleted => {
            let done = DoneView {
                page: Page::without_form(lang, "/"),
            };
            // The deletion ended every session of the account and told its apps: this browser
            // only forgets its own.
            session
                .discard(&state, render(&req, StatusCode::OK, done))
                .await
        }
        Confirmation::WrongCode(rejected) => {
            let error = code_rejected_message(lang, rejected);
            let view = code_view(lang, &session, &account, kind, Some(error));
            let response = render(&req, StatusCode::UNPROCESSABLE_ENTITY, view);
            session.respond(&state, response).await
        }
        Confirmation::Gone => session.discard(&state, see_other("/login")).await,
    }
}
