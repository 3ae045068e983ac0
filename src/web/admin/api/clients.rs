//! `/clients`: the apps (relying parties and service clients) — list and search, register,
//! read, edit, remove, rotate the secret, disable and enable, admin consent (first-party), and
//! everyone's consents. Each handler parses, calls one operation of [`admin::clients`], and
//! answers; the operation audits.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiError, ListPage, PageParams, decode_cursor};
use crate::{
    admin,
    db::models::client::Client,
    domain::{Acr, ClientId},
    oauth::registry::{Changes, Registration, RegistrationError},
    state::AppState,
    web::admin::ApiClient,
};

/// The longest `q` a search takes, in bytes.
const MAX_QUERY_BYTES: usize = 100;

/// A registered client, every setting (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub logo_url: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// Space-separated.
    pub scopes: String,
    pub grant_types: Vec<String>,
    /// `client_secret_basic`, `client_secret_post` or `none` (a public client).
    pub token_endpoint_auth_method: String,
    pub id_token_signed_response_alg: String,
    /// Absent: the server's default (`oauth.access_token_alg`).
    pub access_token_signed_response_alg: Option<String>,
    /// Admin consent: no consent screen for anyone.
    pub first_party: bool,
    /// Who made it first-party: `account:<id>`, `client:<id>` or `operator`.
    pub first_party_by: Option<String>,
    pub first_party_at: Option<DateTime<Utc>>,
    /// The weakest sign-in the app accepts: `urn:oneid:acr:1fa`, `urn:oneid:acr:2fa` or
    /// `urn:oneid:acr:phr`; absent: any.
    pub min_acr: Option<String>,
    pub disabled: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        Self {
            client_id: c.id.to_string(),
            name: c.name.clone(),
            logo_url: c.logo_url.as_ref().map(ToString::to_string),
            redirect_uris: c.redirect_uris.iter().map(ToString::to_string).collect(),
            post_logout_redirect_uris: c
                .post_logout_redirect_uris
                .iter()
                .map(ToString::to_string)
                .collect(),
            backchannel_logout_uri: c.backchannel_logout_uri.as_ref().map(ToString::to_string),
            scopes: c.scopes.to_string(),
            grant_types: c
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            token_endpoint_auth_method: c.auth.method().to_owned(),
            id_token_signed_response_alg: c.id_token_alg.as_str().to_owned(),
            access_token_signed_response_alg: c.access_token_alg.map(|a| a.as_str().to_owned()),
            first_party: c.first_party,
            first_party_by: c.admin_consent.as_ref().map(|a| a.by.to_stored()),
            first_party_at: c.admin_consent.as_ref().map(|a| a.at),
            min_acr: c.min_acr.map(|a| a.as_str().to_owned()),
            disabled: c.is_disabled(),
            disabled_at: c.disabled_at,
            created_at: c.created_at,
        }
    }
}

/// A client to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    /// 1 to 100 characters.
    pub name: String,
    pub logo_url: Option<String>,
    /// None: a service client, which must use client_credentials.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// A public client (no secret; PKCE required).
    #[serde(default)]
    pub public: bool,
    /// `client_secret_post` instead of `client_secret_basic`.
    #[serde(default)]
    pub secret_post: bool,
    /// Admin consent at once, given by the caller.
    #[serde(default)]
    pub first_party: bool,
    /// Space-separated; default: every scope a client signing people in may have.
    pub scopes: Option<String>,
    #[serde(default)]
    pub client_credentials: bool,
    /// RS256 (default), ES256 or EdDSA.
    pub id_token_alg: Option<String>,
    /// RS256, ES256 or EdDSA; absent: the server's `oauth.access_token_alg`.
    pub access_token_alg: Option<String>,
}

/// A registered client and its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedClient {
    pub client: ClientView,
    /// Keep it now: only its digest is stored. None for a public client.
    pub client_secret: Option<String>,
}

/// What to change; fields left out stay as they are. An empty `logo_url` or
/// `backchannel_logout_uri` removes it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub logo_url: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub backchannel_logout_uri: Option<String>,
    /// Space-separated.
    pub scopes: Option<String>,
    pub client_credentials: Option<bool>,
    pub id_token_alg: Option<String>,
    /// An empty string: back to the server's default.
    pub access_token_alg: Option<String>,
}

