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
    account::{
        passkeys::{self as account_passkeys, AccountStart, PasskeyOutcome},
        second_factor::{self, Answer, Checked, SECOND_FACTOR_AMR, remembered},
    },
    domain::{Acr, RecoveryCode, TotpCode},
    i18n::Lang,
    session::PendingSecondFactor,
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError,
        page::{render, see_other},
        pages::passkeys,
    },
};

/// The step's page.
pub const PATH: &str = "/sign-in/second-factor";

/// The passkey ceremony of the step (JSON, see `pages::passkeys` for the shapes).
const PASSKEY_START: &str = "/sign-in/second-factor/passkey/start";
const PASSKEY_FINISH: &str = "/sign-in/second-factor/passkey/finish";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(PATH)
            .get(get_second_factor)
            .post(post_second_factor),
    )
    .service(
        web::resource(PASSKEY_START)
            .app_data(passkeys::json_config())
            .post(post_passkey_start),
    )
    .service(
        web::resource(PASSKEY_FINISH)
            .app_data(passkeys::json_config())
            .post(post_passkey_finish),
    );
}

/// Where a step-up goes once passed: the places that may ask for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// The app's authorization request waiting in this session.
    AuthorizeResume,
    /// The admin console.
    Admin,
}

impl Then {
    fn path(self) -> &'static str {
        match self {
            Self::AuthorizeResume => "/authorize/resume",
            Self::Admin => "/admin",
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
/// the browser goes on to `then`. `need` is what the step must reach: any second factor for
/// `2fa`, a passkey for `phr`; `NoMethod` when the account has nothing that reaches it.
pub(crate) async fn ask_second_factor(
    state: &AppState,
    session: &mut BrowserSession,
    need: Acr,
    then: Then,
) -> Result<SecondFactorAsk, WebError> {
    let Some(signed_in) = session.0.signed_in().cloned() else {
        return Ok(SecondFactorAsk::NoMethod);
    };
    let account = signed_in.account_id;
    let methods = second_factor::methods(&state.account, account).await?;
    if !methods.reaches(need) || (need == Acr::PhishingResistant && !passkeys::available(state)) {
        return Ok(SecondFactorAsk::NoMethod);
    }
    let then = Some(then.path().to_owned());
    session.park_second_factor(state, account, signed_in.amr, then, need);
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
    offer: Offer,
    /// The passkey ceremony's endpoints, for the passkey script.
    passkey_start: &'static str,
    passkey_finish: &'static str,
}

/// The ways this step offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Offer {
    /// The code forms: the authenticator app's (when the account has one) and the recovery
    /// codes'. Not for a step that must reach `phr`: a code is not phishing-resistant.
    codes: bool,
    /// The account has an authenticator app.
    app: bool,
    /// "Use a passkey" (the account has one, and the deployment offers passkeys).
    passkey: bool,
}

/// What the step of `pending` offers.
async fn offer(state: &AppState, pending: &PendingSecondFactor) -> Result<Offer, WebError> {
    let methods = second_factor::methods(&state.account, pending.account_id).await?;
    Ok(Offer {
        codes: pending.need < Acr::PhishingResistant,
        app: methods.authenticator_app,
        passkey: methods.passkeys > 0 && passkeys::available(state),
    })
}

/// Renders the step's page; with the passkey script (and the CSP that allows it) when a
/// passkey is offered.
fn render_step(req: &HttpRequest, status: StatusCode, view: SecondFactorView) -> HttpResponse {
    let with_script = view.offer.passkey;
    let mut response = render(req, status, view);
    if with_script {
        passkeys::allow_script(&mut response);
    }
    response
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
    offer: Offer,
    recovery: bool,
    error: Option<String>,
) -> SecondFactorView {
    SecondFactorView {
        page: Page::new(lang, session.0.csrf_token(), PATH),
        // Without an authenticator app, the code the person can type is a recovery code.
        recovery: recovery || !offer.app,
        remember_label: remembered::offered(&state.account).then(|| {
            let days = state.settings.second_factor.remember_browser_days;
            lang.t_args("second-factor-remember", &[("days", days.to_string())])
        }),
        error,
        offer,
        passkey_start: PASSKEY_START,
        passkey_finish: PASSKEY_FINISH,
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
    let Some(pending) = live_pending(&state, &mut session) else {
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
    };
    let recovery = query.with.as_deref() == Some("recovery");
    let offer = offer(&state, &pending).await?;
    let page = view(&state, lang, &session, offer, recovery, None);
    let response = render_step(&req, StatusCode::OK, page);
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
    let offer = offer(&state, &pending).await?;
    if !offer.codes {
        // This step takes a passkey only; the form was not on its page.
        return Ok(HttpResponse::BadRequest().finish());
    }
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
            let page = view(&state, lang, &session, offer, recovery, error);
            let response = render_step(&req, StatusCode::UNPROCESSABLE_ENTITY, page);
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
            let amr = combined_amr(&pending.amr, &SECOND_FACTOR_AMR);
            let next = passed(
                &state,
                &mut session,
                &pending,
                &amr,
                form.remember.is_some(),
            )
            .await?;
            return session.respond(&state, see_other(&next)).await;
        }
        Checked::Wrong => {
            let key = if recovery {
                "second-factor-wrong-recovery"
            } else {
                "second-factor-wrong-code"
            };
            let page = view(&state, lang, &session, offer, recovery, Some(lang.t(key)));
            let response = render_step(&req, StatusCode::UNPROCESSABLE_ENTITY, page);
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

/// The second factor passed: signs in for real with `amr` (the first factor's methods and the
/// second factor's), remembers the browser when asked, and says where to go on.
async fn passed(
    state: &AppState,
    session: &mut BrowserSession,
    pending: &PendingSecondFactor,
    amr: &[&str],
    remember: bool,
) -> Result<String, WebError> {
    let account = pending.account_id;
    session.complete_sign_in(state, account, amr).await?;
    tracing::info!(account_id = %account, "second factor passed; signed in");
    if remember && remembered::offered(&state.account) {
        let device = session.device_digest(account);
        remembered::remember(&state.account, account, &device, session.client()).await?;
    }
    Ok(match &pending.then {
        Some(path) => path.clone(),
        None => super::login::after_sign_in(session).to_owned(),
    })
}

/// The first factor's methods, then the second factor's, each once, order kept.
fn combined_amr<'a>(first: &'a [String], second: &[&'a str]) -> Vec<&'a str> {
    let mut amr: Vec<&str> = Vec::with_capacity(first.len() + second.len());
    for method in first
        .iter()
        .map(String::as_str)
        .chain(second.iter().copied())
    {
        if !amr.contains(&method) {
            amr.push(method);
        }
    }
    amr
}

#[derive(Deserialize)]
pub struct PasskeyStartBody {
    csrf: String,
}

/// Starts the step's passkey ceremony: an assertion by one of the pending account's passkeys.
pub async fn post_passkey_start(
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    mut session: BrowserSession,
    body: web::Json<PasskeyStartBody>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&body.csrf)?;
    let Some(pending) = live_pending(&state, &mut session) else {
        let response = step_over(lang);
        return session.respond(&state, response).await;
    };
    let browser = passkeys::browser_of(&session);
    let started = account_passkeys::start_for_account(
        &state.account,
        pending.account_id,
        &browser,
        session.client(),
    )
    .await;
    let response = match started {
        Ok(AccountStart::Options(options)) => HttpResponse::Ok().json(options),
        Ok(AccountStart::NoPasskey) => passkeys::unavailable(lang),
        Err(e) => passkeys::service_refusal(lang, e)?,
    };
    session.respond(&state, response).await
}

#[derive(Deserialize)]
pub struct PasskeyFinishBody {
    csrf: String,
    credential: webauthn_rs::prelude::PublicKeyCredential,
}

/// Finishes the step with a passkey of the pending account: signed in with the first factor's
/// methods and the passkey's (`hwk`/`swk`, `user`, `mfa`), which makes the sign-in
/// phishing-resistant (`phr`).
pub async fn post_passkey_finish(
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    mut session: BrowserSession,
    body: web::Json<PasskeyFinishBody>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&body.csrf)?;
    let Some(pending) = live_pending(&state, &mut session) else {
        let response = step_over(lang);
        return session.respond(&state, response).await;
    };
    let browser = passkeys::browser_of(&session);
    let outcome = account_passkeys::finish_for_account(
        &state.account,
        pending.account_id,
        &body.credential,
        &browser,
        session.client(),
    )
    .await?;
    let response = match outcome {
        PasskeyOutcome::SignedIn { amr: methods, .. } => {
            let amr = combined_amr(&pending.amr, methods);
            let next = passed(&state, &mut session, &pending, &amr, false).await?;
            HttpResponse::Ok().json(serde_json::json!({ "redirect": next }))
        }
        PasskeyOutcome::Failed(failure) => passkeys::failure_refusal(lang, failure),
    };
    session.respond(&state, response).await
}

/// The JSON answer when no step is waiting (lapsed, or finished in another tab).
fn step_over(lang: Lang) -> HttpResponse {
    passkeys::refusal(StatusCode::GONE, "expired", lang.t("second-factor-over"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_factor_adds_otp_and_mfa_once_in_order() {
        let amr = |first: &[&str]| {
            let first: Vec<String> = first.iter().map(|m| (*m).to_owned()).collect();
            combined_amr(&first, &SECOND_FACTOR_AMR)
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(amr(&["pwd"]), ["pwd", "otp", "mfa"]);
        assert_eq!(amr(&["otp", "sms"]), ["otp", "sms", "mfa"]);
        assert_eq!(amr(&["pwd", "otp", "mfa"]), ["pwd", "otp", "mfa"]);
        // A passkey after a password.
        let first = vec!["pwd".to_owned()];
        assert_eq!(
            combined_amr(&first, &["swk", "user", "mfa"]),
            ["pwd", "swk", "user", "mfa"]
        );
    }
}
