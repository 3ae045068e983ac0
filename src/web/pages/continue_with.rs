//! "Continue with your mobile number" (`/continue`), the default way in from an app: one field
//! and a code; `/continue/verify` takes the code and signs in, or, when no account uses the
//! contact, sends on to `/continue/create` for a name and an optional password. The rules, and
//! why the first two pages look the same whether or not an account exists, live in
//! `account::continue_with`.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{
    botcheck::{self, Ask, NotSent},
    signup::code_rejected_message,
};
use crate::{
    account::{
        codes::BrowserTag,
        continue_with::{self, Created, ProvenContact, Verified},
    },
    domain::{ContactIdentifier, DisplayName, NewPassword, ParseError, VerificationCode},
    i18n::Lang,
    notify::Channel,
    session::PendingContinue,
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError,
        page::{render, see_other},
    },
};

const START: &str = "/continue";
const VERIFY: &str = "/continue/verify";
const CREATE: &str = "/continue/create";

#[derive(Template, WebTemplate)]
#[template(path = "continue_start.html")]
struct StartView {
    page: Page,
    identifier: String,
    error: Option<String>,
    /// Why the person is back here (a lapsed step, a locked or disabled account).
    notice: Option<String>,
    /// The account is locked: offer "Unlock with a code" for this contact.
    unlock: Option<String>,
    /// The bot check's challenge, for the form.
    challenge: Option<String>,
}

impl botcheck::FormView for StartView {
    fn challenge_slot(&mut self) -> &mut Option<String> {
        &mut self.challenge
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "continue_verify.html")]
struct VerifyView {
    page: Page,
    sent_to: String,
    resend_note: Option<String>,
    code_error: Option<String>,
    code_length: u8,
    channels: super::CodeChannels,
    resend_action: &'static str,
    /// The bot check's challenge, for the "send a new code" forms.
    challenge: Option<String>,
}

impl botcheck::FormView for VerifyView {
    fn challenge_slot(&mut self) -> &mut Option<String> {
        &mut self.challenge
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "continue_create.html")]
struct CreateView {
    page: Page,
    proven: String,
    name: String,
    name_error: Option<String>,
    password_error: Option<String>,
}

#[derive(Deserialize)]
pub struct StartForm {
    csrf: String,
    identifier: String,
    #[serde(flatten)]
    bot_check: botcheck::Fields,
}

#[derive(Deserialize)]
pub struct VerifyForm {
    csrf: String,
    code: String,
}

