//! The second-factor step, `/sign-in/second-factor`: after the first factor of an account
//! with a second factor (parked by `BrowserSession::sign_in`), or a step-up asked for by a
//! page or app ([`ask_second_factor`]). The person types a code from their authenticator app,
//! or one of their recovery codes, and may have this browser remembered; the check is
//! `account::second_factor::check`.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::{
    account::second_factor::{self, Answer, Checked, SECOND_FACTOR_AMR, remembered},
    domain::{RecoveryCode, TotpCode},
    i18n::Lang,
    session::PendingSecondFactor,
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError,
        page::{render, see_other},
    },
};

/// The step's page.
pub const PATH: &str = "/sign-in/second-factor";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(PATH)
            .get(get_second_factor)
            .post(post_second_factor),
    );
}

/// Where a step-up goes once passed: the places that may ask for one.
#[expect(
    dead_code,
    reason = "the step-up of the authorization flow and the admin guard call it"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// The app's authorization request waiting in this session.
    AuthorizeResume,
    /// The admin console.
    Admin,
    /// The account console.
    Account,
}

impl Then {
    fn path(self) -> &'static str {
        match self {
            Self::AuthorizeResume => "/authorize/resume",
            Self::Admin => "/admin",
            Self::Account => "/account",
        }
    }
}

/// What [`ask_second_factor`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactorAsk {
    /// A step is parked: send the browser here ([`PATH`]); it comes back to the `then` asked.
    Redirect(&'static str),
    /// The account has no second factor (or nobody is signed in): nothing can be asked.
    NoMethod,
}

/// Step-up: asks the signed-in account for its second factor now, whatever this browser's
/// remembered state (a remembered browser skips the prompt at sign-in, never a step-up). The
/// step keeps the sign-in's current `amr`; when it passes, the same account is signed in again
/// (keeping its OIDC `sid`, see `session::registry::sign_in`) with `otp` and `mfa` added, and
/// the browser goes on to `then`.
#[expect(
    dead_code,
    reason = "the step-up of the authorization flow and the admin guard call it"
)]
pub(crate) async fn ask_second_factor(
    state: &AppState,
    session: &mut BrowserSession,
    then: Then,
) -> Result<SecondFactorAsk, WebError> {
    let Some(signed_in) = session.0.signed_in().cloned() else {
        return Ok(SecondFactorAsk::NoMethod);
    };
    let account = signed_in.account_id;
    if !second_factor::methods(&state.account, account).await?.any() {
        return Ok(SecondFactorAsk::NoMethod);
    }
    session.park_second_factor(state, account, signed_in.amr, Some(then.path().to_owned()));
    Ok(SecondFactorAsk::Redirect(PATH))
}

#[derive(Template, WebTemplate)]
#[template(path = "second_factor.html")]
struct SecondFactorView {
    page: Page,
    /// `true`: the recovery-code form; `false`: the authenticator-app form.
    recovery: bool,
    /// "Remember this browser for 30 days", when offered.
    remember_label: Option<String>,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "second_factor_over.html")]
struct OverView {
    page: Page,
    message: String,
    /// Offer "Unlock with a code" (the account is locked).
    locked: bool,
}

/// The pending step still good now, if any; a lapsed one is dropped.
fn live_pending(state: &AppState, session: &mut BrowserSession) -> Option<PendingSecondFactor> {
    let pending = session.0.second_factor()?.clone();
    if pending.is_live(state.clock.now()) {
        Some(pending)
    } else {
        session.0.clear_second_factor();
        None
    }
}

/// The step is over (lapsed, finished in another tab, abandoned): a page that says so and
/// offers to sign in again, or, when the browser is signed in anyway, the console.
async fn answer_over(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    session: BrowserSession,
    status: StatusCode,
    key: &str,
    locked: bool,
) -> Result<HttpResponse, WebError> {
    let view = OverView {
        page: Page::new(lang, session.0.csrf_token(), PATH),
        message: lang.t(key),
        locked,
    };
    let response = render(req, status, view);
    session.respond(state, response).await
}

fn view(
    state: &AppState,
    lang: Lang,
    session: &BrowserSession,
    recovery: bool,
    error: Option<String>,
) -> SecondFactorView {
    SecondFactorView {
        page: Page::new(lang, session.0.csrf_token(), PATH),
        recovery,
        remember_label: remembered::offered(&state.account).then(|| {
            let days = state.settings.second_factor.remember_browser_days;
            lang.t_args("second-factor-remember", &[("days", days.to_string())])
        }),
        error,
    }
}

#[derive(Deserialize)]
pub struct StepQuery {
    with: Option<String>,
}

