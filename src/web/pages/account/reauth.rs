//! "Confirm it's you": the page a sensitive console action sends the person to when their
//! sign-in is older than the re-authentication window (see [`super::require_recent`]). They
//! confirm with their password or a code to a contact of the account, the browser is signed in
//! again (keeping its OIDC session), and they return to the page they came from.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::console_account;
use crate::{
    account::{
        codes::BrowserTag,
        reauth::{self, Confirmed, ContactKind},
    },
    db::models::account::Account,
    domain::{CodePurpose, Password, VerificationCode},
    i18n::Lang,
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError,
        page::{render, see_other},
    },
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/account/confirm")
            .get(get_confirm)
            .post(post_confirm),
    )
    .service(web::resource("/account/confirm/send").post(post_send))
    .service(web::resource("/account/confirm/code").post(post_code));
}

/// Where to go once confirmed: a page of the account or admin console, nothing else (an open
/// redirect would let a link send a freshly confirmed person anywhere). Anything else goes to
/// the overview.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if (path.starts_with("/account/")
                || path == "/admin"
                || path.starts_with("/admin/"))
                && path.len() <= 200
                && path
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/-_?=&%.".contains(&b)) =>
        {
            path.to_owned()
        }
        _ => "/account".to_owned(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "account/confirm.html")]
struct ConfirmView {
    page: Page,
    next: String,
    options: Vec<super::CodeOption>,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "account/confirm_code.html")]
struct CodeView {
    page: Page,
    next: String,
    kind: &'static str,
    sent_to: String,
    /// Back to the choice of password or code, keeping where to return.
    other_way: String,
    error: Option<String>,
}

