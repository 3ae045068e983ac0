//! Passkeys (`/account/passkeys`): the account's passkeys (name, added, last used), adding one
//! (the passkey script runs the ceremony against two JSON endpoints), renaming and removing.
//! Every part is a sensitive section: a sign-in older than the re-authentication window is sent
//! to "Confirm it's you" first (see [`super::require_recent`]). The rules live in
//! `account::passkeys`.
//!
//! `POST /account/passkeys/add/start` `{"csrf", "name"}` → `200 {"publicKey": {...}}` (the
//! options for `navigator.credentials.create()`); `POST /account/passkeys/add/finish`
//! `{"csrf", "credential": {...}}` → `200 {"redirect": "/account/passkeys?done=added"}`.
//! Refusals are `{"error", "message"}`: 401 `signed_out`, 403 `reauth` (with `redirect`, the
//! confirmation page), 422 (`invalid_name`, `too_many`, `no_ceremony`, `invalid`, `duplicate`),
//! and those of `pages::passkeys::json_config`.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::{
    DoneQuery, console_account, recent_account, require_recent, sessions::when, signed_in,
};
use crate::{
    account::{
        passkeys::{self as core, PasskeySummary, RegistrationRefused},
        second_factor,
    },
    db::models::account::Account,
    domain::PasskeyName,
    i18n::Lang,
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError,
        page::{render, see_other},
        pages::passkeys::{
            allow_script, available, browser_of, json_config, refusal, service_refusal,
        },
    },
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(PATH).get(get_passkeys))
        .service(
            web::resource("/account/passkeys/add/start")
                .app_data(json_config())
                .post(post_add_start),
        )
        .service(
            web::resource("/account/passkeys/add/finish")
                .app_data(json_config())
                .post(post_add_finish),
        )
        .service(web::resource("/account/passkeys/rename").post(post_rename))
        .service(web::resource("/account/passkeys/remove").post(post_remove));
}

const PATH: &str = "/account/passkeys";

#[derive(Template, WebTemplate)]
#[template(path = "account/passkeys.html")]
struct PasskeysView {
    page: Page,
    passkeys: Vec<PasskeyRow>,
    /// The deployment offers passkeys: the page carries the "Add" form and the script.
    available: bool,
    /// The account holds as many as it may: no "Add" form.
    full: bool,
    notice: Option<String>,
    error: Option<String>,
    passkey_start: &'static str,
    passkey_finish: &'static str,
}

struct PasskeyRow {
    id: String,
    name: String,
    added: String,
    last_used: String,
    synced: bool,
}

fn row(lang: Lang, passkey: &PasskeySummary) -> PasskeyRow {
    PasskeyRow {
        id: passkey.id.clone(),
        name: passkey.name.to_string(),
        added: lang.t_args("passkeys-added-at", &[("when", when(passkey.created_at))]),
        last_used: match passkey.last_used_at {
            Some(at) => lang.t_args("passkeys-last-used", &[("when", when(at))]),
            None => lang.t("passkeys-never-used"),
        },
        synced: passkey.synced,
    }
}

async fn view(
    state: &AppState,
    lang: Lang,
    session: &BrowserSession,
    account: &Account,
) -> Result<PasskeysView, WebError> {
    let listed = core::list(&state.account, account.id).await?;
    Ok(PasskeysView {
        page: Page::new(lang, session.0.csrf_token(), PATH),
        full: i64::try_from(listed.len()).unwrap_or(i64::MAX) >= core::MAX_PER_ACCOUNT,
        passkeys: listed.iter().map(|p| row(lang, p)).collect(),
        available: available(state),
        notice: None,
        error: None,
        passkey_start: "/account/passkeys/add/start",
        passkey_finish: "/account/passkeys/add/finish",
    })
}

/// The page, with the passkey script allowed in its CSP when it carries it.
fn respond_page(req: &HttpRequest, status: StatusCode, view: PasskeysView) -> HttpResponse {
    let with_script = view.available;
    let mut response = render(req, status, view);
    if with_script {
        allow_script(&mut response);
    }
    response
}

pub async fn get_passkeys(
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
    let mut page = view(&state, lang, &session, &account).await?;
    page.notice = match query.done.as_deref() {
        Some("added") => Some(lang.t("passkeys-done-added")),
        Some("renamed") => Some(lang.t("passkeys-done-renamed")),
        Some("removed") => Some(lang.t("passkeys-done-removed")),
        _ => None,
    };
    let response = respond_page(&req, StatusCode::OK, page);
    session.respond(&state, response).await
}

