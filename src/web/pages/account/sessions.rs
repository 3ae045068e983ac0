//! Sessions and devices: where the person is signed in (browser and system, masked address,
//! when, the apps signed in through each), with "sign out" for each other session and "sign
//! out everywhere else" (a sensitive action: it needs a recent sign-in). The work is done by
//! `session::devices`.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{console_account, require_recent, signed_in};
use crate::{
    db::models::account::Account,
    i18n::Lang,
    session::devices::{self, DeviceSession, Ended, describe_browser},
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError,
        page::{render, see_other},
    },
};

const PATH: &str = "/account/sessions";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(PATH).get(get_sessions))
        .service(web::resource("/account/sessions/end").post(post_end))
        .service(web::resource("/account/sessions/end-others").post(post_end_others))
        .service(web::resource("/account/sessions/forget-browser").post(post_forget_browser));
}

/// A browser remembered for the second factor, as the page shows it.
struct RememberedRow {
    id: String,
    browser: String,
    address: Option<String>,
    /// "Remembered on ..., until ...".
    when: String,
}

/// One session as the page shows it.
struct SessionRow {
    sid: String,
    browser: String,
    address: Option<String>,
    signed_in_at: String,
    last_active: String,
    apps: Option<String>,
    current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "account/sessions.html")]
struct SessionsView {
    page: Page,
    sessions: Vec<SessionRow>,
    remembered: Vec<RememberedRow>,
    /// Another session than this one is live: "sign out everywhere else" is offered.
    others: bool,
    notice: Option<String>,
    error: Option<String>,
}

/// A time as the console shows it: to the minute, in UTC (said so).
pub(super) fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn row(lang: Lang, session: DeviceSession) -> SessionRow {
    SessionRow {
        browser: describe_browser(&session.browser, lang),
        address: session.address,
        signed_in_at: lang.t_args(
            "sessions-signed-in-at",
            &[("when", when(session.signed_in_at))],
        ),
        last_active: lang.t_args(
            "sessions-last-active",
            &[("when", when(session.last_active_at))],
        ),
        apps: (!session.apps.is_empty())
            .then(|| lang.t_args("sessions-apps", &[("app", session.apps.join(", "))])),
        current: session.current,
        sid: session.sid,
    }
}

/// How the page answers.
enum Answer {
    /// 200, with what was just done, if anything.
    Listed(Option<&'static str>),
    /// 404: the session asked for is not one of this account's live sessions.
    NotFound,
}

async fn show(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    session: BrowserSession,
    account: &Account,
    answer: Answer,
) -> Result<HttpResponse, WebError> {
    let (status, notice, error) = match answer {
        Answer::Listed(done) => (StatusCode::OK, done.map(|key| lang.t(key)), None),
        Answer::NotFound => (
            StatusCode::NOT_FOUND,
            None,
            Some(lang.t("console-not-found")),
        ),
    };
    let current = session.0.signed_in().map(|s| s.sid.clone());
    let listed = devices::list(&state.session, account.id, current.as_deref()).await?;
    let others = listed.iter().any(|s| !s.current);
    let remembered = devices::remembered(&state.session, account.id).await?;
    let view = SessionsView {
        page: Page::new(lang, session.0.csrf_token(), PATH),
        sessions: listed.into_iter().map(|s| row(lang, s)).collect(),
        remembered: remembered
            .into_iter()
            .map(|r| RememberedRow {
                browser: describe_browser(&r.browser, lang),
                address: r.address,
                when: lang.t_args(
                    "sessions-remembered-when",
                    &[("since", when(r.remembered_at)), ("until", when(r.until))],
                ),
                id: r.id,
            })
            .collect(),
        others,
        notice,
        error,
    };
    let response = render(req, status, view);
    session.respond(state, response).await
}

#[derive(Deserialize)]
pub struct SessionsQuery {
    done: Option<String>,
}

pub async fn get_sessions(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    query: web::Query<SessionsQuery>,
) -> Result<HttpResponse, WebError> {
    let (account, session) = match console_account(&state, session).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let done = match query.done.as_deref() {
        Some("one") => Some("sessions-ended-one"),
        Some("others") => Some("sessions-ended-others"),
        Some("forgotten") => Some("sessions-browser-forgotten"),
        _ => None,
    };
    show(&req, &state, lang, session, &account, Answer::Listed(done)).await
}

#[derive(Deserialize)]
pub struct EndForm {
    csrf: String,
    sid: String,
}

/// Signs one session out; this browser's own is a plain sign-out.
pub async fn post_end(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<EndForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let (account, session) = match console_account(&state, session).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    if signed_in(&session).is_some_and(|s| s.sid == form.sid) {
        return session.end(&state, see_other("/login")).await;
    }
    let ended = devices::end_one(&state.session, account.id, &form.sid, session.client())
        .await
        .map_err(|e| WebError::Unavailable(e.to_string()))?;
    match ended {
        Ended::Ended => {
            session
                .respond(&state, see_other(&format!("{PATH}?done=one")))
                .await
        }
        Ended::NotFound => show(&req, &state, lang, session, &account, Answer::NotFound).await,
    }
}

#[derive(Deserialize)]
pub struct EndOthersForm {
    csrf: String,
}

/// Signs out every session but this browser's, after a recent sign-in.
pub async fn post_end_others(
    state: web::Data<AppState>,
    session: BrowserSession,
    form: web::Form<EndOthersForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let (account, session) = match console_account(&state, session).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let Some(me) = signed_in(&session) else {
        return Ok(see_other("/login"));
    };
    if let Some(confirm) = require_recent(&state, &me, PATH) {
        return session.respond(&state, confirm).await;
    }
    devices::end_others(&state.session, account.id, &me.sid, session.client())
        .await
        .map_err(|e| WebError::Unavailable(e.to_string()))?;
    session
        .respond(&state, see_other(&format!("{PATH}?done=others")))
        .await
}

#[derive(Deserialize)]
pub struct ForgetForm {
    csrf: String,
    id: String,
}

/// Forgets one remembered browser: its next sign-in asks for the second factor again. Not a
/// sensitive change (it only ever asks for more), so no recent sign-in is needed.
pub async fn post_forget_browser(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<ForgetForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let (account, session) = match console_account(&state, session).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    match devices::forget_remembered(&state.session, account.id, &form.id, session.client()).await?
    {
        Ended::Ended => {
            session
                .respond(&state, see_other(&format!("{PATH}?done=forgotten")))
                .await
        }
        Ended::NotFound => show(&req, &state, lang, session, &account, Answer::NotFound).await,
    }
}
