//! Sign-up: `/signup` asks for a mobile number or email and sends a code; `/signup/verify`
//! takes the code, a password and a name, and creates the account.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::botcheck::{self, Ask, NotSent};
use crate::{
    account::{
        codes::{CodeRejected, Sent},
        signup::{self, SignupOutcome},
    },
    domain::{ContactIdentifier, DisplayName, NewPassword, ParseError, VerificationCode},
    i18n::Lang,
    notify::Channel,
    session::PendingSignup,
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError,
        page::{render, see_other},
    },
};

#[derive(Template, WebTemplate)]
#[template(path = "signup.html")]
struct SignupView {
    page: Page,
    identifier: String,
    error: Option<String>,
    /// The bot check's challenge for the page's script (see `pages::botcheck`).
    challenge: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "signup_verify.html")]
struct VerifyView {
    page: Page,
    sent_to: String,
    resend_note: Option<String>,
    name: String,
    code_error: Option<String>,
    password_error: Option<String>,
    name_error: Option<String>,
    code_length: u8,
    channels: super::CodeChannels,
    resend_action: &'static str,
    /// The bot check's challenge, for the "send a new code" form.
    challenge: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "signup_exists.html")]
struct ExistsView {
    page: Page,
    message: String,
}

impl botcheck::FormView for SignupView {
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
pub struct SignupForm {
    csrf: String,
    identifier: String,
    #[serde(flatten)]
    bot_check: botcheck::Fields,
}

#[derive(Deserialize)]
pub struct VerifyForm {
    csrf: String,
    code: String,
    password: String,
    password_confirm: String,
    name: String,
}

pub async fn get_signup(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
) -> Result<HttpResponse, WebError> {
    if session.0.signed_in().is_some() && session.0.interaction().is_none() {
        return Ok(see_other("/account"));
    }
    let view = SignupView {
        page: Page::new(lang, session.0.csrf_token(), "/signup"),
        identifier: String::new(),
        error: None,
        challenge: None,
    };
    let response = botcheck::render_form(&req, &state, &session, StatusCode::OK, view).await?;
    session.respond(&state, response).await
}

pub async fn post_signup(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    mut session: BrowserSession,
    form: web::Form<SignupForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let back = botcheck::Return {
        action: "/signup",
        page: "/signup",
        identifier: Some(&form.identifier),
        channel: None,
    };
    let requested = match super::parse_contact(&state, &form.identifier) {
        Ok(to) => {
            let ask = Ask(&req, &state, lang, &form.bot_check, back);
            let checked = request_checked(ask, &session, &to, None);
            checked.await?.map(|sent| (to, sent))
        }
        Err(key) => Err(NotSent::Key(key)),
    };
    let (to, sent) = match requested {
        Ok(requested) => requested,
        Err(NotSent::Wait(response)) => return session.respond(&state, response).await,
        Err(NotSent::Key(key)) => {
            let view = SignupView {
                page: Page::new(lang, session.0.csrf_token(), "/signup"),
                identifier: form.identifier.chars().take(254).collect(),
                error: Some(lang.t(key)),
                challenge: None,
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            let response = botcheck::render_form(&req, &state, &session, status, view).await?;
            return session.respond(&state, response).await;
        }
    };
    session.0.set_signup(Some(PendingSignup {
        to: to.canonical().to_owned(),
        resend_after: sent.resend_after(),
        channels: super::told_channels(&sent, &[]),
    }));
    session.respond(&state, see_other("/signup/verify")).await
}

/// The bot check, then a sign-up code to `to`: the one path of the sign-up form and its "send
/// a new code".
async fn request_checked(
    ask: Ask<'_>,
    session: &BrowserSession,
    to: &ContactIdentifier,
    prefer: Option<Channel>,
) -> Result<Result<Sent, NotSent>, WebError> {
    let (state, lang) = (ask.1, ask.2);
    if let Err(not_sent) = ask.check(session, to).await? {
        return Ok(Err(not_sent));
    }
    match signup::request_code(&state.account, to, lang, session.client(), prefer).await {
        Ok(sent) => Ok(Ok(sent)),
        Err(e) => Ok(Err(NotSent::Key(super::refusal_message(e)?))),
    }
}

/// The pending sign-up's contact, or `None` when this browser has not asked for a code.
fn pending_contact(session: &BrowserSession) -> Option<(ContactIdentifier, &PendingSignup)> {
    let pending = session.0.signup()?;
    ContactIdentifier::from_canonical(&pending.to)
        .ok()
        .map(|to| (to, pending))
}

fn verify_view(
    state: &AppState,
    lang: Lang,
    session: &BrowserSession,
    to: &ContactIdentifier,
    pending: &PendingSignup,
) -> VerifyView {
    let now = state.clock.now();
    let wait = (pending.resend_after - now).num_seconds();
    VerifyView {
        page: Page::new(lang, session.0.csrf_token(), "/signup/verify"),
        sent_to: lang.t_args("verify-sent-to", &[("to", to.masked())]),
        resend_note: (wait > 0)
            .then(|| lang.t_args("verify-resend-wait", &[("seconds", wait.to_string())])),
        name: String::new(),
        code_error: None,
        password_error: None,
        name_error: None,
        code_length: state.settings.codes.signup_length,
        channels: super::code_channels(state, lang, to, &pending.channels),
        resend_action: "/signup/resend",
        challenge: None,
    }
}

pub async fn get_verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
) -> Result<HttpResponse, WebError> {
    let Some((to, pending)) = pending_contact(&session) else {
        return Ok(see_other("/signup"));
    };
    let view = verify_view(&state, lang, &session, &to, pending);
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
    let Some((to, pending)) = pending_contact(&session) else {
        return Ok(see_other("/signup"));
    };
    let mut view = verify_view(&state, lang, &session, &to, pending);
    view.name = form.name.chars().take(64).collect();
    let message = |e: ParseError| Some(lang.t(e.message_key()));

    let form = form.into_inner();
    let code = VerificationCode::parse(&form.code).map_err(|e| view.code_error = message(e));
    let password = NewPassword::parse(form.password, &form.password_confirm)
        .map_err(|e| view.password_error = message(e));
    let name = DisplayName::parse(&form.name).map_err(|e| view.name_error = message(e));
    let (Ok(code), Ok(password), Ok(name)) = (code, password, name) else {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        let response = botcheck::render_form(&req, &state, &session, status, view).await?;
        return session.respond(&state, response).await;
    };

    match signup::complete(&state.account, to, &code, password, name, session.client()).await? {
        SignupOutcome::Created(account, proof) => {
            // The person proved the phone (by SMS or WhatsApp) or the mailbox (one-time code),
            // and chose a password.
            let method = match proof.via {
                Some(channel @ (Channel::Sms | Channel::Whatsapp)) => channel.as_str(),
                Some(Channel::Email) | None => "otp",
            };
            session
                .sign_in(&state, account.id, &[method, "pwd"])
                .await?;
            let next = super::login::after_sign_in(&session);
            session.respond(&state, see_other(next)).await
        }
        SignupOutcome::AlreadyRegistered => {
            session.0.set_signup(None);
            let view = ExistsView {
                page: Page::new(lang, session.0.csrf_token(), "/signup"),
                message: lang.t("signup-exists-text"),
            };
            let response = render(&req, StatusCode::OK, view);
            session.respond(&state, response).await
        }
        SignupOutcome::CodeRejected(rejected) => {
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
    let Some((to, pending)) = pending_contact(&session) else {
        return Ok(see_other("/signup"));
    };
    let before = pending.channels.clone();
    let back = botcheck::Return {
        action: "/signup/resend",
        page: "/signup/verify",
        identifier: None,
        channel: form.channel,
    };
    let ask = Ask(&req, &state, lang, &form.bot_check, back);
    let checked = request_checked(ask, &session, &to, form.channel);
    let sent = match checked.await? {
        Ok(sent) => sent,
        Err(NotSent::Wait(response)) => return session.respond(&state, response).await,
        Err(NotSent::Key(key)) if key == botcheck::Blocked::REFUSED_KEY => {
            let mut view = verify_view(&state, lang, &session, &to, pending);
            view.resend_note = Some(lang.t(key));
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            let response = botcheck::render_form(&req, &state, &session, status, view).await?;
            return session.respond(&state, response).await;
        }
        // The number was served when the code was first asked for, and no longer is: start over.
        Err(NotSent::Key(_)) => {
            session.0.set_signup(None);
            return session.respond(&state, see_other("/signup")).await;
        }
    };
    session.0.set_signup(Some(PendingSignup {
        to: to.canonical().to_owned(),
        resend_after: sent.resend_after(),
        channels: super::told_channels(&sent, &before),
    }));
    session.respond(&state, see_other("/signup/verify")).await
}

/// Why a typed code was refused, in the person's language.
pub(crate) fn code_rejected_message(lang: Lang, rejected: CodeRejected) -> String {
    match rejected {
        CodeRejected::Wrong { tries_left } if tries_left > 0 => {
            lang.t_args("code-wrong", &[("tries", tries_left.to_string())])
        }
        CodeRejected::Wrong { .. } | CodeRejected::Unusable => lang.t("code-unusable"),
        CodeRejected::Expired => lang.t("code-expired"),
    }
}