pub async fn get_second_factor(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    mut session: BrowserSession,
    query: web::Query<StepQuery>,
) -> Result<HttpResponse, WebError> {
    if live_pending(&state, &mut session).is_none() {
        // The back button after passing, or a second tab: the sign-in is done.
        if session.0.signed_in().is_some() {
            return session.respond(&state, see_other("/account")).await;
        }
        return answer_over(
            &req,
            &state,
            lang,
            session,
            StatusCode::OK,
            "second-factor-over",
            false,
        )
        .await;
    }
    let recovery = query.with.as_deref() == Some("recovery");
    let response = render(
        &req,
        StatusCode::OK,
        view(&state, lang, &session, recovery, None),
    );
    session.respond(&state, response).await
}

/// Which form was sent; anything else fails to parse: 400.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Totp,
    Recovery,
}

#[derive(Deserialize)]
pub struct StepForm {
    csrf: String,
    kind: Kind,
    code: String,
    /// The "remember this browser" box, when ticked.
    remember: Option<String>,
}

pub async fn post_second_factor(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    mut session: BrowserSession,
    form: web::Form<StepForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let Some(pending) = live_pending(&state, &mut session) else {
        if session.0.signed_in().is_some() {
            return session.respond(&state, see_other("/account")).await;
        }
        return answer_over(
            &req,
            &state,
            lang,
            session,
            StatusCode::GONE,
            "second-factor-over",
            false,
        )
        .await;
    };
    let recovery = form.kind == Kind::Recovery;
    let answer = if recovery {
        RecoveryCode::parse(&form.code).map(Answer::RecoveryCode)
    } else {
        TotpCode::parse(&form.code).map(Answer::Totp)
    };
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => {
            let error = Some(lang.t(e.message_key()));
            let page = view(&state, lang, &session, recovery, error);
            let response = render(&req, StatusCode::UNPROCESSABLE_ENTITY, page);
            return session.respond(&state, response).await;
        }
    };
    let account = pending.account_id;
    let checked = second_factor::check(
        &state.account,
        account,
        &pending.id,
        &answer,
        session.client(),
    )
    .await?;
    let (status, key, locked) = match checked {
        Checked::Passed => {
            return passed(&state, session, pending, form.remember.is_some()).await;
        }
        Checked::Wrong => {
            let key = if recovery {
                "second-factor-wrong-recovery"
            } else {
                "second-factor-wrong-code"
            };
            let page = view(&state, lang, &session, recovery, Some(lang.t(key)));
            let response = render(&req, StatusCode::UNPROCESSABLE_ENTITY, page);
            return session.respond(&state, response).await;
        }
        Checked::TooManyTries => (
            StatusCode::TOO_MANY_REQUESTS,
            "second-factor-too-many",
            false,
        ),
        Checked::Locked => (StatusCode::FORBIDDEN, "login-locked", true),
        Checked::Gone => (StatusCode::FORBIDDEN, "second-factor-over", false),
    };
    session.0.clear_second_factor();
    answer_over(&req, &state, lang, session, status, key, locked).await
}

/// The second factor passed: signs in for real with the first factor's methods and the second
/// factor's (in order, each once), remembers the browser when asked, and goes on.
async fn passed(
    state: &AppState,
    mut session: BrowserSession,
    pending: PendingSecondFactor,
    remember: bool,
) -> Result<HttpResponse, WebError> {
    let account = pending.account_id;
    let amr = combined_amr(&pending.amr);
    session.complete_sign_in(state, account, &amr).await?;
    tracing::info!(account_id = %account, "second factor passed; signed in");
    if remember && remembered::offered(&state.account) {
        let device = session.device_digest(account);
        remembered::remember(&state.account, account, &device, session.client()).await?;
    }
    let next = match pending.then {
        Some(path) => path,
        None => super::login::after_sign_in(&session).to_owned(),
    };
    session.respond(state, see_other(&next)).await
}

/// The first factor's methods, then [`SECOND_FACTOR_AMR`], each once, order kept.
fn combined_amr(first: &[String]) -> Vec<&str> {
    let mut amr: Vec<&str> = Vec::with_capacity(first.len() + SECOND_FACTOR_AMR.len());
    for method in first
        .iter()
        .map(String::as_str)
        .chain(SECOND_FACTOR_AMR.iter().copied())
    {
        if !amr.contains(&method) {
            amr.push(method);
        }
    }
    amr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_factor_adds_otp_and_mfa_once_in_order() {
        let amr = |first: &[&str]| {
            let first: Vec<String> = first.iter().map(|m| (*m).to_owned()).collect();
            combined_amr(&first)
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(amr(&["pwd"]), ["pwd", "otp", "mfa"]);
        assert_eq!(amr(&["otp", "sms"]), ["otp", "sms", "mfa"]);
        assert_eq!(amr(&["pwd", "otp", "mfa"]), ["pwd", "otp", "mfa"]);
    }
}
