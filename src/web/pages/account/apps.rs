//! Connected apps: GET /account/apps lists the apps the person signed in to or allowed (name,
//! logo, what each may see, first and last use, offline access, first-party or not); POST
//! /account/apps/revoke takes one app's access back (see `account::apps::revoke`). Revoking
//! needs no re-authentication (issue 12 lists it among neither the sensitive actions), only
//! the form's CSRF token and a sign-in.
//!
//! Logos: the page's CSP allows exactly each listed app's registered logo (as the consent page
//! does for one), never a whole host; a logo that cannot be allowed on its own, or any past
//! [`LOGO_CSP_BUDGET`], is shown as the app's initial instead.

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::console_account;
use crate::{
    account::apps::{self, AppSummary, RevokeRefused},
    domain::{AccountId, ClientId},
    i18n::Lang,
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError, logo_source, oauth::scope_message_key,
        page::render, page_csp_with_images,
    },
};

/// Room in the page's CSP for logo sources, in bytes: a policy header stays small however many
/// apps are listed (and however long their logo URLs).
const LOGO_CSP_BUDGET: usize = 4096;

/// The longest `client_id` a form may carry; registered ids are far shorter.
const CLIENT_ID_MAX: usize = 128;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/account/apps").get(get_apps))
        .service(web::resource("/account/apps/revoke").post(post_revoke));
}

/// One app as the page shows it.
struct AppRow {
    client_id: String,
    name: String,
    /// The logo, when the page's CSP allows it; else `initial` stands in.
    logo: Option<String>,
    initial: String,
    scopes: Vec<String>,
    first_used: String,
    last_used: String,
    offline: bool,
    first_party: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "account/apps.html")]
struct AppsView {
    page: Page,
    apps: Vec<AppRow>,
    notice: Option<String>,
    error: Option<String>,
}

/// The page for `apps`, with its CSP (which allows exactly the logos shown).
fn apps_page(
    req: &HttpRequest,
    status: StatusCode,
    lang: Lang,
    session: &BrowserSession,
    apps: Vec<AppSummary>,
    notice: Option<String>,
    error: Option<String>,
) -> HttpResponse {
    let mut sources: Vec<String> = Vec::new();
    let mut budget = LOGO_CSP_BUDGET;
    let rows = apps
        .into_iter()
        .map(|app| {
            let logo = app.logo_url.as_ref().and_then(|url| {
                let source = logo_source(url)?;
                if !sources.contains(&source) {
                    budget = budget.checked_sub(source.len() + 1)?;
                    sources.push(source);
                }
                Some(url.to_string())
            });
            row(lang, app, logo)
        })
        .collect();
    let view = AppsView {
        page: Page::new(lang, session.0.csrf_token(), "/account/apps"),
        apps: rows,
        notice,
        error,
    };
    let mut response = render(req, status, view);
    if let Ok(csp) = header::HeaderValue::from_str(&page_csp_with_images(&sources)) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

fn row(lang: Lang, app: AppSummary, logo: Option<String>) -> AppRow {
    let day = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d").to_string();
    AppRow {
        client_id: app.client_id.to_string(),
        initial: app
            .name
            .chars()
            .find(|c| c.is_alphanumeric())
            .map(|c| c.to_uppercase().collect())
            .unwrap_or_else(|| "?".to_owned()),
        name: app.name,
        logo,
        scopes: app
            .scopes
            .iter()
            .map(|s| lang.t(scope_message_key(s)))
            .collect(),
        first_used: lang.t_args("apps-first-used", &[("when", day(app.first_used_at))]),
        last_used: lang.t_args("apps-last-used", &[("when", day(app.last_used_at))]),
        offline: app.offline_access,
        first_party: app.first_party,
    }
}

async fn load(state: &AppState, account: AccountId) -> Result<Vec<AppSummary>, WebError> {
    Ok(apps::list(&state.account, account).await?)
}

pub async fn get_apps(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
) -> Result<HttpResponse, WebError> {
    let (account, session) = match console_account(&state, session).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let apps = load(&state, account.id).await?;
    let response = apps_page(&req, StatusCode::OK, lang, &session, apps, None, None);
    session.respond(&state, response).await
}

#[derive(Deserialize)]
pub struct RevokeForm {
    csrf: String,
    client_id: String,
}

pub async fn post_revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<RevokeForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let (account, session) = match console_account(&state, session).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let (status, notice, error) = if form.client_id.len() > CLIENT_ID_MAX {
        (
            StatusCode::BAD_REQUEST,
            None,
            Some(lang.t("console-too-long")),
        )
    } else {
        match ClientId::parse(&form.client_id) {
            None => (
                StatusCode::NOT_FOUND,
                None,
                Some(lang.t("console-not-found")),
            ),
            Some(client) => {
                let revoked =
                    apps::revoke(&state.account, account.id, &client, session.client()).await?;
                match revoked {
                    Ok(revoked) => (
                        StatusCode::OK,
                        Some(lang.t_args("apps-revoked", &[("app", revoked.name)])),
                        None,
                    ),
                    Err(RevokeRefused::NotConnected) => (
                        StatusCode::NOT_FOUND,
                        None,
                        Some(lang.t("console-not-found")),
                    ),
                    Err(RevokeRefused::FirstParty) => (
                        StatusCode::FORBIDDEN,
                        None,
                        Some(lang.t("apps-first-party-refused")),
                    ),
                }
            }
        }
    };
    let apps = load(&state, account.id).await?;
    let response = apps_page(&req, status, lang, &session, apps, notice, error);
    session.respond(&state, response).await
}
