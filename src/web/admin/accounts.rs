//! `/admin/accounts`: the search box, an account's page (masked contacts with an audited
//! "reveal", status, role, created, last sign-in, sessions with "end", apps with "revoke",
//! recent events) and its actions, each a POST form. The work is `admin::users`' and
//! `admin::sessions`'.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{
    AdminUser, Nav,
    api::{
        accounts::{Action, act, understood},
        decode_cursor, encode_cursor,
    },
};
use crate::web::pages::CsrfForm;
use crate::{
    admin::{
        self,
        users::{self, AccountDetails, Contacts, SearchError, UserError},
    },
    db::models::account::{Account, AccountStatus},
    domain::{AccountId, ClientId},
    i18n::Lang,
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError,
        page::{render, see_other},
    },
};

const SECTION: &str = "/admin/accounts";
/// Results per page of a name search.
const PAGE_SIZE: u32 = 25;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/accounts").get(get_accounts))
        .service(web::resource("/accounts/{id}").get(get_account))
        .service(web::resource("/accounts/{id}/reveal").post(post_reveal))
        .service(web::resource("/accounts/{id}/action").post(post_action))
        .service(web::resource("/accounts/{id}/revoke").post(post_revoke))
        .service(web::resource("/accounts/{id}/end-session").post(post_end_session))
        .service(
            web::resource("/accounts/{id}/delete")
                .get(get_delete)
                .post(post_delete),
        );
}

/// An account in a table: contacts masked.
pub struct AccountRow {
    pub id: String,
    pub name: String,
    pub status: String,
    pub role: String,
    pub phone: String,
    pub email: String,
    pub created: String,
}

fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn status_text(lang: Lang, status: AccountStatus) -> String {
    lang.t(&format!("admin-status-{}", status.as_str()))
}