#[derive(Deserialize)]
pub struct CreateForm {
    csrf: String,
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

fn start_view(lang: Lang, session: &BrowserSession, identifier: &str) -> StartView {
    StartView {
        page: Page::new(lang, session.0.csrf_token(), START),
        identifier: identifier.chars().take(254).collect(),
        error: None,
        notice: None,
        unlock: None,
        challenge: None,
    }
}

/// The first page again, saying why: a later step was reached without (or after) the one
/// before it. 409: the form was fine, this browser's state is not.
async fn start_over(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    mut session: BrowserSession,
) -> Result<HttpResponse, WebError> {
    session.0.set_continue_with(None);
    let mut view = start_view(lang, &session, "");
    view.notice = Some(lang.t("continue-start-over"));
    let response = botcheck::render_form(req, state, &session, StatusCode::CONFLICT, view).await?;
    session.respond(state, response).await
}

pub async fn get_continue(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
) -> Result<HttpResponse, WebError> {
    // Signed-in people are sent on, unless an app asked for a fresh sign-in (prompt=login).
    if session.0.signed_in().is_some() && session.0.interaction().is_none() {
        return Ok(see_other("/account"));
    }
    let view = start_view(lang, &session, "");
    let response = botcheck::render_form(&req, &state, &session, StatusCode::OK, view).await?;
    session.respond(&state, response).await
}

pub async fn post_continue(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    mut session: BrowserSession,
    form: web::Form<StartForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let back = botcheck::Return {
        action: START,
        page: START,
        identifier: Some(&form.identifier),
        channel: None,
    };
    let sent = match super::parse_contact(&state, &form.identifier) {
        Ok(to) => {
            let ask = Ask(&req, &state, lang, &form.bot_check, back);
            send_code(ask, &mut session, &to, None).await?
        }
        Err(key) => Err(NotSent::Key(key)),
    };
    match sent {
        Ok(()) => session.respond(&state, see_other(VERIFY)).await,
        Err(NotSent::Wait(response)) => session.respond(&state, response).await,
        Err(NotSent::Key(key)) => {
            let mut view = start_view(lang, &session, &form.identifier);
            view.error = Some(lang.t(key));
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            let response = botcheck::render_form(&req, &state, &session, status, view).await?;
            session.respond(&state, response).await
        }
    }
}

/// The bot check, then a code to `to` (on `prefer` first, when the person chose it), recorded
/// in the session: the one path of the first page and of "send a new code".
async fn send_code(
    ask: Ask<'_>,
    session: &mut BrowserSession,
    to: &ContactIdentifier,
    prefer: Option<Channel>,
) -> Result<Result<(), NotSent>, WebError> {
    let (state, lang) = (ask.1, ask.2);
    if let Err(not_sent) = ask.check(session, to).await? {
        return Ok(Err(not_sent));
    }
    let browser = BrowserTag::new(session.0.csrf_token());
    let before = code_sent(session)
        .filter(|sent| sent.0 == *to)
        .map(|sent| sent.2)
        .unwrap_or_default();
    let client = session.client();
    let requested =
        continue_with::request(&state.account, to, lang, client, &browser, prefer).await;
    let sent = match requested {
        Ok(sent) => sent,
        Err(e) => return Ok(Err(NotSent::Key(super::refusal_message(e)?))),
    };
    session.0.set_continue_with(Some(PendingContinue::CodeSent {
        to: to.canonical().to_owned(),
        resend_after: sent.resend_after(),
        channels: super::told_channels(&sent, &before),
    }));
    Ok(Ok(()))
}

/// The contact this browser's code went to, when another may be asked for, and the channels
/// the page names; `None` when it asked for none.
fn code_sent(
    session: &BrowserSession,
) -> Option<(
    ContactIdentifier,
    chrono::DateTime<chrono::Utc>,
    Vec<Channel>,
)> {
    match session.0.continue_with()? {
        PendingContinue::CodeSent {
            to,
            resend_after,
            channels,
        } => Some((
            ContactIdentifier::from_canonical(to).ok()?,
            *resend_after,
            channels.clone(),
        )),
        PendingContinue::Proven { .. } => None,
    }
}

fn verify_view(
    state: &AppState,
    lang: Lang,
    session: &BrowserSession,
    to: &ContactIdentifier,
    resend_after: chrono::DateTime<chrono::Utc>,
    channels: &[Channel],
) -> VerifyView {
    let wait = (resend_after - state.clock.now()).num_seconds();
    VerifyView {
        page: Page::new(lang, session.0.csrf_token(), VERIFY),
        sent_to: lang.t_args("continue-sent-to", &[("to", to.masked())]),
        resend_note: (wait > 0)
            .then(|| lang.t_args("verify-resend-wait", &[("seconds", wait.to_string())])),
        code_error: None,
        code_length: state.settings.codes.account_length,
        channels: super::code_channels(state, lang, to, channels),
        resend_action: "/continue/resend",
        challenge: None,
    }
}

pub async fn get_verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
) -> Result<HttpResponse, WebError> {
    let Some((to, resend_after, channels)) = code_sent(&session) else {
        return Ok(see_other(START));
    };
    let view = verify_view(&state, lang, &session, &to, resend_after, &channels);
    let response = botcheck::render_form(&req, &state, &session, StatusCode::OK, view).await?;
    session.respond(&state, response).await
}

pub async fn post_verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    mut session: BrowserSession,
    form: web::Form<VerifyForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let Some((to, resend_after, channels)) = code_sent(&session) else {
        return start_over(&req, &state, lang, session).await;
    };
    let mut view = verify_view(&state, lang, &session, &to, resend_after, &channels);
    let code = match VerificationCode::parse(&form.code) {
        Ok(code) => code,
        Err(e) => {
            view.code_error = Some(lang.t(e.message_key()));
            let response = botcheck::render_form(
                &req,
                &state,
                &session,
                StatusCode::UNPROCESSABLE_ENTITY,
                view,
            )
            .await?;
            return session.respond(&state, response).await;
        }
    };
    let browser = BrowserTag::new(session.0.csrf_token());
    let verified =
        continue_with::verify(&state.account, &to, &code, session.client(), &browser).await?;
    let (status, notice, unlock) = match verified {
        Ok(Verified::SignIn(account, methods)) => {
            session.sign_in(&state, account.id, methods).await?;
            let next = super::login::after_sign_in(&session);
            return session.respond(&state, see_other(next)).await;
        }
        Ok(Verified::NoAccount(proven)) => {
            session.0.prove_contact(
                proven.to().canonical().to_owned(),
                proven.until(),
                proven.via(),
            );
            return session.respond(&state, see_other(CREATE)).await;
        }
        Err(rejected) => {
            view.code_error = Some(code_rejected_message(lang, rejected));
            let response = botcheck::render_form(
                &req,
                &state,
                &session,
                StatusCode::UNPROCESSABLE_ENTITY,
                view,
            )
            .await?;
            return session.respond(&state, response).await;
        }
        // Said only now that the person proved the contact.
        Ok(Verified::Locked) => (StatusCode::OK, "login-locked", Some(to.canonical())),
        Ok(Verified::Disabled) => (StatusCode::FORBIDDEN, "login-disabled", None),
    };
    session.0.set_continue_with(None);
    let mut view = start_view(lang, &session, to.canonical());
    view.notice = Some(lang.t(notice));
    view.unlock = unlock.map(str::to_owned);
    let response = botcheck::render_form(&req, &state, &session, status, view).await?;
    session.respond(&state, response).await
}

