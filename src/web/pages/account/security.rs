//! Security: the account's second factors. The authenticator app (add it by scanning a QR
//! code or typing its key, confirmed with a first code; remove it), the recovery codes (how
//! many are left; a new set, shown once), and a link to the passkeys page. Adding, removing
//! and regenerating are sensitive: they need a recent sign-in (see [`super::recent_account`]).
//! The work is done by `account::second_factor`.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use qrcode::{QrCode, render::svg};
use serde::Deserialize;

use super::{DoneQuery, console_account, recent_account};
use crate::{
    account::second_factor::{
        self, recovery_codes,
        totp::{self, Confirmed, Enrolling},
    },
    domain::{RecoveryCode, TotpCode},
    i18n::Lang,
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError,
        page::{render, see_other},
        pages::CsrfForm,
    },
};

const PATH: &str = "/account/security";
const APP_PATH: &str = "/account/security/authenticator";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(PATH).get(get_security))
        .service(
            web::resource(APP_PATH)
                .get(get_authenticator)
                .post(post_authenticator),
        )
        .service(web::resource("/account/security/authenticator/confirm").post(post_confirm))
        .service(web::resource("/account/security/authenticator/remove").post(post_remove))
        .service(web::resource("/account/security/recovery-codes").post(post_recovery_codes));
}

#[derive(Template, WebTemplate)]
#[template(path = "account/security.html")]
struct SecurityView {
    page: Page,
    authenticator: bool,
    /// The account has a second factor (an authenticator app or a passkey).
    any: bool,
    /// No unused recovery code is left (or none were made yet).
    no_codes: bool,
    /// "You have 2 passkeys."
    passkeys: String,
    /// "Recovery codes left: 8 of 10".
    recovery_left: String,
    notice: Option<String>,
    /// An app's request waits in this session (it asked for a stronger sign-in): "Continue".
    waiting_app: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "account/authenticator.html")]
struct AuthenticatorView {
    page: Page,
    /// The QR code of the `otpauth://` URI, as inline SVG markup made by `qrcode` (never
    /// anything typed by anyone): allowed by the page CSP, which forbids no inline SVG.
    qr_svg: String,
    manual_key: String,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "account/recovery_codes.html")]
struct RecoveryCodesView {
    page: Page,
    codes: Vec<String>,
    /// Issued with the first second factor (the page says the app was added).
    first: bool,
}

