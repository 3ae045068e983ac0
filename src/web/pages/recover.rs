//! Sign-in with a code (`/login/code`), password reset (`/reset`) and unlock (`/unlock`): each
//! asks for the phone or email and sends a code; `/recover/verify` takes it (and, for a reset,
//! the new password). See `account::recovery` for why the pages look the same whether or not
//! an account exists.

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
        recovery::{self, Completion, Recovered},
    },
    domain::{CodePurpose, ContactIdentifier, NewPassword, ParseError, VerificationCode},
    i18n::Lang,
    notify::Channel,
    session::PendingRecovery,
    state::AppState,
    web::{BrowserSession, Page, RequestLang, WebError, page::see_other},
};

/// The page texts and address of each purpose.
#[derive(Clone, Copy)]
struct Flow(CodePurpose);

impl Flow {
    fn path(self) -> &'static str {
        match self.0 {
            CodePurpose::Reset => "/reset",
            CodePurpose::Unlock => "/unlock",
            _ => "/login/code",
        }
    }

    fn key(self, part: &str) -> String {
        let name = match self.0 {
            CodePurpose::Reset => "reset",
            CodePurpose::Unlock => "unlock",
            _ => "code-login",
        };
        format!("{name}-{part}")
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "recover_start.html")]
struct StartView {
    page: Page,
    action: &'static str,
    title: String,
    lead: String,
    notice: Option<String>,
    identifier: String,
    error: Option<String>,
    /// The bot check's challenge for the page's script (see `pages::botcheck`).
    challenge: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "recover_verify.html")]
struct VerifyView {
    page: Page,
    title: String,
    sent_to: String,
    resend_note: Option<String>,
    start: &'static str,
    submit: String,
    /// Reset: a new password is required; unlock: offered; code sign-in: not asked.
    password: Option<bool>,
    code_error: Option<String>,
    password_error: Option<String>,
    code_length: u8,
    channels: super::CodeChannels,
    resend_action: &'static str,
    /// The bot check's challenge, for the "send a new code" form.
    challenge: Option<String>,
}

impl botcheck::FormView for StartView {
    fn challenge_slot(&mut self) -> &mut Option<String> {
        &mut self.challenge
    }
}

impl botcheck::FormView for VerifyView {
    fn challenge_slot(&mut self) -> &mut Option<String> {
        &mut self.challenge
    }
}