fn confirm_view(
    lang: Lang,
    session: &BrowserSession,
    account: &Account,
    next: String,
    error: Option<String>,
) -> ConfirmView {
    let options = super::code_options(lang, account, "confirm-send-code");
    ConfirmView {
        page: Page::new(lang, session.0.csrf_token(), "/account/confirm"),
        next,
        options,
        error,
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn get_confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, WebError> {
    let (account, session) = match console_account(&state, session).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let view = confirm_view(
        lang,
        &session,
        &account,
        safe_next(query.next.as_deref()),
        None,
    );
    let response = render(&req, StatusCode::OK, view);
    session.respond(&state, response).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: String,
    next: Option<String>,
    password: String,
}

pub async fn post_confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let (account, session) = match console_account(&state, session).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let form = form.into_inner();
    let next = safe_next(form.next.as_deref());
    let confirmed = match Password::parse(form.password) {
        Err(e) => {
            return answer_error(&req, &state, lang, session, &account, next, e.message_key())
                .await;
        }
        Ok(password) => {
            reauth::with_password(&state.account, account.id, password, session.client()).await?
        }
    };
    finish(&req, &state, lang, session, &account, next, confirmed).await
}

#[derive(Deserialize)]
pub struct SendForm {
    csrf: String,
    next: Option<String>,
    kind: String,
}

pub async fn post_send(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<SendForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let (account, session) = match console_account(&state, session).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let next = safe_next(form.next.as_deref());
    let Some(kind) = ContactKind::parse(&form.kind).filter(|k| k.of(&account).is_some()) else {
        let view = confirm_view(
            lang,
            &session,
            &account,
            next,
            Some(lang.t("console-not-found")),
        );
        let response = render(&req, StatusCode::NOT_FOUND, view);
        return session.respond(&state, response).await;
    };
    let browser = BrowserTag::new(session.0.csrf_token());
    let sent = reauth::send_code(
        &state.account,
        CodePurpose::Reauth,
        &account,
        kind,
        lang,
        session.client(),
        &browser,
    )
    .await;
    if let Err(e) = sent {
        let key = super::super::refusal_message(e)?;
        return answer_error(&req, &state, lang, session, &account, next, key).await;
    }
    let view = code_view(lang, &session, &account, kind, next, None);
    let response = render(&req, StatusCode::OK, view);
    session.respond(&state, response).await
}

fn code_view(
    lang: Lang,
    session: &BrowserSession,
    account: &Account,
    kind: ContactKind,
    next: String,
    error: Option<String>,
) -> CodeView {
    let to = kind.of(account).map(|to| to.masked()).unwrap_or_default();
    let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    CodeView {
        page: Page::new(lang, session.0.csrf_token(), "/account/confirm"),
        other_way: format!("/account/confirm?next={encoded}"),
        next,
        kind: kind.as_str(),
        sent_to: lang.t_args("verify-sent-to", &[("to", to)]),
        error,
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf: String,
    next: Option<String>,
    kind: String,
    code: String,
}

pub async fn post_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let (account, session) = match console_account(&state, session).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let next = safe_next(form.next.as_deref());
    let Some(kind) = ContactKind::parse(&form.kind).filter(|k| k.of(&account).is_some()) else {
        return session.respond(&state, see_other("/account/confirm")).await;
    };
    let confirmed = match VerificationCode::parse(&form.code) {
        Err(e) => {
            let view = code_view(
                lang,
                &session,
                &account,
                kind,
                next,
                Some(lang.t(e.message_key())),
            );
            let response = render(&req, StatusCode::UNPROCESSABLE_ENTITY, view);
            return session.respond(&state, response).await;
        }
        Ok(code) => {
            let browser = BrowserTag::new(session.0.csrf_token());
            reauth::with_code(
                &state.account,
                account.id,
                kind,
                &code,
                session.client(),
                &browser,
            )
            .await?
        }
    };
    if let Confirmed::WrongCode(rejected) = confirmed {
        let error = super::super::signup::code_rejected_message(lang, rejected);
        let view = code_view(lang, &session, &account, kind, next, Some(error));
        let response = render(&req, StatusCode::UNPROCESSABLE_ENTITY, view);
        return session.respond(&state, response).await;
    }
    finish(&req, &state, lang, session, &account, next, confirmed).await
}

/// Signs the browser in again and goes back, or says what went wrong.
async fn finish(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    mut session: BrowserSession,
    account: &Account,
    next: String,
    confirmed: Confirmed,
) -> Result<HttpResponse, WebError> {
    let key = match confirmed {
        Confirmed::Yes(amr) => {
            // An account with a second factor passes it too before the change may go ahead
            // (unless this browser is remembered for it), then comes back to `next`.
            session
                .sign_in_then(state, account.id, amr, Some(next.clone()))
                .await?;
            let to = if session.0.second_factor().is_some() {
                crate::web::pages::second_factor::PATH
            } else {
                next.as_str()
            };
            return session.respond(state, see_other(to)).await;
        }
        Confirmed::Gone => return session.end(state, see_other("/login")).await,
        Confirmed::WrongPassword => "confirm-wrong-password",
        Confirmed::Locked => "login-locked",
        Confirmed::MustResetPassword => "login-must-reset",
        Confirmed::WrongCode(_) => "code-unusable",
    };
    answer_error(req, state, lang, session, account, next, key).await
}

async fn answer_error(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    session: BrowserSession,
    account: &Account,
    next: String,
    key: &str,
) -> Result<HttpResponse, WebError> {
    let view = confirm_view(lang, &session, account, next, Some(lang.t(key)));
    let response = render(req, StatusCode::UNPROCESSABLE_ENTITY, view);
    session.respond(state, response).await
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_console_paths_are_returned_to() {
        assert_eq!(safe_next(Some("/account/password")), "/account/password");
        assert_eq!(
            safe_next(Some("/account/contacts/add?kind=email")),
            "/account/contacts/add?kind=email"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/account",
            "/login",
            "/account/\\evil",
            "/account/x\ny",
        ] {
            assert_eq!(safe_next(Some(bad)), "/account", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/account");
    }
}
