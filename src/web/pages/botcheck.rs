//! The bot check on the pages whose forms send a code to a typed contact (sign-up, sign-in
//! with a code, reset, unlock, and their "send a new code"): the challenge and its script on
//! the form, the script allowed by its hash in those pages' CSP only, and the wait page shown
//! without JavaScript. The decision itself is `account::botcheck::check_code_request`.

use std::sync::LazyLock;

use actix_web::{
    HttpRequest, HttpResponse, Responder,
    body::BoxBody,
    http::{StatusCode, header},
};
use askama::Template;
use askama_web::WebTemplate;

use crate::{
    account::botcheck::{self, Answer, NotPassed},
    domain::ContactIdentifier,
    i18n::Lang,
    notify::Channel,
    state::AppState,
    web::{BrowserSession, Page, WebError, middleware::page_csp_with_script, page::render},
};

/// The script that solves the challenge, inlined in the page.
///
/// Inline rather than a file under `/static`: CSP Level 2 hash sources allow an inline script
/// in every current browser, while allowing an external script by its hash needs CSP Level 3
/// with Subresource Integrity, which not every browser honours (and a long-cached file would
/// stop matching a changed page's hash). It is about 2 KiB, on five pages.
pub const SCRIPT: &str = include_str!("../../../static/botcheck.js");

/// The page CSP plus exactly this script, by its hash. Computed once from the script's bytes
/// (a constant of the binary, not a setting), so the hash cannot drift from the script.
static CSP_WITH_SCRIPT: LazyLock<String> = LazyLock::new(|| page_csp_with_script(SCRIPT));

/// The CSP of a page that carries the bot-check script.
pub fn csp_with_script() -> &'static str {
    &CSP_WITH_SCRIPT
}

/// The challenge a code-request form carries (ALTCHA's JSON), or `None` when the check is
/// off.
async fn challenge(state: &AppState, session: &BrowserSession) -> Result<Option<String>, WebError> {
    Ok(botcheck::challenge(&state.account, session.client()).await?)
}

/// A page view with a code-request form: where its challenge goes.
pub(crate) trait FormView: Responder<Body = BoxBody> {
    fn challenge_slot(&mut self) -> &mut Option<String>;
}

/// Renders a page with a code-request form: a fresh challenge in the view and, when there is
/// one, the bot-check script allowed in this page's CSP. Every other page keeps the
/// script-free CSP.
pub(crate) async fn render_form(
    req: &HttpRequest,
    state: &AppState,
    session: &BrowserSession,
    status: StatusCode,
    mut view: impl FormView,
) -> Result<HttpResponse, WebError> {
    let challenge = challenge(state, session).await?;
    let with_script = challenge.is_some();
    *view.challenge_slot() = challenge;
    let mut response = render(req, status, view);
    if with_script {
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static(csp_with_script()),
        );
    }
    Ok(response)
}

/// The bot-check fields of a code-request form: the script's solution, or the wait page's
/// ticket.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Fields {
    #[serde(default)]
    pub altcha: Option<String>,
    #[serde(default)]
    pub ticket: Option<String>,
}

/// Why a code request stopped at the bot check.
pub(crate) enum Blocked {
    /// No solution: the wait page, to send as it is.
    Wait(HttpResponse),
    /// Refused (forged, reused, expired, too easy): the form again, with the message.
    Refused,
}

impl Blocked {
    /// The message key the form shows for a refusal.
    pub(crate) const REFUSED_KEY: &'static str = "bot-check-refused";
}

/// Why no code was asked for: a message for the form, or the bot check's wait page to send as
/// it is. The answer of every code-request page's one sending path.
pub(crate) enum NotSent {
    Key(&'static str),
    Wait(HttpResponse),
}

impl From<Blocked> for NotSent {
    fn from(blocked: Blocked) -> Self {
        match blocked {
            Blocked::Wait(response) => Self::Wait(response),
            Blocked::Refused => Self::Key(Blocked::REFUSED_KEY),
        }
    }
}

/// What a code request carries besides its contact: the request, the application, the
/// language, the form's bot-check fields and where its wait page returns to.
pub(crate) struct Ask<'a>(
    pub &'a HttpRequest,
    pub &'a AppState,
    pub Lang,
    pub &'a Fields,
    pub Return<'a>,
);

impl Ask<'_> {
    /// [`check`] for this request: `Err` is what to answer instead of sending.
    pub(crate) async fn check(
        self,
        session: &BrowserSession,
        to: &ContactIdentifier,
    ) -> Result<Result<(), NotSent>, WebError> {
        let Ask(req, state, lang, fields, back) = self;
        Ok(check(req, state, lang, session, to, fields, back)
            .await?
            .map_err(NotSent::from))
    }
}

/// Where the wait page sends the person back to: the form's address, the page that shows the
/// form (where its language switcher leads), and the contact they typed (none for "send a new
/// code", whose contact is in the session).
pub(crate) struct Return<'a> {
    pub action: &'static str,
    pub page: &'static str,
    pub identifier: Option<&'a str>,
    /// The channel a "send it on WhatsApp instead" asked for, kept through the wait.
    pub channel: Option<Channel>,
}

/// The check before a code goes to `to`, for any code-request form.
pub(crate) async fn check(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    session: &BrowserSession,
    to: &ContactIdentifier,
    fields: &Fields,
    back: Return<'_>,
) -> Result<Result<(), Blocked>, WebError> {
    let answer = Answer::from_form(fields.altcha.as_deref(), fields.ticket.as_deref());
    let checked =
        botcheck::check_code_request(&state.account, to, session.client(), &answer).await?;
    Ok(match checked {
        Ok(()) => Ok(()),
        Err(NotPassed::Refused(_)) => Err(Blocked::Refused),
        Err(NotPassed::Wait { ticket, seconds }) => {
            let view = WaitView {
                page: Page::new(lang, session.0.csrf_token(), back.page),
                text: lang.t_args("bot-check-wait-text", &[("seconds", seconds.to_string())]),
                action: back.action,
                identifier: back.identifier.map(|i| i.chars().take(254).collect()),
                channel: back.channel.map(Channel::as_str),
                ticket,
            };
            Err(Blocked::Wait(render(req, StatusCode::OK, view)))
        }
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "bot_check_wait.html")]
struct WaitView {
    page: Page,
    text: String,
    action: &'static str,
    identifier: Option<String>,
    channel: Option<&'static str>,
    ticket: String,
}