#[derive(Deserialize)]
pub struct IdentifierQuery {
    identifier: Option<String>,
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
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

fn start_view(
    flow: Flow,
    lang: Lang,
    session: &BrowserSession,
    identifier: &str,
    error: Option<String>,
) -> StartView {
    StartView {
        page: Page::new(lang, session.0.csrf_token(), flow.path()),
        action: flow.path(),
        title: lang.t(&flow.key("title")),
        lead: lang.t(&flow.key("lead")),
        notice: None,
        identifier: identifier.chars().take(254).collect(),
        error,
        challenge: None,
    }
}

async fn show_start(
    flow: Flow,
    req: HttpRequest,
    state: web::Data<AppState>,
    lang: Lang,
    session: BrowserSession,
    query: web::Query<IdentifierQuery>,
) -> Result<HttpResponse, WebError> {
    let identifier = query.identifier.as_deref().unwrap_or_default();
    let view = start_view(flow, lang, &session, identifier, None);
    let response = botcheck::render_form(&req, &state, &session, StatusCode::OK, view).await?;
    session.respond(&state, response).await
}

async fn submit_start(
    flow: Flow,
    req: HttpRequest,
    state: web::Data<AppState>,
    lang: Lang,
    mut session: BrowserSession,
    form: web::Form<StartForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let back = botcheck::Return {
        action: flow.path(),
        page: flow.path(),
        identifier: Some(&form.identifier),
        channel: None,
    };
    let sent = match super::parse_contact(&state, &form.identifier) {
        Ok(to) => {
            let ask = Ask(&req, &state, lang, &form.bot_check, back);
            send_code(flow, ask, &mut session, &to, None).await?
        }
        Err(key) => Err(NotSent::Key(key)),
    };
    match sent {
        Ok(()) => session.respond(&state, see_other("/recover/verify")).await,
        Err(NotSent::Wait(response)) => session.respond(&state, response).await,
        Err(NotSent::Key(key)) => {
            let view = start_view(flow, lang, &session, &form.identifier, Some(lang.t(key)));
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            let response = botcheck::render_form(&req, &state, &session, status, view).await?;
            session.respond(&state, response).await
        }
    }
}

/// The bot check, then a code to `to`: the one path of the start forms and their "send a new
/// code". `NotSent::Key` is the message key of a refusal or of a number codes do not go to.
async fn send_code(
    flow: Flow,
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
    let before = session
        .0
        .recovery()
        .filter(|p| p.to == to.canonical())
        .map(|p| p.channels.clone())
        .unwrap_or_default();
    let client = session.client();
    let requested =
        recovery::request(&state.account, flow.0, to, lang, client, &browser, prefer).await;
    let sent = match requested {
        Ok(sent) => sent,
        Err(e) => return Ok(Err(NotSent::Key(super::refusal_message(e)?))),
    };
    session.0.set_recovery(Some(PendingRecovery {
        purpose: flow.0,
        to: to.canonical().to_owned(),
        resend_after: sent.resend_after(),
        channels: super::told_channels(&sent, &before),
    }));
    Ok(Ok(()))
}

macro_rules! flow_handlers {
    ($get:ident, $post:ident, $purpose:expr) => {
        pub async fn $get(
            req: HttpRequest,
            state: web::Data<AppState>,
            RequestLang(lang): RequestLang,
            session: BrowserSession,
            query: web::Query<IdentifierQuery>,
        ) -> Result<HttpResponse, WebError> {
            show_start(Flow($purpose), req, state, lang, session, query).await
        }

        pub async fn $post(
            req: HttpRequest,
            state: web::Data<AppState>,
            RequestLang(lang): RequestLang,
            session: BrowserSession,
            form: web::Form<StartForm>,
        ) -> Result<HttpResponse, WebError> {
            submit_start(Flow($purpose), req, state, lang, session, form).await
        }
    };
}

flow_handlers!(get_code_login, post_code_login, CodePurpose::Login);
flow_handlers!(get_reset, post_reset, CodePurpose::Reset);
flow_handlers!(get_unlock, post_unlock, CodePurpose::Unlock);

/// The pending recovery's purpose and contact, or `None` when this browser asked for none.
fn pending(session: &BrowserSession) -> Option<(Flow, ContactIdentifier, PendingRecovery)> {
    let pending = session.0.recovery()?.clone();
    let to = ContactIdentifier::from_canonical(&pending.to).ok()?;
    Some((Flow(pending.purpose), to, pending))
}

fn verify_view(
    state: &AppState,
    lang: Lang,
    session: &BrowserSession,
    flow: Flow,
    to: &ContactIdentifier,
    pending: &PendingRecovery,
) -> VerifyView {
    let wait = (pending.resend_after - state.clock.now()).num_seconds();
    VerifyView {
        page: Page::new(lang, session.0.csrf_token(), "/recover/verify"),
        title: lang.t(&flow.key("title")),
        sent_to: lang.t_args("recover-sent-to", &[("to", to.masked())]),
        resend_note: (wait > 0)
            .then(|| lang.t_args("verify-resend-wait", &[("seconds", wait.to_string())])),
        start: flow.path(),
        submit: lang.t(&flow.key("submit")),
        password: match flow.0 {
            CodePurpose::Reset => Some(true),
            CodePurpose::Unlock => Some(false),
            _ => None,
        },
        code_error: None,
        password_error: None,
        code_length: state.settings.codes.account_length,
        channels: super::code_channels(state, lang, to, &pending.channels),
        resend_action: "/recover/resend",
        challenge: None,
    }
}

pub async fn get_verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
) -> Result<HttpResponse, WebError> {
    let Some((flow, to, pending)) = pending(&session) else {
        return Ok(see_other("/login"));
    };
    let view = verify_view(&state, lang, &session, flow, &to, &pending);
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
    let Some((flow, to, pending)) = pending(&session) else {
        return Ok(see_other("/login"));
    };
    let mut view = verify_view(&state, lang, &session, flow, &to, &pending);
    let message = |e: ParseError| Some(lang.t(e.message_key()));
    let form = form.into_inner();
    let code = VerificationCode::parse(&form.code).map_err(|e| view.code_error = message(e));
    let completion = match flow.0 {
        CodePurpose::Reset => NewPassword::parse(form.password, &form.password_confirm)
            .map(Completion::Reset)
            .map_err(|e| view.password_error = message(e)),
        CodePurpose::Unlock if form.password.is_empty() && form.password_confirm.is_empty() => {
            Ok(Completion::Unlock(None))
        }
        CodePurpose::Unlock => NewPassword::parse(form.password, &form.password_confirm)
            .map(|p| Completion::Unlock(Some(p)))
            .map_err(|e| view.password_error = message(e)),
        _ => Ok(Completion::SignIn),
    };
    let (Ok(code), Ok(completion)) = (code, completion) else {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        let response = botcheck::render_form(&req, &state, &session, status, view).await?;
        return session.respond(&state, response).await;
    };

    let browser = BrowserTag::new(session.0.csrf_token());
    let verified = recovery::verify(
        &state.account,
        flow.0,
        &to,
        &code,
        completion,
        session.client(),
        &browser,
    )
    .await?;
    match verified {
        Ok(Recovered::SignIn(account, methods)) => {
            session.sign_in(&state, account.id, methods).await?;
            let next = super::login::after_sign_in(&session);
            session.respond(&state, see_other(next)).await
        }
        Ok(Recovered::Locked) => {
            session.0.set_recovery(None);
            let mut view = start_view(
                Flow(CodePurpose::Unlock),
                lang,
                &session,
                to.canonical(),
                None,
            );
            view.notice = Some(lang.t("login-locked"));
            let response =
                botcheck::render_form(&req, &state, &session, StatusCode::OK, view).await?;
            session.respond(&state, response).await
        }
        Err(rejected) => {
            view.code_error = Some(code_rejected_message(lang, rejected));
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            let response = botcheck::render_form(&req, &state, &session, status, view).await?;
            session.respond(&state, response).await
        }
    }
}

pub async fn post_resend(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    mut session: BrowserSession,
    form: web::Form<super::ResendForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let Some((flow, to, pending)) = pending(&session) else {
        return Ok(see_other("/login"));
    };
    let back = botcheck::Return {
        action: "/recover/resend",
        page: "/recover/verify",
        identifier: None,
        channel: form.channel,
    };
    let ask = Ask(&req, &state, lang, &form.bot_check, back);
    match send_code(flow, ask, &mut session, &to, form.channel).await? {
        Ok(()) => session.respond(&state, see_other("/recover/verify")).await,
        Err(NotSent::Wait(response)) => session.respond(&state, response).await,
        Err(NotSent::Key(key)) if key == botcheck::Blocked::REFUSED_KEY => {
            let mut view = verify_view(&state, lang, &session, flow, &to, &pending);
            view.resend_note = Some(lang.t(key));
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            let response = botcheck::render_form(&req, &state, &session, status, view).await?;
            session.respond(&state, response).await
        }
        // The number was served when the code was first asked for, and no longer is: start over.
        Err(NotSent::Key(_)) => {
            session.0.set_recovery(None);
            session.respond(&state, see_other("/login")).await
        }
    }
}