/// The signed-in account for a ceremony endpoint, once the sign-in is recent enough; `Err` is
/// the JSON answer instead (signed out; or confirm it's you, and where).
async fn recent_for_json(
    state: &AppState,
    lang: Lang,
    session: BrowserSession,
) -> Result<Result<(Account, BrowserSession), HttpResponse>, WebError> {
    let (account, session) = match console_account(state, session).await? {
        Ok(found) => found,
        Err(_) => {
            return Ok(Err(refusal(
                StatusCode::UNAUTHORIZED,
                "signed_out",
                lang.t("passkey-error-signed-out"),
            )));
        }
    };
    if let Some(person) = signed_in(&session)
        && let Some(confirm) = require_recent(state, &person, PATH)
    {
        let redirect = confirm
            .headers()
            .get(actix_web::http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("/account/confirm")
            .to_owned();
        let response = actix_web::HttpResponse::Forbidden().json(serde_json::json!({
            "error": "reauth",
            "message": lang.t("passkey-error-reauth"),
            "redirect": redirect,
        }));
        return Ok(Err(response));
    }
    Ok(Ok((account, session)))
}

#[derive(Deserialize)]
pub struct AddStartBody {
    csrf: String,
    name: String,
}

pub async fn post_add_start(
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    body: web::Json<AddStartBody>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&body.csrf)?;
    let (account, session) = match recent_for_json(&state, lang, session).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let name = match PasskeyName::parse(&body.name) {
        Ok(name) => name,
        Err(e) => {
            let response = refusal(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_name",
                lang.t(e.message_key()),
            );
            return session.respond(&state, response).await;
        }
    };
    let browser = browser_of(&session);
    let started = core::start_registration(&state.account, &account, name, &browser).await;
    let response = match started {
        Ok(Ok(options)) => HttpResponse::Ok().json(options),
        Ok(Err(refused)) => registration_refusal(lang, refused),
        Err(e) => service_refusal(lang, e)?,
    };
    session.respond(&state, response).await
}

#[derive(Deserialize)]
pub struct AddFinishBody {
    csrf: String,
    credential: RegisterPublicKeyCredential,
}

pub async fn post_add_finish(
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    body: web::Json<AddFinishBody>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&body.csrf)?;
    let (account, session) = match recent_for_json(&state, lang, session).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let browser = browser_of(&session);
    let finished = core::finish_registration(
        &state.account,
        account.id,
        &body.credential,
        &browser,
        session.client(),
    )
    .await?;
    let response = match finished {
        Ok(_) => {
            // The first second factor comes with recovery codes: the security page offers to
            // make them now (shown once, after a press of its button, never sent in JSON).
            let methods = second_factor::methods(&state.account, account.id).await?;
            let next = if methods.recovery_codes_left == 0 {
                "/account/security?done=passkey-first".to_owned()
            } else {
                format!("{PATH}?done=added")
            };
            HttpResponse::Ok().json(serde_json::json!({ "redirect": next }))
        }
        Err(refused) => registration_refusal(lang, refused),
    };
    session.respond(&state, response).await
}

fn registration_refusal(lang: Lang, refused: RegistrationRefused) -> HttpResponse {
    let (status, key) = match refused {
        RegistrationRefused::Unavailable => (StatusCode::NOT_FOUND, "passkey-error-unavailable"),
        RegistrationRefused::TooMany => (StatusCode::UNPROCESSABLE_ENTITY, "passkeys-too-many"),
        RegistrationRefused::NoCeremony => {
            (StatusCode::UNPROCESSABLE_ENTITY, "passkey-error-expired")
        }
        RegistrationRefused::Invalid => (StatusCode::UNPROCESSABLE_ENTITY, "passkey-error-failed"),
        RegistrationRefused::Duplicate => {
            (StatusCode::UNPROCESSABLE_ENTITY, "passkey-error-exists")
        }
    };
    refusal(status, refused.as_str(), lang.t(key))
}

#[derive(Deserialize)]
pub struct RenameForm {
    csrf: String,
    id: String,
    name: String,
}

pub async fn post_rename(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<RenameForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let (account, session) = match recent_account(&state, session, PATH).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let form = form.into_inner();
    let error = match PasskeyName::parse(&form.name) {
        Err(e) => Some((StatusCode::UNPROCESSABLE_ENTITY, e.message_key())),
        Ok(name) => {
            if core::rename(&state.account, account.id, form.id, name, session.client()).await? {
                None
            } else {
                Some((StatusCode::NOT_FOUND, "console-not-found"))
            }
        }
    };
    answer(&req, &state, lang, session, &account, error, "renamed").await
}

#[derive(Deserialize)]
pub struct RemoveForm {
    csrf: String,
    id: String,
}

pub async fn post_remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<RemoveForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let (account, session) = match recent_account(&state, session, PATH).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let form = form.into_inner();
    let error = if core::remove(&state.account, account.id, form.id, session.client()).await? {
        None
    } else {
        Some((StatusCode::NOT_FOUND, "console-not-found"))
    };
    answer(&req, &state, lang, session, &account, error, "removed").await
}

/// Back to the list saying what was done, or the list again with what went wrong.
async fn answer(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    session: BrowserSession,
    account: &Account,
    error: Option<(StatusCode, &'static str)>,
    done: &str,
) -> Result<HttpResponse, WebError> {
    let Some((status, key)) = error else {
        return session
            .respond(state, see_other(&format!("{PATH}?done={done}")))
            .await;
    };
    let mut page = view(state, lang, &session, account).await?;
    page.error = Some(lang.t(key));
    let response = respond_page(req, status, page);
    session.respond(state, response).await
}