impl From<ClientChanges> for Changes {
    fn from(c: ClientChanges) -> Self {
        Self {
            name: c.name,
            logo_url: c.logo_url.map(|u| Some(u).filter(|u| !u.is_empty())),
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            backchannel_logout_uri: c
                .backchannel_logout_uri
                .map(|u| Some(u).filter(|u| !u.is_empty())),
            scopes: c.scopes,
            client_credentials: c.client_credentials,
            id_token_alg: c.id_token_alg,
            access_token_alg: c
                .access_token_alg
                .map(|a| Some(a).filter(|a| !a.is_empty())),
        }
    }
}

/// A new client secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewSecret {
    pub client_secret: String,
}

/// Who an app holds consent from.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentSummaryView {
    /// People who consented to it.
    pub consents: i64,
    /// Accounts that use it (signed in to it or allowed it).
    pub connected_accounts: i64,
}

/// What revoking everyone's consent took back.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedConsents {
    pub consents: usize,
    /// Grants revoked: their access and refresh tokens no longer work.
    pub grants: usize,
}

/// `?q=`: a name prefix or an exact client ID.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// A name prefix (case-sensitive) or an exact client ID; at most 100 bytes.
    pub q: Option<String>,
}

fn client_id(raw: &str) -> Result<ClientId, ApiError> {
    ClientId::parse(raw).ok_or_else(|| ApiError::not_found("client"))
}

/// An admin client may not disable or remove itself: it would lock its own caller out
/// mid-script. Another admin client, the console or the command line may.
fn check_not_self(caller: &ApiClient, id: &ClientId) -> Result<(), ApiError> {
    if caller.client == *id {
        Err(ApiError::conflict(
            "a client cannot disable or remove itself; use another admin client or the console",
        ))
    } else {
        Ok(())
    }
}

fn registration_error(e: RegistrationError) -> ApiError {
    match e {
        RegistrationError::NotFound => ApiError::not_found("client"),
        RegistrationError::Public => ApiError::conflict(e.to_string()),
        RegistrationError::Db(e) => e.into(),
        other => ApiError::invalid(other.to_string()),
    }
}

/// The clients by client ID, a page at a time; `q` narrows to a name prefix or a client ID.
#[utoipa::path(
    tag = "clients",
    params(SearchParams, PageParams),
    responses(
        (status = 200, description = "A page of clients", body = ListPage<ClientView>),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
    )
)]
#[get("/clients")]
pub async fn list_clients(
    _caller: ApiClient,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
    search: web::Query<SearchParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let after = page.cursor.as_deref().map(decode_cursor).transpose()?;
    let query = search.into_inner().q;
    if query.as_ref().is_some_and(|q| q.len() > MAX_QUERY_BYTES) {
        return Err(ApiError::invalid(format!(
            "q must be at most {MAX_QUERY_BYTES} bytes"
        )));
    }
    let found = admin::clients::search(&state.admin, query, after, limit + 1).await?;
    let items: Vec<ClientView> = found.iter().map(ClientView::from).collect();
    Ok(HttpResponse::Ok().json(ListPage::cut(items, limit, |c| c.client_id.clone())))
}

/// Registers a client; the secret is in this answer only.
#[utoipa::path(
    tag = "clients",
    request_body = NewClient,
    responses(
        (status = 201, description = "Registered", body = CreatedClient),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
    )
)]
#[post("/clients")]
pub async fn create_client(
    caller: ApiClient,
    state: web::Data<AppState>,
    body: web::Json<NewClient>,
) -> Result<HttpResponse, ApiError> {
    let new = body.into_inner();
    let registration = Registration {
        name: new.name,
        logo_url: new.logo_url,
        redirect_uris: new.redirect_uris,
        post_logout_redirect_uris: new.post_logout_redirect_uris,
        backchannel_logout_uri: new.backchannel_logout_uri,
        public: new.public,
        secret_post: new.secret_post,
        first_party: new.first_party,
        scopes: new.scopes,
        client_credentials: new.client_credentials,
        id_token_alg: new.id_token_alg,
        access_token_alg: new.access_token_alg,
    };
    let (client, secret) = admin::clients::add(&state.admin, &caller.actor, registration)
        .await
        .map_err(registration_error)?;
    Ok(HttpResponse::Created().json(CreatedClient {
        client: ClientView::from(&client),
        client_secret: secret.map(|s| s.expose().to_owned()),
    }))
}