pub async fn get_security(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, WebError> {
    let (account, session) = match console_account(&state, session).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let methods = second_factor::methods(&state.account, account.id).await?;
    let notice = match query.done.as_deref() {
        Some("removed") => Some(lang.t("security-app-removed")),
        Some("added") => Some(lang.t("security-app-added")),
        Some("none") => Some(lang.t("security-app-none")),
        Some("passkey-first") => Some(lang.t("security-passkey-first")),
        _ => None,
    };
    let view = SecurityView {
        page: Page::new(lang, session.0.csrf_token(), PATH),
        authenticator: methods.authenticator_app,
        any: methods.any(),
        no_codes: methods.recovery_codes_left == 0,
        passkeys: lang.t_args(
            "security-passkeys-count",
            &[("count", methods.passkeys.to_string())],
        ),
        waiting_app: session.0.interaction().is_some(),
        recovery_left: lang.t_args(
            "security-codes-left",
            &[
                ("count", methods.recovery_codes_left.to_string()),
                ("total", recovery_codes::SET_SIZE.to_string()),
            ],
        ),
        notice,
    };
    let response = render(&req, StatusCode::OK, view);
    session.respond(&state, response).await
}

/// The QR code of `uri` as SVG markup, without the XML declaration (it sits inside HTML).
fn qr_svg(uri: &str) -> Result<String, WebError> {
    let code = QrCode::new(uri.as_bytes()).map_err(|e| WebError::Internal(e.to_string()))?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(match image.find("<svg") {
        Some(at) => image[at..].to_owned(),
        None => image,
    })
}

async fn show_enrolment(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    session: BrowserSession,
    enrolment: totp::Enrolment,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    let view = AuthenticatorView {
        page: Page::new(lang, session.0.csrf_token(), APP_PATH),
        qr_svg: qr_svg(&enrolment.uri)?,
        manual_key: enrolment.manual_key,
        error,
    };
    let response = render(req, status, view);
    session.respond(state, response).await
}

/// The enrolment in progress (its QR code and key), or back to the security page.
pub async fn get_authenticator(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
) -> Result<HttpResponse, WebError> {
    let (account, session) = match recent_account(&state, session, PATH).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    match totp::in_progress(&state.account, account.id).await? {
        Some(enrolment) => {
            show_enrolment(&req, &state, lang, session, enrolment, StatusCode::OK, None).await
        }
        None => session.respond(&state, see_other(PATH)).await,
    }
}

/// "Add an authenticator app": a new secret, then its page.
pub async fn post_authenticator(
    state: web::Data<AppState>,
    session: BrowserSession,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let (account, session) = match recent_account(&state, session, PATH).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let to = match totp::start(&state.account, account.id).await? {
        Enrolling::Show(_) => APP_PATH,
        Enrolling::AlreadyAdded => PATH,
    };
    session.respond(&state, see_other(to)).await
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    csrf: String,
    code: String,
}

/// The first code from the app: added (and the recovery codes shown, the first time), or the
/// same page again with what was wrong.
pub async fn post_confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let (account, session) = match recent_account(&state, session, PATH).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let confirmed = match TotpCode::parse(&form.code) {
        Ok(code) => totp::confirm(&state.account, account.id, &code, session.client()).await?,
        Err(e) => {
            return again(&req, &state, lang, session, account.id, e.message_key()).await;
        }
    };
    match confirmed {
        Confirmed::Added(Some(codes)) => {
            show_codes(&req, &state, lang, session, &codes, true).await
        }
        Confirmed::Added(None) => {
            session
                .respond(&state, see_other(&format!("{PATH}?done=added")))
                .await
        }
        Confirmed::Wrong => {
            again(
                &req,
                &state,
                lang,
                session,
                account.id,
                "security-app-wrong-code",
            )
            .await
        }
        Confirmed::NoEnrolment => {
            session
                .respond(&state, see_other(&format!("{PATH}?done=none")))
                .await
        }
    }
}

/// The enrolment page again, with `key`'s message; the security page when it lapsed.
async fn again(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    session: BrowserSession,
    account: crate::domain::AccountId,
    key: &str,
) -> Result<HttpResponse, WebError> {
    match totp::in_progress(&state.account, account).await? {
        Some(enrolment) => {
            show_enrolment(
                req,
                state,
                lang,
                session,
                enrolment,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(lang.t(key)),
            )
            .await
        }
        None => {
            session
                .respond(state, see_other(&format!("{PATH}?done=none")))
                .await
        }
    }
}

async fn show_codes(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    session: BrowserSession,
    codes: &[RecoveryCode],
    first: bool,
) -> Result<HttpResponse, WebError> {
    let view = RecoveryCodesView {
        page: Page::new(lang, session.0.csrf_token(), PATH),
        codes: codes.iter().map(RecoveryCode::grouped).collect(),
        first,
    };
    let mut response = render(req, StatusCode::OK, view);
    // Shown once: no cache, and no copy kept by the browser's back-forward cache either.
    response.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    session.respond(state, response).await
}

/// Removes the authenticator app.
pub async fn post_remove(
    state: web::Data<AppState>,
    session: BrowserSession,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let (account, session) = match recent_account(&state, session, PATH).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    totp::remove(&state.account, account.id, session.client()).await?;
    session
        .respond(&state, see_other(&format!("{PATH}?done=removed")))
        .await
}

/// A new set of recovery codes, shown once; the old ones stop working.
pub async fn post_recovery_codes(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let (account, session) = match recent_account(&state, session, PATH).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    // Recovery codes back up a second factor: without one there is nothing to recover.
    if !second_factor::methods(&state.account, account.id)
        .await?
        .any()
    {
        return session.respond(&state, see_other(PATH)).await;
    }
    let codes = recovery_codes::regenerate(&state.account, account.id, session.client()).await?;
    show_codes(&req, &state, lang, session, &codes, false).await
}
