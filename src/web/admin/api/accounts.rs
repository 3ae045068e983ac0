//! `/accounts`: search, look one up, reveal its contacts, act on it (lock, unlock, disable,
//! enable, sign out everywhere, require a new password), revoke its apps, delete it. Every
//! operation is `admin::users`'.

use actix_web::{HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiError, PageParams, decode_cursor, encode_cursor};
use crate::{
    admin::users::{self, AccountDetails, SearchError, Understood, UserError},
    db::models::account::Account,
    domain::{AccountId, ClientId},
    state::AppState,
    web::admin::ApiClient,
};

/// An account as a list shows it: contacts masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountEntry {
    pub account_id: i64,
    pub name: String,
    /// `active`, `locked`, `disabled` or `deleted`.
    pub status: &'static str,
    /// `admin`, or null.
    pub role: Option<&'static str>,
    /// Masked: `+91 ******3210`.
    pub phone: Option<String>,
    /// Masked: `a***@example.com`.
    pub email: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    pub must_reset_password: bool,
}

impl From<&Account> for AccountEntry {
    fn from(a: &Account) -> Self {
        Self {
            account_id: a.id.get(),
            name: a.display_name.to_string(),
            status: a.status.as_str(),
            role: a.role.map(|r| r.as_str()),
            phone: a.phone.as_ref().map(|p| p.masked()),
            email: a.email.as_ref().map(|e| e.masked()),
            created_at: a.created_at.to_rfc3339(),
            must_reset_password: a.must_reset_password,
        }
    }
}

/// A page of search results, with what the query was taken to be.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResult {
    /// `phone`, `email`, `account_id`, `phone_or_account_id` or `name`.
    pub understood_as: &'static str,
    /// The canonical form searched for (E.164, canonical email, ID, lower-cased name prefix).
    pub searched: String,
    pub items: Vec<AccountEntry>,
    pub next_cursor: Option<String>,
}

/// `?q=&cursor=&limit=`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// A phone number (any format), an email address, a 9–10 digit account ID, or the start
    /// of a name. At most 254 bytes.
    pub q: String,
    pub cursor: Option<String>,
    /// 1 to 200; default 50.
    pub limit: Option<u32>,
}

pub(in crate::web::admin) fn understood(u: &Understood) -> (&'static str, String) {
    match u {
        Understood::Phone(p) => ("phone", p.as_e164().to_owned()),
        Understood::Email(e) => ("email", e.as_str().to_owned()),
        Understood::AccountId(id) => ("account_id", id.to_string()),
        Understood::PhoneOrAccountId(p, id) => {
            ("phone_or_account_id", format!("{} / {id}", p.as_e164()))
        }
        Understood::Name(n) => ("name", n.clone()),
    }
}

fn search_error(e: SearchError) -> ApiError {
    match e {
        SearchError::Db(e) => e.into(),
        other => ApiError::invalid(other.to_string()),
    }
}

/// Searches accounts: exact by phone, email or account ID; by name prefix, paginated.
#[utoipa::path(
    tag = "accounts",
    params(SearchParams),
    responses(
        (status = 200, description = "Matching accounts", body = SearchResult),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
    )
)]
#[get("/accounts")]
pub async fn search_accounts(
    _caller: ApiClient,
    state: web::Data<AppState>,
    params: web::Query<SearchParams>,
) -> Result<HttpResponse, ApiError> {
    if params.q.len() > users::QUERY_MAX {
        return Err(ApiError::invalid(format!(
            "q is longer than {} bytes",
            users::QUERY_MAX
        )));
    }
    let limit = PageParams {
        cursor: None,
        limit: params.limit,
    }
    .limit()?;
    let cursor = params.cursor.as_deref().map(decode_cursor).transpose()?;
    let page = users::search(
        &state.admin,
        &params.q,
        state.settings.default_region,
        cursor.as_deref(),
        limit,
    )
    .await
    .map_err(search_error)?;
    let (understood_as, searched) = understood(&page.understood);
    Ok(HttpResponse::Ok().json(SearchResult {
        understood_as,
        searched,
        items: page.accounts.iter().map(AccountEntry::from).collect(),
        next_cursor: page.next.as_deref().map(encode_cursor),
    }))
}

pub(super) fn account_id(raw: &str) -> Result<AccountId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::invalid("account_id must be a 9 or 10 digit account ID"))
}

pub(super) fn user_error(e: UserError) -> ApiError {
    match e {
        UserError::NotFound(_) => ApiError::not_found("account"),
        UserError::Deleted(_) => ApiError::conflict(e.to_string()),
        UserError::NotConnected(_) => ApiError::not_found("connected app"),
        UserError::Db(e) => e.into(),
        UserError::Service(e) => ApiError::unavailable(e),
        UserError::Sessions(e) => ApiError::unavailable(e),
        other => ApiError::invalid(other.to_string()),
    }
}

/// A live session of the account.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionEntry {
    pub sid: String,
    pub browser: String,
    /// Masked.
    pub address: Option<String>,
    pub signed_in_at: String,
    pub last_active_at: String,
}