pub async fn post_resend(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    mut session: BrowserSession,
    form: web::Form<super::ResendForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let Some((to, resend_after, channels)) = code_sent(&session) else {
        return start_over(&req, &state, lang, session).await;
    };
    let back = botcheck::Return {
        action: "/continue/resend",
        page: VERIFY,
        identifier: None,
        channel: form.channel,
    };
    let ask = Ask(&req, &state, lang, &form.bot_check, back);
    match send_code(ask, &mut session, &to, form.channel).await? {
        Ok(()) => session.respond(&state, see_other(VERIFY)).await,
        Err(NotSent::Wait(response)) => session.respond(&state, response).await,
        Err(NotSent::Key(key)) if key == botcheck::Blocked::REFUSED_KEY => {
            let mut view = verify_view(&state, lang, &session, &to, resend_after, &channels);
            view.resend_note = Some(lang.t(key));
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            let response = botcheck::render_form(&req, &state, &session, status, view).await?;
            session.respond(&state, response).await
        }
        // The number was served when the code was first asked for, and no longer is.
        Err(NotSent::Key(_)) => start_over(&req, &state, lang, session).await,
    }
}

fn create_view(lang: Lang, session: &BrowserSession, proven: &ProvenContact) -> CreateView {
    CreateView {
        page: Page::new(lang, session.0.csrf_token(), CREATE),
        proven: lang.t_args("continue-create-lead", &[("to", proven.to().masked())]),
        name: String::new(),
        name_error: None,
        password_error: None,
    }
}

pub async fn get_create(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
) -> Result<HttpResponse, WebError> {
    let now = state.clock.now();
    let Some(proven) = ProvenContact::from_session(session.0.continue_with(), now) else {
        return Ok(see_other(START));
    };
    let response = render(&req, StatusCode::OK, create_view(lang, &session, &proven));
    session.respond(&state, response).await
}

pub async fn post_create(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    mut session: BrowserSession,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let now = state.clock.now();
    let Some(proven) = ProvenContact::from_session(session.0.continue_with(), now) else {
        return start_over(&req, &state, lang, session).await;
    };
    let mut view = create_view(lang, &session, &proven);
    let form = form.into_inner();
    view.name = form.name.chars().take(64).collect();
    let message = |e: ParseError| Some(lang.t(e.message_key()));
    let name = DisplayName::parse(&form.name).map_err(|e| view.name_error = message(e));
    // Both password fields empty: no password; the account signs in with codes.
    let password = if form.password.is_empty() && form.password_confirm.is_empty() {
        Ok(None)
    } else {
        NewPassword::parse(form.password, &form.password_confirm)
            .map(Some)
            .map_err(|e| view.password_error = message(e))
    };
    let (Ok(name), Ok(password)) = (name, password) else {
        let response = render(&req, StatusCode::UNPROCESSABLE_ENTITY, view);
        return session.respond(&state, response).await;
    };
    let to = proven.to().canonical().to_owned();
    match continue_with::create(&state.account, proven, name, password, session.client()).await? {
        Created::SignUp(account, methods) => {
            session.sign_in(&state, account.id, methods).await?;
            let next = super::login::after_sign_in(&session);
            session.respond(&state, see_other(next)).await
        }
        Created::AlreadyRegistered => {
            session.0.set_continue_with(None);
            let mut view = start_view(lang, &session, &to);
            view.notice = Some(lang.t("continue-exists"));
            let response = render(&req, StatusCode::OK, view);
            session.respond(&state, response).await
        }
    }
}
