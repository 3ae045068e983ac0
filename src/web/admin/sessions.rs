//! `/admin/sessions`: the live sessions, newest first, filtered by account ID or app
//! (client_id), a page at a time, each with "end". The work is `admin::sessions`'.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{
    AdminUser, Nav,
    api::{decode_cursor, encode_cursor},
};
use crate::{
    admin::sessions::{self, Filter, SessionError},
    domain::{AccountId, ClientId},
    session::devices::describe_browser,
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError,
        page::{render, see_other},
    },
};

const SECTION: &str = "/admin/sessions";
const PAGE_SIZE: u32 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/sessions").get(get_sessions))
        .service(web::resource("/sessions/end").post(post_end));
}

struct Row {
    sid: String,
    account_id: String,
    browser: String,
    address: String,
    signed_in: String,
    last_active: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/sessions.html")]
struct SessionsView {
    page: Page,
    nav: Nav,
    account: String,
    client: String,
    sessions: Vec<Row>,
    next: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct SessionsQuery {
    account: Option<String>,
    client: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
}

fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub async fn get_sessions(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    _admin: AdminUser,
    query: web::Query<SessionsQuery>,
) -> Result<HttpResponse, WebError> {
    let nav = Nav::new(SECTION).done(lang, query.done.as_deref());
    let account_text = query.account.as_deref().unwrap_or_default().trim();
    let client_text = query.client.as_deref().unwrap_or_default().trim();
    let mut error = None;
    let account = match account_text {
        "" => None,
        raw => match raw.parse::<AccountId>() {
            Ok(id) => Some(id),
            Err(_) => {
                error = Some("admin-accounts-bad-id");
                None
            }
        },
    };
    let client = match client_text {
        "" => None,
        raw => match ClientId::parse(raw) {
            Some(id) => Some(id),
            None => {
                error = Some("admin-sessions-bad-client");
                None
            }
        },
    };
    let cursor = match query.cursor.as_deref().map(decode_cursor).transpose() {
        Ok(c) => c,
        Err(_) => {
            error = Some("admin-accounts-bad-cursor");
            None
        }
    };
    let mut view = SessionsView {
        page: Page::new(lang, session.0.csrf_token(), SECTION),
        nav,
        account: account_text.chars().take(32).collect(),
        client: client_text.chars().take(128).collect(),
        sessions: Vec::new(),
        next: None,
        error: None,
    };
    if let Some(key) = error {
        view.error = Some(lang.t(key));
        return session
            .respond(&state, render(&req, StatusCode::BAD_REQUEST, view))
            .await;
    }
    let filter = Filter { account, client };
    let page = match sessions::list(&state.admin, &filter, cursor.as_deref(), PAGE_SIZE).await {
        Ok(page) => page,
        Err(SessionError::BadCursor) => {
            view.error = Some(lang.t("admin-accounts-bad-cursor"));
            return session
                .respond(&state, render(&req, StatusCode::BAD_REQUEST, view))
                .await;
        }
        Err(e) => return Err(WebError::Unavailable(e.to_string())),
    };
    view.next = page.next.as_deref().map(|next| {
        format!(
            "{SECTION}?account={}&client={}&cursor={}",
            enc(&view.account),
            enc(&view.client),
            encode_cursor(next)
        )
    });
    view.sessions = page
        .sessions
        .into_iter()
        .map(|s| Row {
            account_id: s.account_id.to_string(),
            browser: describe_browser(&s.browser, lang),
            address: s.address.unwrap_or_default(),
            signed_in: when(s.signed_in_at),
            last_active: when(s.last_active_at),
            sid: s.sid,
        })
        .collect();
    session
        .respond(&state, render(&req, StatusCode::OK, view))
        .await
}

#[derive(Deserialize)]
pub struct EndForm {
    csrf: String,
    sid: String,
}

/// Ends one session: its browser is signed out and its apps are told.
pub async fn post_end(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    admin: AdminUser,
    form: web::Form<EndForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    match sessions::end(&state.admin, &admin.actor, &state.session, &form.sid).await {
        Ok(_) => Ok(see_other(&format!(
            "{SECTION}?done=admin-done-session-ended"
        ))),
        Err(SessionError::NotFound) => {
            let view = SessionsView {
                page: Page::new(lang, session.0.csrf_token(), SECTION),
                nav: Nav::new(SECTION),
                account: String::new(),
                client: String::new(),
                sessions: Vec::new(),
                next: None,
                error: Some(lang.t("admin-sessions-not-found")),
            };
            session
                .respond(&state, render(&req, StatusCode::NOT_FOUND, view))
                .await
        }
        Err(e) => Err(WebError::Unavailable(e.to_string())),
    }
}