/// An app the account uses.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppEntry {
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<&'static str>,
    pub first_party: bool,
    pub last_used_at: String,
}

/// An audit event of the account.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventEntry {
    pub id: i64,
    pub at: String,
    pub kind: String,
    pub outcome: String,
    pub client_id: Option<String>,
    pub detail: Option<String>,
    pub actor: Option<String>,
}

/// Everything about one account (contacts masked).
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub account: AccountEntry,
    pub last_sign_in: Option<String>,
    pub sessions: Vec<SessionEntry>,
    pub apps: Vec<AppEntry>,
    /// The most recent, newest first.
    pub events: Vec<EventEntry>,
}

impl From<AccountDetails> for AccountView {
    fn from(d: AccountDetails) -> Self {
        Self {
            account: AccountEntry::from(&d.account),
            last_sign_in: d.last_sign_in.map(|at| at.to_rfc3339()),
            sessions: d
                .sessions
                .into_iter()
                .map(|s| SessionEntry {
                    browser: browser_text(&s.browser),
                    address: s.address,
                    signed_in_at: s.signed_in_at.to_rfc3339(),
                    last_active_at: s.last_active_at.to_rfc3339(),
                    sid: s.sid,
                })
                .collect(),
            apps: d
                .apps
                .into_iter()
                .map(|a| AppEntry {
                    client_id: a.client_id.to_string(),
                    scopes: a.scopes.iter().map(|s| s.as_str()).collect(),
                    name: a.name,
                    first_party: a.first_party,
                    last_used_at: a.last_used_at.to_rfc3339(),
                })
                .collect(),
            events: d
                .events
                .into_iter()
                .map(|e| EventEntry {
                    id: e.id,
                    at: e.at.to_rfc3339(),
                    kind: e.kind,
                    outcome: e.outcome,
                    client_id: e.client_id,
                    detail: e.detail,
                    actor: e.actor,
                })
                .collect(),
        }
    }
}

/// One account: status, role, masked contacts, last sign-in, sessions, apps, recent events.
#[utoipa::path(
    tag = "accounts",
    params(("account_id" = String, Path, description = "The account ID")),
    responses(
        (status = 200, description = "The account", body = AccountView),
        (status = 400, body = ApiError), (status = 401, body = ApiError),
        (status = 403, body = ApiError), (status = 404, body = ApiError),
    )
)]
#[get("/accounts/{account_id}")]
pub async fn get_account(
    _caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = account_id(&path)?;
    let details = users::details(&state.admin, &state.account, id)
        .await
        .map_err(user_error)?;
    Ok(HttpResponse::Ok().json(AccountView::from(details)))
}

/// The account's full contacts.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevealedContacts {
    /// E.164.
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// The account's phone number and email in full; every reveal is audited.
#[utoipa::path(
    tag = "accounts",
    params(("account_id" = String, Path, description = "The account ID")),
    responses(
        (status = 200, description = "The contacts", body = RevealedContacts),
        (status = 400, body = ApiError), (status = 401, body = ApiError),
        (status = 403, body = ApiError), (status = 404, body = ApiError),
    )
)]
#[post("/accounts/{account_id}/reveal")]
pub async fn reveal_account(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = account_id(&path)?;
    let contacts = users::reveal(&state.admin, &caller.actor, id)
        .await
        .map_err(user_error)?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(RevealedContacts {
            phone: contacts.phone.map(|p| p.as_e164().to_owned()),
            email: contacts.email.map(|e| e.as_str().to_owned()),
        }))
}

/// The actions on an account that take no input.
#[derive(Debug, Clone, Copy)]
pub(in crate::web::admin) enum Action {
    Lock,
    Unlock,
    Disable,
    Enable,
    SignOut,
    RequirePasswordReset,
    RevokeAllApps,
}

/// What an action did: sessions ended or apps revoked.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionDone {
    /// How many sessions ended (sign-out, lock, disable, require-password-reset), or how many
    /// apps were revoked (delete apps); 0 otherwise.
    pub count: usize,
}

/// Runs `action` on account `id` through `admin::users`.
pub(in crate::web::admin) async fn act(
    state: &AppState,
    by: &crate::domain::Actor,
    id: AccountId,
    action: Action,
) -> Result<usize, UserError> {
    let (admin, sessions) = (&state.admin, &state.session);
    match action {
        Action::Lock => users::lock(admin, by, sessions, id).await,
        Action::Unlock => users::unlock(admin, by, id).await.map(|()| 0),
        Action::Disable => users::disable(admin, by, sessions, id).await,
        Action::Enable => users::enable(admin, by, id).await.map(|()| 0),
        Action::SignOut => users::sign_out(admin, by, sessions, id).await,
        Action::RequirePasswordReset => {
            users::require_password_reset(admin, by, sessions, id).await
        }
        Action::RevokeAllApps => users::revoke_all_apps(admin, by, &state.account, id).await,
    }
}

async fn act_api(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
    action: Action,
) -> Result<HttpResponse, ApiError> {
    let id = account_id(&path)?;
    let count = act(&state, &caller.actor, id, action)
        .await
        .map_err(user_error)?;
    Ok(HttpResponse::Ok().json(ActionDone { count }))
}