/// One client's settings.
#[utoipa::path(
    tag = "clients",
    params(("client_id" = String, Path, description = "The client ID")),
    responses(
        (status = 200, description = "The client", body = ClientView),
        (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError),
    )
)]
#[get("/clients/{client_id}")]
pub async fn get_client(
    _caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = client_id(&path)?;
    let found = admin::clients::find(&state.admin, id)
        .await?
        .ok_or_else(|| ApiError::not_found("client"))?;
    Ok(HttpResponse::Ok().json(ClientView::from(&found)))
}

/// Edits a client by the rules of registration; audited with each change, before → after.
#[utoipa::path(
    tag = "clients",
    params(("client_id" = String, Path, description = "The client ID")),
    request_body = ClientChanges,
    responses(
        (status = 200, description = "The client as it now is", body = ClientView),
        (status = 400, body = ApiError), (status = 401, body = ApiError),
        (status = 403, body = ApiError), (status = 404, body = ApiError),
    )
)]
#[patch("/clients/{client_id}")]
pub async fn update_client(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<ClientChanges>,
) -> Result<HttpResponse, ApiError> {
    let id = client_id(&path)?;
    let client = admin::clients::update(&state.admin, &caller.actor, id, body.into_inner().into())
        .await
        .map_err(registration_error)?;
    Ok(HttpResponse::Ok().json(ClientView::from(&client)))
}

/// Removes a client with its grants (and so its tokens), consents and connected-app records.
#[utoipa::path(
    tag = "clients",
    params(("client_id" = String, Path, description = "The client ID")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 409, description = "The caller itself", body = ApiError),
    )
)]
#[delete("/clients/{client_id}")]
pub async fn delete_client(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = client_id(&path)?;
    check_not_self(&caller, &id)?;
    if admin::clients::remove(&state.admin, &caller.actor, id).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found("client"))
    }
}

/// Replaces a confidential client's secret; the old one stops working at once. 409 for a
/// public client.
#[utoipa::path(
    tag = "clients",
    params(("client_id" = String, Path, description = "The client ID")),
    responses(
        (status = 200, description = "The new secret, shown this once", body = NewSecret),
        (status = 401, body = ApiError), (status = 403, body = ApiError),
        (status = 404, body = ApiError), (status = 409, body = ApiError),
    )
)]
#[post("/clients/{client_id}/secret")]
pub async fn rotate_client_secret(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = client_id(&path)?;
    let secret = admin::clients::rotate_secret(&state.admin, &caller.actor, id)
        .await
        .map_err(registration_error)?;
    Ok(HttpResponse::Ok().json(NewSecret {
        client_secret: secret.expose().to_owned(),
    }))
}

async fn set_disabled(
    caller: &ApiClient,
    state: &AppState,
    raw: &str,
    disabled: bool,
) -> Result<HttpResponse, ApiError> {
    let id = client_id(raw)?;
    if disabled {
        check_not_self(caller, &id)?;
    }
    admin::clients::set_disabled(&state.admin, &caller.actor, id.clone(), disabled)
        .await
        .map_err(registration_error)?;
    let found = admin::clients::find(&state.admin, id)
        .await?
        .ok_or_else(|| ApiError::not_found("client"))?;
    Ok(HttpResponse::Ok().json(ClientView::from(&found)))
}

/// Disables a client: its token requests are refused, its access tokens read nothing, and
/// people who try to sign in to it are told it is turned off.
#[utoipa::path(
    tag = "clients",
    params(("client_id" = String, Path, description = "The client ID")),
    responses(
        (status = 200, description = "The client, disabled", body = ClientView),
        (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 409, description = "The caller itself", body = ApiError),
    )
)]
#[post("/clients/{client_id}/disable")]
pub async fn disable_client(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_disabled(&caller, &state, &path, true).await
}

/// Enables a disabled client again.
#[utoipa::path(
    tag = "clients",
    params(("client_id" = String, Path, description = "The client ID")),
    responses(
        (status = 200, description = "The client, enabled", body = ClientView),
        (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError),
    )
)]
#[post("/clients/{client_id}/enable")]
pub async fn enable_client(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_disabled(&caller, &state, &path, false).await
}

