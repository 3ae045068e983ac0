//! Recent activity: the account's own events of the last 90 days, newest first, 20 to a page,
//! in plain words with the app, the browser and the masked address. Read by `audit::activity`.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{console_account, sessions::when};
use crate::{
    audit::activity::{ActivityEntry, PageNumber},
    i18n::Lang,
    session::devices::describe_browser,
    state::AppState,
    web::{BrowserSession, Page, RequestLang, WebError, page::render},
};

const PATH: &str = "/account/activity";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(PATH).get(get_activity));
}

/// One event as the page shows it.
struct EventRow {
    what: String,
    outcome: Option<String>,
    when: String,
    app: Option<String>,
    browser: Option<String>,
    address: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "account/activity.html")]
struct ActivityView {
    page: Page,
    events: Vec<EventRow>,
    /// "Page 2": shown past the first page.
    page_label: Option<String>,
    newer: Option<String>,
    older: Option<String>,
}

fn event_row(lang: Lang, entry: ActivityEntry) -> EventRow {
    let seen_from = entry.browser.browser.is_some() || entry.browser.os.is_some();
    EventRow {
        what: lang.t(entry.phrase_key()),
        outcome: entry.outcome_key().map(|key| lang.t(key)),
        when: when(entry.at),
        app: entry
            .app
            .map(|app| lang.t_args("activity-through-app", &[("app", app)])),
        browser: seen_from.then(|| describe_browser(&entry.browser, lang)),
        address: entry.address,
    }
}

#[derive(Deserialize)]
pub struct ActivityQuery {
    page: Option<String>,
}

pub async fn get_activity(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    query: web::Query<ActivityQuery>,
) -> Result<HttpResponse, WebError> {
    let (account, session) = match console_account(&state, session).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let page = match query.page.as_deref() {
        None => PageNumber::FIRST,
        Some(raw) => match PageNumber::parse(raw) {
            Some(page) => page,
            // Past the last page, or not a page number: the friendly "not found" page.
            None => {
                return session
                    .respond(&state, HttpResponse::NotFound().finish())
                    .await;
            }
        },
    };
    let listed = state.audit.activity(account.id, page).await?;
    let n = listed.page.get();
    let view = ActivityView {
        page: Page::new(lang, session.0.csrf_token(), PATH),
        events: listed
            .entries
            .into_iter()
            .map(|e| event_row(lang, e))
            .collect(),
        page_label: (n > 1).then(|| lang.t_args("activity-page", &[("page", n.to_string())])),
        newer: (n > 1).then(|| format!("{PATH}?page={}", n - 1)),
        older: listed.has_more.then(|| format!("{PATH}?page={}", n + 1)),
    };
    let response = render(&req, StatusCode::OK, view);
    session.respond(&state, response).await
}