fn row(lang: Lang, a: &Account) -> AccountRow {
    AccountRow {
        id: a.id.to_string(),
        name: a.display_name.to_string(),
        status: status_text(lang, a.status),
        role: match a.role {
            Some(_) => lang.t("admin-role-admin"),
            None => "—".to_owned(),
        },
        phone: a.phone.as_ref().map(|p| p.masked()).unwrap_or_default(),
        email: a.email.as_ref().map(|e| e.masked()).unwrap_or_default(),
        created: when(a.created_at),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/accounts.html")]
struct SearchView {
    page: Page,
    nav: Nav,
    query: String,
    /// What the search box understood, in words.
    understood: Option<String>,
    accounts: Vec<AccountRow>,
    /// The next page's link.
    next: Option<String>,
    error: Option<String>,
    /// A search ran (so "no account matches" may be said).
    searched: bool,
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
}

fn understood_text(lang: Lang, u: &users::Understood) -> String {
    let (kind, value) = understood(u);
    let arg = if kind == "name" { "name" } else { "contact" };
    lang.t_args(
        &format!("admin-accounts-understood-{kind}"),
        &[(arg, value)],
    )
}

/// The search page with `error` (and `status`): for a refused search or an unknown account.
async fn search_page(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    session: BrowserSession,
    nav: Nav,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    let view = SearchView {
        page: Page::new(lang, session.0.csrf_token(), SECTION),
        nav,
        query: String::new(),
        understood: None,
        accounts: Vec::new(),
        next: None,
        error,
        searched: false,
    };
    session.respond(state, render(req, status, view)).await
}

pub async fn get_accounts(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    _admin: AdminUser,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, WebError> {
    let nav = Nav::new(SECTION).done(lang, query.done.as_deref());
    let Some(q) = query.q.as_deref().filter(|q| !q.trim().is_empty()) else {
        return search_page(&req, &state, lang, session, nav, StatusCode::OK, None).await;
    };
    let bad = |key: &str| Some(lang.t(key));
    let cursor = match query.cursor.as_deref().map(decode_cursor).transpose() {
        Ok(cursor) => cursor,
        Err(_) => {
            let error = bad("admin-accounts-bad-cursor");
            return search_page(
                &req,
                &state,
                lang,
                session,
                nav,
                StatusCode::BAD_REQUEST,
                error,
            )
            .await;
        }
    };
    let region = state.settings.default_region;
    let found = users::search(&state.admin, q, region, cursor.as_deref(), PAGE_SIZE).await;
    let page = match found {
        Ok(page) => page,
        Err(SearchError::Db(e)) => return Err(WebError::Unavailable(e.to_string())),
        Err(e) => {
            let key = match e {
                SearchError::TooLong => "admin-accounts-too-long",
                SearchError::BadCursor => "admin-accounts-bad-cursor",
                _ => "admin-accounts-empty",
            };
            return search_page(
                &req,
                &state,
                lang,
                session,
                nav,
                StatusCode::BAD_REQUEST,
                bad(key),
            )
            .await;
        }
    };
    let q_shown: String = q.chars().take(users::QUERY_MAX).collect();
    let next = page.next.as_deref().map(|next| {
        let q: String = url::form_urlencoded::byte_serialize(q_shown.as_bytes()).collect();
        format!("{SECTION}?q={q}&cursor={}", encode_cursor(next))
    });
    let view = SearchView {
        page: Page::new(lang, session.0.csrf_token(), SECTION),
        nav,
        understood: Some(understood_text(lang, &page.understood)),
        accounts: page.accounts.iter().map(|a| row(lang, a)).collect(),
        query: q_shown,
        next,
        error: None,
        searched: true,
    };
    session
        .respond(&state, render(&req, StatusCode::OK, view))
        .await
}

/// A session on the account's page.
struct SessionRow {
    sid: String,
    browser: String,
    address: String,
    signed_in: String,
    last_active: String,
}

/// An app on the account's page.
struct AppRow {
    client_id: String,
    name: String,
    scopes: String,
    last_used: String,
}

/// An audit event on the account's page.
struct EventRow {
    at: String,
    kind: String,
    outcome: String,
    detail: String,
    actor: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/account.html")]
struct AccountView {
    page: Page,
    nav: Nav,
    account: AccountRow,
    /// The contacts in full, after "reveal".
    revealed: Option<(String, String)>,
    last_sign_in: String,
    must_reset: bool,
    deleted: bool,
    /// The actions that apply to its status: (form value, button label).
    actions: Vec<(&'static str, String)>,
    sessions: Vec<SessionRow>,
    apps: Vec<AppRow>,
    events: Vec<EventRow>,
    error: Option<String>,
}

fn account_view(
    lang: Lang,
    session: &BrowserSession,
    nav: Nav,
    d: AccountDetails,
    revealed: Option<Contacts>,
    error: Option<String>,
) -> AccountView {
    let a = &d.account;
    AccountView {
        page: Page::new(lang, session.0.csrf_token(), &format!("{SECTION}/{}", a.id)),
        nav,
        account: row(lang, a),
        revealed: revealed.map(|c| {
            (
                c.phone.map(|p| p.as_e164().to_owned()).unwrap_or_default(),
                c.email.map(|e| e.as_str().to_owned()).unwrap_or_default(),
            )
        }),
        last_sign_in: d.last_sign_in.map(when).unwrap_or_else(|| "—".to_owned()),
        must_reset: a.must_reset_password,
        deleted: a.status == AccountStatus::Deleted,
        actions: actions_for(a.status, a.role.is_some())
            .iter()
            .map(|(action, key)| (*action, lang.t(key)))
            .collect(),
        sessions: d
            .sessions
            .into_iter()
            .map(|s| SessionRow {
                browser: crate::session::devices::describe_browser(&s.browser, lang),
                address: s.address.unwrap_or_default(),
                signed_in: when(s.signed_in_at),
                last_active: when(s.last_active_at),
                sid: s.sid,
            })
            .collect(),
        apps: d
            .apps
            .into_iter()
            .map(|app| AppRow {
                client_id: app.client_id.to_string(),
                scopes: app
                    .scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                name: app.name,
                last_used: when(app.last_used_at),
            })
            .collect(),
        events: d
            .events
            .into_iter()
            .map(|e| EventRow {
                at: when(e.at),
                kind: e.kind,
                outcome: e.outcome,
                detail: e.detail.unwrap_or_default(),
                actor: e.actor.unwrap_or_default(),
            })
            .collect(),
        error,
    }
}

/// The buttons an account in `status` gets: lock or unlock, disable or enable, and the rest.
fn actions_for(status: AccountStatus, admin: bool) -> Vec<(&'static str, &'static str)> {
    let mut actions = Vec::with_capacity(6);
    match status {
        AccountStatus::Active => {
            actions.push(("lock", "admin-action-lock"));
            actions.push(("disable", "admin-action-disable"));
        }
        AccountStatus::Locked => {
            actions.push(("unlock", "admin-action-unlock"));
            actions.push(("disable", "admin-action-disable"));
        }
        AccountStatus::Disabled => actions.push(("enable", "admin-action-enable")),
        AccountStatus::Deleted => return actions,
    }
    actions.push(("sign-out", "admin-action-sign-out"));
    actions.push(("require-password-reset", "admin-action-require-reset"));
    actions.push(("revoke-all", "admin-action-revoke-all"));
    actions.push(if admin {
        ("revoke-admin", "admin-action-revoke-admin")
    } else {
        ("grant-admin", "admin-action-grant-admin")
    });
    actions
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// The account named by the path, or the search page saying why not.
enum Target {
    Found(AccountId),
    Refused(StatusCode, &'static str),
}

fn target(raw: &str) -> Target {
    match raw.parse::<AccountId>() {
        Ok(id) => Target::Found(id),
        Err(_) => Target::Refused(StatusCode::BAD_REQUEST, "admin-accounts-bad-id"),
    }
}

/// Shows the account's page, or the search page with 404 when there is no such account.
#[expect(clippy::too_many_arguments)]
async fn show(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    session: BrowserSession,
    nav: Nav,
    raw_id: &str,
    revealed: Option<Contacts>,
    error: Option<(StatusCode, &'static str)>,
) -> Result<HttpResponse, WebError> {
    let id = match target(raw_id) {
        Target::Found(id) => id,
        Target::Refused(status, key) => {
            return search_page(req, state, lang, session, nav, status, Some(lang.t(key))).await;
        }
    };
    let details = match users::details(&state.admin, &state.account, id).await {
        Ok(d) => d,
        Err(UserError::NotFound(_)) => {
            let error = Some(lang.t("admin-accounts-not-found"));
            return search_page(req, state, lang, session, nav, StatusCode::NOT_FOUND, error).await;
        }
        Err(e) => return Err(WebError::Unavailable(e.to_string())),
    };
    let (status, error) = match error {
        Some((status, key)) => (status, Some(lang.t(key))),
        None => (StatusCode::OK, None),
    };
    let view = account_view(lang, &session, nav, details, revealed, error);
    session.respond(state, render(req, status, view)).await
}

pub async fn get_account(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    _admin: AdminUser,
    path: web::Path<String>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, WebError> {
    let nav = Nav::new(SECTION).done(lang, query.done.as_deref());
    show(&req, &state, lang, session, nav, &path, None, None).await
}

/// Shows the page again with the contacts in full; the reveal is audited.
pub async fn post_reveal(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    admin: AdminUser,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let nav = Nav::new(SECTION);
    let revealed = match target(&path) {
        Target::Found(id) => match users::reveal(&state.admin, &admin.actor, id).await {
            Ok(contacts) => Some(contacts),
            Err(UserError::NotFound(_)) => None,
            Err(e) => return Err(WebError::Unavailable(e.to_string())),
        },
        Target::Refused(..) => None,
    };
    show(&req, &state, lang, session, nav, &path, revealed, None).await
}

#[derive(Deserialize)]
pub struct ActionForm {
    csrf: String,
    action: String,
}

fn parse_action(action: &str) -> Option<(Action, &'static str)> {
    Some(match action {
        "lock" => (Action::Lock, "admin-done-locked"),
        "unlock" => (Action::Unlock, "admin-done-unlocked"),
        "disable" => (Action::Disable, "admin-done-disabled"),
        "enable" => (Action::Enable, "admin-done-enabled"),
        "sign-out" => (Action::SignOut, "admin-done-signed-out"),
        "require-password-reset" => (Action::RequirePasswordReset, "admin-done-reset-required"),
        "revoke-all" => (Action::RevokeAllApps, "admin-done-apps-revoked"),
        _ => return None,
    })
}

/// What a refused action shows: the status and the message.
fn refusal(e: &UserError) -> Option<(StatusCode, &'static str)> {
    match e {
        UserError::NotFound(_) => Some((StatusCode::NOT_FOUND, "admin-accounts-not-found")),
        UserError::Deleted(_) => Some((StatusCode::CONFLICT, "admin-accounts-deleted")),
        UserError::NotConnected(_) => Some((StatusCode::NOT_FOUND, "admin-accounts-not-connected")),
        _ => None,
    }
}

/// Lock, unlock, disable, enable, sign out everywhere, require a new password, revoke every
/// app: then back to the account's page saying what was done.
pub async fn post_action(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    admin: AdminUser,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let nav = Nav::new(SECTION);
    if let Some(grant) = match form.action.as_str() {
        "grant-admin" => Some(true),
        "revoke-admin" => Some(false),
        _ => None,
    } {
        return post_role(&req, &state, lang, session, &admin, &path, grant).await;
    }
    let Some((action, done)) = parse_action(&form.action) else {
        let error = Some((StatusCode::BAD_REQUEST, "admin-accounts-bad-action"));
        return show(&req, &state, lang, session, nav, &path, None, error).await;
    };
    let Target::Found(id) = target(&path) else {
        return show(&req, &state, lang, session, nav, &path, None, None).await;
    };
    match act(&state, &admin.actor, id, action).await {
        Ok(_) => Ok(see_other(&format!("{SECTION}/{id}?done={done}"))),
        Err(e) => match refusal(&e) {
            Some(error) => show(&req, &state, lang, session, nav, &path, None, Some(error)).await,
            None => Err(WebError::Unavailable(e.to_string())),
        },
    }
}

/// Grants or revokes the admin role (through `admin::roles`, which keeps the last
/// administrator).
async fn post_role(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    session: BrowserSession,
    admin: &AdminUser,
    raw_id: &str,
    grant: bool,
) -> Result<HttpResponse, WebError> {
    use crate::admin::roles::{self, RoleError};
    let nav = Nav::new(SECTION);
    let Target::Found(id) = target(raw_id) else {
        return show(req, state, lang, session, nav, raw_id, None, None).await;
    };
    let (done, result) = if grant {
        let done = "admin-done-admin-granted";
        (done, roles::grant(&state.admin, &admin.actor, id).await)
    } else {
        let done = "admin-done-admin-revoked";
        (done, roles::revoke(&state.admin, &admin.actor, id).await)
    };
    let error = match result {
        Ok(_) => return Ok(see_other(&format!("{SECTION}/{id}?done={done}"))),
        Err(RoleError::NotFound(_)) => (StatusCode::NOT_FOUND, "admin-accounts-not-found"),
        Err(RoleError::LastAdmin(_)) => (StatusCode::CONFLICT, "admin-accounts-last-admin"),
        Err(RoleError::Db(e)) => return Err(WebError::Unavailable(e.to_string())),
    };
    show(req, state, lang, session, nav, raw_id, None, Some(error)).await
}

#[derive(Deserialize)]
pub struct RevokeForm {
    csrf: String,
    client_id: String,
}

/// Revokes one app of the account.
pub async fn post_revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    admin: AdminUser,
    path: web::Path<String>,
    form: web::Form<RevokeForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let nav = Nav::new(SECTION);
    let Target::Found(id) = target(&path) else {
        return show(&req, &state, lang, session, nav, &path, None, None).await;
    };
    let Some(client) = ClientId::parse(&form.client_id) else {
        let error = Some((StatusCode::BAD_REQUEST, "admin-accounts-not-connected"));
        return show(&req, &state, lang, session, nav, &path, None, error).await;
    };
    match users::revoke_app(&state.admin, &admin.actor, &state.account, id, &client).await {
        Ok(()) => Ok(see_other(&format!(
            "{SECTION}/{id}?done=admin-done-app-revoked"
        ))),
        Err(e) => match refusal(&e) {
            Some(error) => show(&req, &state, lang, session, nav, &path, None, Some(error)).await,
            None => Err(WebError::Unavailable(e.to_string())),
        },
    }
}

#[derive(Deserialize)]
pub struct EndForm {
    csrf: String,
    sid: String,
}

/// Ends one of the account's sessions.
pub async fn post_end_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    admin: AdminUser,
    path: web::Path<String>,
    form: web::Form<EndForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let nav = Nav::new(SECTION);
    let Target::Found(id) = target(&path) else {
        return show(&req, &state, lang, session, nav, &path, None, None).await;
    };
    match admin::sessions::end(&state.admin, &admin.actor, &state.session, &form.sid).await {
        Ok(_) => Ok(see_other(&format!(
            "{SECTION}/{id}?done=admin-done-session-ended"
        ))),
        Err(admin::sessions::SessionError::NotFound) => {
            let error = Some((StatusCode::NOT_FOUND, "admin-sessions-not-found"));
            show(&req, &state, lang, session, nav, &path, None, error).await
        }
        Err(e) => Err(WebError::Unavailable(e.to_string())),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/account-delete.html")]
struct DeleteView {
    page: Page,
    nav: Nav,
    id: String,
    /// "Delete account 123456789 (Asha Devi)?"
    question: String,
}

/// The confirmation page naming the account.
pub async fn get_delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    _admin: AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let nav = Nav::new(SECTION);
    let Target::Found(id) = target(&path) else {
        return show(&req, &state, lang, session, nav, &path, None, None).await;
    };
    let found = state
        .admin
        .db
        .run(move |conn| crate::db::models::account::find_by_id(conn, id))
        .await
        .map_err(|e| WebError::Unavailable(e.to_string()))?;
    let Some(account) = found.filter(|a| a.status != AccountStatus::Deleted) else {
        return show(&req, &state, lang, session, nav, &path, None, None).await;
    };
    let view = DeleteView {
        page: Page::new(
            lang,
            session.0.csrf_token(),
            &format!("{SECTION}/{id}/delete"),
        ),
        nav,
        id: id.to_string(),
        question: lang.t_args(
            "admin-accounts-delete-question",
            &[("name", format!("{} ({id})", account.display_name))],
        ),
    };
    session
        .respond(&state, render(&req, StatusCode::OK, view))
        .await
}

/// Deletes the account as its owner could; then the search page says so.
pub async fn post_delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    admin: AdminUser,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let nav = Nav::new(SECTION);
    let Target::Found(id) = target(&path) else {
        return show(&req, &state, lang, session, nav, &path, None, None).await;
    };
    match users::delete(&state.admin, &admin.actor, &state.account, id).await {
        Ok(_) => Ok(see_other(&format!("{SECTION}?done=admin-done-deleted"))),
        Err(e) => match refusal(&e) {
            Some(error) => show(&req, &state, lang, session, nav, &path, None, Some(error)).await,
            None => Err(WebError::Unavailable(e.to_string())),
        },
    }
}