async fn set_first_party(
    caller: &ApiClient,
    state: &AppState,
    raw: &str,
    on: bool,
) -> Result<HttpResponse, ApiError> {
    let id = client_id(raw)?;
    admin::clients::set_first_party(&state.admin, &caller.actor, id.clone(), on)
        .await
        .map_err(registration_error)?;
    let found = admin::clients::find(&state.admin, id)
        .await?
        .ok_or_else(|| ApiError::not_found("client"))?;
    Ok(HttpResponse::Ok().json(ClientView::from(&found)))
}

/// Admin consent: the caller consents on behalf of every person to every scope the client is
/// registered for; nobody sees its consent screen.
#[utoipa::path(
    tag = "clients",
    params(("client_id" = String, Path, description = "The client ID")),
    responses(
        (status = 200, description = "The client, first-party", body = ClientView),
        (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError),
    )
)]
#[put("/clients/{client_id}/first-party")]
pub async fn make_first_party(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_first_party(&caller, &state, &path, true).await
}

/// Takes admin consent back: people are asked at their next authorization.
#[utoipa::path(
    tag = "clients",
    params(("client_id" = String, Path, description = "The client ID")),
    responses(
        (status = 200, description = "The client, not first-party", body = ClientView),
        (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError),
    )
)]
#[delete("/clients/{client_id}/first-party")]
pub async fn remove_first_party(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_first_party(&caller, &state, &path, false).await
}

/// The body of `PUT /clients/{client_id}/min-acr`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MinAcrBody {
    /// `urn:oneid:acr:1fa`, `urn:oneid:acr:2fa` or `urn:oneid:acr:phr` (or `1fa`, `2fa`,
    /// `phr`); null: any sign-in.
    pub min_acr: Option<String>,
}

/// Sets the weakest sign-in the app accepts. A person signed in more weakly is asked for a
/// second factor (or a passkey, for `phr`) before the app gets a code; one who has none is
/// told how to add one, and the app hears `unmet_authentication_requirements` if they go back.
#[utoipa::path(
    tag = "clients",
    params(("client_id" = String, Path, description = "The client ID")),
    request_body = MinAcrBody,
    responses(
        (status = 200, description = "The client, with its new minimum", body = ClientView),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError),
    )
)]
#[put("/clients/{client_id}/min-acr")]
pub async fn set_min_acr(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<MinAcrBody>,
) -> Result<HttpResponse, ApiError> {
    let id = client_id(&path)?;
    let min_acr = body
        .min_acr
        .as_deref()
        .map(Acr::parse)
        .transpose()
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    admin::clients::set_min_acr(&state.admin, &caller.actor, id.clone(), min_acr)
        .await
        .map_err(registration_error)?;
    let found = admin::clients::find(&state.admin, id)
        .await?
        .ok_or_else(|| ApiError::not_found("client"))?;
    Ok(HttpResponse::Ok().json(ClientView::from(&found)))
}

/// How many people consented to the client, and how many accounts use it.
#[utoipa::path(
    tag = "clients",
    params(("client_id" = String, Path, description = "The client ID")),
    responses(
        (status = 200, description = "The consent summary", body = ConsentSummaryView),
        (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError),
    )
)]
#[get("/clients/{client_id}/consents")]
pub async fn get_consents(
    _caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = client_id(&path)?;
    let summary = admin::clients::consent_summary(&state.admin, id)
        .await?
        .ok_or_else(|| ApiError::not_found("client"))?;
    Ok(HttpResponse::Ok().json(ConsentSummaryView {
        consents: summary.consents,
        connected_accounts: summary.connected_accounts,
    }))
}

/// Takes back every person's consent to the client, with their grants and tokens: each is
/// asked again at their next authorization.
#[utoipa::path(
    tag = "clients",
    params(("client_id" = String, Path, description = "The client ID")),
    responses(
        (status = 200, description = "What was taken back", body = RevokedConsents),
        (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError),
    )
)]
#[delete("/clients/{client_id}/consents")]
pub async fn revoke_consents(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = client_id(&path)?;
    let taken =
        admin::clients::revoke_all_consents(&state.admin, &caller.actor, &state.session, id)
            .await
            .map_err(registration_error)?;
    Ok(HttpResponse::Ok().json(RevokedConsents {
        consents: taken.consents,
        grants: taken.grants,
    }))
}