/// Locks the account until unlocked (the owner may unlock it with a code) and signs it out
/// everywhere.
#[utoipa::path(
    tag = "accounts",
    params(("account_id" = String, Path, description = "The account ID")),
    responses(
        (status = 200, description = "Locked", body = ActionDone),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError), (status = 409, description = "Deleted", body = ApiError),
    )
)]
#[post("/accounts/{account_id}/lock")]
pub async fn lock_account(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    act_api(caller, state, path, Action::Lock).await
}

/// Unlocks the account.
#[utoipa::path(
    tag = "accounts",
    params(("account_id" = String, Path, description = "The account ID")),
    responses(
        (status = 200, description = "Unlocked", body = ActionDone),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError), (status = 409, description = "Deleted", body = ApiError),
    )
)]
#[post("/accounts/{account_id}/unlock")]
pub async fn unlock_account(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    act_api(caller, state, path, Action::Unlock).await
}

/// Disables the account: sign-in, recovery and unlocking are refused, every session ends.
#[utoipa::path(
    tag = "accounts",
    params(("account_id" = String, Path, description = "The account ID")),
    responses(
        (status = 200, description = "Disabled", body = ActionDone),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError), (status = 409, description = "Deleted", body = ApiError),
    )
)]
#[post("/accounts/{account_id}/disable")]
pub async fn disable_account(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    act_api(caller, state, path, Action::Disable).await
}

/// Enables a disabled account.
#[utoipa::path(
    tag = "accounts",
    params(("account_id" = String, Path, description = "The account ID")),
    responses(
        (status = 200, description = "Enabled", body = ActionDone),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError), (status = 409, description = "Deleted", body = ApiError),
    )
)]
#[post("/accounts/{account_id}/enable")]
pub async fn enable_account(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    act_api(caller, state, path, Action::Enable).await
}

/// Signs the account out everywhere (its apps are told) and revokes every grant.
#[utoipa::path(
    tag = "accounts",
    params(("account_id" = String, Path, description = "The account ID")),
    responses(
        (status = 200, description = "Signed out", body = ActionDone),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError),
    )
)]
#[post("/accounts/{account_id}/sign-out")]
pub async fn sign_out_account(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    act_api(caller, state, path, Action::SignOut).await
}

/// Requires a new password (chosen with a code) before the next password sign-in; every
/// session ends.
#[utoipa::path(
    tag = "accounts",
    params(("account_id" = String, Path, description = "The account ID")),
    responses(
        (status = 200, description = "Required", body = ActionDone),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError), (status = 409, description = "Deleted", body = ApiError),
    )
)]
#[post("/accounts/{account_id}/require-password-reset")]
pub async fn require_password_reset(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    act_api(caller, state, path, Action::RequirePasswordReset).await
}

/// Revokes every app the account is connected to (first-party apps included).
#[utoipa::path(
    tag = "accounts",
    params(("account_id" = String, Path, description = "The account ID")),
    responses(
        (status = 200, description = "How many apps were revoked", body = ActionDone),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError), (status = 409, description = "Deleted", body = ApiError),
    )
)]
#[delete("/accounts/{account_id}/apps")]
pub async fn revoke_all_apps(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    act_api(caller, state, path, Action::RevokeAllApps).await
}

/// Revokes one app: consent and grants go (refresh tokens fail), the app is told.
#[utoipa::path(
    tag = "accounts",
    params(
        ("account_id" = String, Path, description = "The account ID"),
        ("client_id" = String, Path, description = "The app's client_id"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
        (status = 404, description = "No such account, or not connected to that app", body = ApiError),
    )
)]
#[delete("/accounts/{account_id}/apps/{client_id}")]
pub async fn revoke_app(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_id, raw_client) = path.into_inner();
    let id = account_id(&raw_id)?;
    let client = ClientId::parse(&raw_client)
        .ok_or_else(|| ApiError::invalid("client_id is not a client ID"))?;
    users::revoke_app(&state.admin, &caller.actor, &state.account, id, &client)
        .await
        .map_err(user_error)?;
    Ok(HttpResponse::NoContent().finish())
}

/// Deletes the account as its owner could: sessions end, grants and consents go, contacts,
/// name and password are erased; the ID is never reused.
#[utoipa::path(
    tag = "accounts",
    params(("account_id" = String, Path, description = "The account ID")),
    responses(
        (status = 204, description = "Deleted (or was already)"),
        (status = 400, body = ApiError), (status = 401, body = ApiError),
        (status = 403, body = ApiError), (status = 404, body = ApiError),
    )
)]
#[delete("/accounts/{account_id}")]
pub async fn delete_account(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = account_id(&path)?;
    users::delete(&state.admin, &caller.actor, &state.account, id)
        .await
        .map_err(user_error)?;
    Ok(HttpResponse::NoContent().finish())
}

/// "Firefox / Linux", whichever parts the user agent told.
pub(super) fn browser_text(b: &crate::domain::BrowserSummary) -> String {
    [b.browser.as_deref(), b.os.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" / ")
}
