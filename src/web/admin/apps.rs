//! The console's apps, under /admin/apps: the list and its search, registering an app (its
//! secret shown once), an app's page (every setting, status, admin consent, consent summary),
//! editing, rotating the secret (shown once), disabling and enabling, the admin consent
//! screen, revoking everyone's consent and removing (each behind a confirmation). Thin: each
//! handler parses the form, calls one operation of [`admin::clients`], and renders or
//! redirects; every POST checks its CSRF token first.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{AdminUser, Nav};
use crate::web::pages::CsrfForm;
use crate::{
    admin::{self, clients::ConsentSummary},
    db::models::{account, client::Client},
    domain::{Acr, Actor, ClientId, ScopeToken},
    i18n::Lang,
    oauth::registry::{Changes, Registration, RegistrationError},
    oidc::tokens::claims_of,
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError,
        oauth::scope_message_key,
        page::{render, see_other},
    },
};

const SECTION: &str = "/admin/apps";
/// The longest value any field of these forms may carry, in bytes; checked before parsing.
const MAX_FIELD_BYTES: usize = 4096;
/// How many apps a page of the list shows.
const PAGE_SIZE: u32 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/apps").get(get_apps))
        .service(web::resource("/apps/new").get(get_new).post(post_new))
        .service(web::resource("/apps/{id}").get(get_app))
        .service(
            web::resource("/apps/{id}/edit")
                .get(get_edit)
                .post(post_edit),
        )
        .service(web::resource("/apps/{id}/secret").post(post_secret))
        .service(web::resource("/apps/{id}/disable").post(post_disable))
        .service(web::resource("/apps/{id}/enable").post(post_enable))
        .service(
            web::resource("/apps/{id}/first-party")
                .get(get_first_party)
                .post(post_first_party),
        )
        .service(web::resource("/apps/{id}/first-party/off").post(post_first_party_off))
        .service(web::resource("/apps/{id}/min-acr").post(post_min_acr))
        .service(
            web::resource("/apps/{id}/consents/revoke")
                .get(get_revoke_consents)
                .post(post_revoke_consents),
        )
        .service(
            web::resource("/apps/{id}/delete")
                .get(get_delete)
                .post(post_delete),
        );
}

/// `?q=&after=&done=`
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    after: Option<String>,
    done: Option<String>,
}

/// `?done=`
#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// The fields of the new-app and edit forms (checkboxes are present when ticked).
#[derive(Debug, Default, Deserialize)]
pub struct AppForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    logo_url: String,
    /// One per line.
    #[serde(default)]
    redirect_uris: String,
    #[serde(default)]
    post_logout_redirect_uris: String,
    #[serde(default)]
    backchannel_logout_uri: String,
    /// Space-separated.
    #[serde(default)]
    scopes: String,
    client_credentials: Option<String>,
    #[serde(default)]
    id_token_alg: String,
    /// Empty: the server's default.
    #[serde(default)]
    access_token_alg: String,
    /// New apps only.
    public: Option<String>,
    secret_post: Option<String>,
}

impl AppForm {
    fn of(client: &Client) -> Self {
        let lines = |uris: &[crate::domain::RedirectUri]| {
            uris.iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        };
        Self {
            csrf: String::new(),
            name: client.name.clone(),
            logo_url: client
                .logo_url
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            redirect_uris: lines(&client.redirect_uris),
            post_logout_redirect_uris: lines(&client.post_logout_redirect_uris),
            backchannel_logout_uri: client
                .backchannel_logout_uri
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            scopes: client.scopes.to_string(),
            client_credentials: client
                .allows_grant(crate::domain::GrantType::ClientCredentials)
                .then(|| "on".to_owned()),
            id_token_alg: client.id_token_alg.as_str().to_owned(),
            access_token_alg: client
                .access_token_alg
                .map(|a| a.as_str().to_owned())
                .unwrap_or_default(),
            public: None,
            secret_post: None,
        }
    }

    /// Whether the form's algorithm is `alg` (the select's current option).
    fn alg_is(&self, alg: &str) -> bool {
        self.id_token_alg == alg
    }

    /// Whether the form's access-token algorithm is `alg` ("" for the server's default).
    fn access_alg_is(&self, alg: &str) -> bool {
        self.access_token_alg == alg
    }

    /// Every field within [`MAX_FIELD_BYTES`].
    fn within_bounds(&self) -> bool {
        [
            &self.name,
            &self.logo_url,
            &self.redirect_uris,
            &self.post_logout_redirect_uris,
            &self.backchannel_logout_uri,
            &self.scopes,
            &self.id_token_alg,
            &self.access_token_alg,
        ]
        .iter()
        .all(|f| f.len() <= MAX_FIELD_BYTES)
    }

    fn uris(text: &str) -> Vec<String> {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn optional(text: &str) -> Option<String> {
        Some(text.trim().to_owned()).filter(|t| !t.is_empty())
    }

    fn registration(&self) -> Registration {
        Registration {
            name: self.name.clone(),
            logo_url: Self::optional(&self.logo_url),
            redirect_uris: Self::uris(&self.redirect_uris),
            post_logout_redirect_uris: Self::uris(&self.post_logout_redirect_uris),
            backchannel_logout_uri: Self::optional(&self.backchannel_logout_uri),
            public: self.public.is_some(),
            secret_post: self.secret_post.is_some(),
            first_party: false,
            scopes: Self::optional(&self.scopes),
            client_credentials: self.client_credentials.is_some(),
            id_token_alg: Self::optional(&self.id_token_alg),
            access_token_alg: Self::optional(&self.access_token_alg),
        }
    }

    fn changes(&self) -> Changes {
        Changes {
            name: Some(self.name.clone()),
            logo_url: Some(Self::optional(&self.logo_url)),
            redirect_uris: Some(Self::uris(&self.redirect_uris)),
            post_logout_redirect_uris: Some(Self::uris(&self.post_logout_redirect_uris)),
            backchannel_logout_uri: Some(Self::optional(&self.backchannel_logout_uri)),
            scopes: Some(self.scopes.clone()),
            client_credentials: Some(self.client_credentials.is_some()),
            id_token_alg: Self::optional(&self.id_token_alg),
            access_token_alg: Some(Self::optional(&self.access_token_alg)),
        }
    }
}

/// The catalog's words for a refused registration or edit; the offending value, if any,
/// is shown beside them as it was typed.
fn refusal(lang: Lang, e: &RegistrationError) -> String {
    let key = match e {
        RegistrationError::Name => "admin-app-error-name",
        RegistrationError::NoRedirectUri => "admin-app-error-no-redirect-uri",
        RegistrationError::AdminScope => "admin-app-error-admin-scope",
        RegistrationError::RedirectUri { .. } => "admin-app-error-redirect-uri",
        RegistrationError::Url { .. } => "admin-app-error-url",
        RegistrationError::Scope(_) => "admin-app-error-scope",
        RegistrationError::NoOpenId => "admin-app-error-no-openid",
        RegistrationError::NoScope => "admin-app-error-no-scope",
        RegistrationError::PublicClientCredentials => "admin-app-error-public-client-credentials",
        RegistrationError::Alg => "admin-app-error-alg",
        RegistrationError::TooManyUris => "admin-app-error-too-many-uris",
        RegistrationError::NotFound => "admin-app-not-found",
        RegistrationError::Public => "admin-app-error-public",
        RegistrationError::Db(_) => "admin-app-error-unavailable",
    };
    let offending = match e {
        RegistrationError::RedirectUri { uri, .. } | RegistrationError::Url { uri, .. } => {
            Some(uri.clone())
        }
        RegistrationError::Scope(unknown) => Some(unknown.to_string()),
        _ => None,
    };
    match offending {
        // Cut so an oversized value does not fill the page.
        Some(value) => format!(
            "{} ({})",
            lang.t(key),
            value.chars().take(200).collect::<String>()
        ),
        None => lang.t(key),
    }
}

/// One app in the list.
struct AppRow {
    id: String,
    name: String,
    disabled: bool,
    first_party: bool,
    scopes: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/apps.html")]
struct AppsView {
    page: Page,
    nav: Nav,
    q: String,
    apps: Vec<AppRow>,
    next: Option<String>,
}

/// GET /admin/apps: the apps by client ID, a page at a time; `q` narrows to a name prefix or
/// a client ID.
pub async fn get_apps(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    _admin: AdminUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    let query = query.into_inner();
    let q = query
        .q
        .filter(|q| q.len() <= 100)
        .unwrap_or_default()
        .trim()
        .to_owned();
    let after = query.after.filter(|a| a.len() <= 128);
    let mut found = admin::clients::search(
        &state.admin,
        Some(q.clone()).filter(|q| !q.is_empty()),
        after,
        PAGE_SIZE + 1,
    )
    .await?;
    let next = (found.len() > PAGE_SIZE as usize).then(|| {
        found.truncate(PAGE_SIZE as usize);
        found[found.len() - 1].id.to_string()
    });
    let view = AppsView {
        page: Page::new(lang, session.0.csrf_token(), SECTION),
        nav: Nav::new(SECTION).done(lang, query.done.as_deref()),
        q,
        apps: found
            .iter()
            .map(|c| AppRow {
                id: c.id.to_string(),
                name: c.name.clone(),
                disabled: c.is_disabled(),
                first_party: c.first_party,
                scopes: c.scopes.to_string(),
            })
            .collect(),
        next,
    };
    let response = render(&req, StatusCode::OK, view);
    session.respond(&state, response).await
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/app_form.html")]
struct AppFormView {
    page: Page,
    nav: Nav,
    /// The app being edited; `None`: a new app.
    editing: Option<String>,
    form: AppForm,
    error: Option<String>,
}

fn form_page(
    req: &HttpRequest,
    lang: Lang,
    session: &BrowserSession,
    editing: Option<String>,
    form: AppForm,
    error: Option<String>,
) -> HttpResponse {
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let path = editing.as_ref().map_or_else(
        || "/admin/apps/new".to_owned(),
        |id| format!("/admin/apps/{id}/edit"),
    );
    let view = AppFormView {
        page: Page::new(lang, session.0.csrf_token(), &path),
        nav: Nav::new(SECTION),
        editing,
        form,
        error,
    };
    render(req, status, view)
}

/// GET /admin/apps/new
pub async fn get_new(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    _admin: AdminUser,
) -> Result<HttpResponse, WebError> {
    let form = AppForm {
        scopes: "openid profile email phone offline_access".into(),
        id_token_alg: "RS256".into(),
        ..AppForm::default()
    };
    let response = form_page(&req, lang, &session, None, form, None);
    session.respond(&state, response).await
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/app_secret.html")]
struct SecretView {
    page: Page,
    nav: Nav,
    id: String,
    name: String,
    /// Shown this once.
    secret: Option<String>,
    created: bool,
}

/// POST /admin/apps/new: registers the app and shows its secret this once (the page is not
/// stored: the answer is `no-store`, and reloading it does not show the secret again).
pub async fn post_new(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    admin: AdminUser,
    form: web::Form<AppForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    if !form.within_bounds() {
        let error = Some(lang.t("admin-app-error-too-long"));
        let response = form_page(&req, lang, &session, None, AppForm::default(), error);
        return session.respond(&state, response).await;
    }
    match admin::clients::add(&state.admin, &admin.actor, form.registration()).await {
        Ok((client, secret)) => {
            let view = SecretView {
                page: Page::new(lang, session.0.csrf_token(), "/admin/apps/new"),
                nav: Nav::new(SECTION),
                id: client.id.to_string(),
                name: client.name,
                secret: secret.map(|s| s.expose().to_owned()),
                created: true,
            };
            let response = render(&req, StatusCode::OK, view);
            session.respond(&state, response).await
        }
        Err(RegistrationError::Db(e)) => Err(e.into()),
        Err(e) => {
            let error = Some(refusal(lang, &e));
            let response = form_page(&req, lang, &session, None, form, error);
            session.respond(&state, response).await
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/app_missing.html")]
struct MissingView {
    page: Page,
    nav: Nav,
}

/// 404 in the console's layout: no such app.
async fn missing(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    session: BrowserSession,
) -> Result<HttpResponse, WebError> {
    let view = MissingView {
        page: Page::without_form(lang, SECTION),
        nav: Nav::new(SECTION),
    };
    let response = render(req, StatusCode::NOT_FOUND, view);
    session.respond(state, response).await
}

/// The app the path names, if there is one.
async fn load(state: &AppState, raw: &str) -> Result<Option<Client>, WebError> {
    let Some(id) = ClientId::parse(raw) else {
        return Ok(None);
    };
    Ok(admin::clients::find(&state.admin, id).await?)
}

/// Who an actor is, as the console says it: an administrator's name, a client's, or the
/// command line.
async fn actor_name(state: &AppState, lang: Lang, actor: &Actor) -> Result<String, WebError> {
    Ok(match actor {
        Actor::Admin(id) => {
            let id = *id;
            let found = state
                .db
                .run(move |conn| account::find_by_id(conn, id))
                .await?;
            match found {
                Some(a) => format!("{} ({id})", a.display_name),
                None => id.to_string(),
            }
        }
        Actor::Client(id) => match admin::clients::find(&state.admin, id.clone()).await? {
            Some(c) => format!("{} ({id})", c.name),
            None => id.to_string(),
        },
        Actor::Operator => lang.t("admin-app-operator"),
    })
}

fn day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/app.html")]
struct AppView {
    page: Page,
    nav: Nav,
    id: String,
    name: String,
    logo_url: Option<String>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    backchannel_logout_uri: Option<String>,
    scopes: String,
    grant_types: String,
    auth_method: String,
    id_token_alg: String,
    /// `None`: the server's default.
    access_token_alg: Option<String>,
    created: String,
    disabled: Option<String>,
    confidential: bool,
    first_party: bool,
    /// "made first-party by … on …", when the record was kept.
    first_party_record: Option<String>,
    /// The short name of the app's minimum sign-in (`1fa` when it has none).
    min_acr: &'static str,
    summary: ConsentSummary,
}

impl AppView {
    /// The levels the form offers, with their catalog keys, for the select.
    fn acr_levels(&self) -> [(&'static str, &'static str); 3] {
        [
            ("1fa", "admin-app-min-acr-1fa"),
            ("2fa", "admin-app-min-acr-2fa"),
            ("phr", "admin-app-min-acr-phr"),
        ]
    }

    fn is_min_acr(&self, level: &str) -> bool {
        self.min_acr == level
    }
}

/// GET /admin/apps/{id}: every setting and what may be done.
pub async fn get_app(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    _admin: AdminUser,
    path: web::Path<String>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, WebError> {
    let Some(client) = load(&state, &path).await? else {
        return missing(&req, &state, lang, session).await;
    };
    let summary = admin::clients::consent_summary(&state.admin, client.id.clone())
        .await?
        .unwrap_or(ConsentSummary {
            consents: 0,
            connected_accounts: 0,
        });
    let first_party_record = match &client.admin_consent {
        Some(consent) => Some(lang.t_args(
            "admin-app-first-party-record",
            &[
                ("name", actor_name(&state, lang, &consent.by).await?),
                ("when", day(consent.at)),
            ],
        )),
        None => None,
    };
    let view = AppView {
        page: Page::new(
            lang,
            session.0.csrf_token(),
            &format!("/admin/apps/{}", client.id),
        ),
        nav: Nav::new(SECTION).done(lang, query.done.as_deref()),
        id: client.id.to_string(),
        name: client.name.clone(),
        logo_url: client.logo_url.as_ref().map(ToString::to_string),
        redirect_uris: client
            .redirect_uris
            .iter()
            .map(ToString::to_string)
            .collect(),
        post_logout_redirect_uris: client
            .post_logout_redirect_uris
            .iter()
            .map(ToString::to_string)
            .collect(),
        backchannel_logout_uri: client
            .backchannel_logout_uri
            .as_ref()
            .map(ToString::to_string),
        scopes: client.scopes.to_string(),
        grant_types: client
            .grant_types
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        auth_method: client.auth.method().to_owned(),
        id_token_alg: client.id_token_alg.as_str().to_owned(),
        access_token_alg: client.access_token_alg.map(|a| a.as_str().to_owned()),
        created: day(client.created_at),
        disabled: client.disabled_at.map(day),
        confidential: !client.auth.is_public(),
        first_party: client.first_party,
        first_party_record,
        min_acr: client.min_acr.unwrap_or(Acr::OneFactor).short(),
        summary,
    };
    let response = render(&req, StatusCode::OK, view);
    session.respond(&state, response).await
}

/// GET /admin/apps/{id}/edit
pub async fn get_edit(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    _admin: AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let Some(client) = load(&state, &path).await? else {
        return missing(&req, &state, lang, session).await;
    };
    let response = form_page(
        &req,
        lang,
        &session,
        Some(client.id.to_string()),
        AppForm::of(&client),
        None,
    );
    session.respond(&state, response).await
}

/// POST /admin/apps/{id}/edit: saved (and audited, before → after) or the form again with
/// what was wrong.
pub async fn post_edit(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    admin: AdminUser,
    path: web::Path<String>,
    form: web::Form<AppForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let Some(client) = load(&state, &path).await? else {
        return missing(&req, &state, lang, session).await;
    };
    let form = form.into_inner();
    let id = client.id.to_string();
    if !form.within_bounds() {
        let error = Some(lang.t("admin-app-error-too-long"));
        let response = form_page(&req, lang, &session, Some(id), AppForm::of(&client), error);
        return session.respond(&state, response).await;
    }
    match admin::clients::update(&state.admin, &admin.actor, client.id, form.changes()).await {
        Ok(_) => {
            let to = format!("/admin/apps/{id}?done=admin-done-app-saved");
            session.respond(&state, see_other(&to)).await
        }
        Err(RegistrationError::Db(e)) => Err(e.into()),
        Err(e) => {
            let error = Some(refusal(lang, &e));
            let response = form_page(&req, lang, &session, Some(id), form, error);
            session.respond(&state, response).await
        }
    }
}

/// POST /admin/apps/{id}/secret: a new secret, shown this once; the old one stops working.
pub async fn post_secret(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    admin: AdminUser,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let Some(client) = load(&state, &path).await? else {
        return missing(&req, &state, lang, session).await;
    };
    let id = client.id.to_string();
    match admin::clients::rotate_secret(&state.admin, &admin.actor, client.id).await {
        Ok(secret) => {
            let view = SecretView {
                page: Page::new(lang, session.0.csrf_token(), &format!("/admin/apps/{id}")),
                nav: Nav::new(SECTION),
                id,
                name: client.name,
                secret: Some(secret.expose().to_owned()),
                created: false,
            };
            let response = render(&req, StatusCode::OK, view);
            session.respond(&state, response).await
        }
        Err(RegistrationError::Db(e)) => Err(e.into()),
        Err(_) => {
            let to = format!("/admin/apps/{id}?done=admin-done-app-no-secret");
            session.respond(&state, see_other(&to)).await
        }
    }
}

/// Runs `act` on the app the path names, then back to its page with `done`.
async fn act_and_return(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    session: BrowserSession,
    raw: &str,
    done: &str,
    act: impl AsyncFnOnce(ClientId) -> Result<bool, RegistrationError>,
) -> Result<HttpResponse, WebError> {
    let Some(client) = load(state, raw).await? else {
        return missing(req, state, lang, session).await;
    };
    let id = client.id.to_string();
    match act(client.id).await {
        Ok(_) => {}
        Err(RegistrationError::NotFound) => return missing(req, state, lang, session).await,
        Err(RegistrationError::Db(e)) => return Err(e.into()),
        Err(e) => return Err(WebError::Internal(e.to_string())),
    }
    session
        .respond(state, see_other(&format!("/admin/apps/{id}?done={done}")))
        .await
}

/// POST /admin/apps/{id}/disable
pub async fn post_disable(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    admin: AdminUser,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let act = async |id| admin::clients::set_disabled(&state.admin, &admin.actor, id, true).await;
    act_and_return(
        &req,
        &state,
        lang,
        session,
        &path,
        "admin-done-app-disabled",
        act,
    )
    .await
}

/// POST /admin/apps/{id}/enable
pub async fn post_enable(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    admin: AdminUser,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let act = async |id| admin::clients::set_disabled(&state.admin, &admin.actor, id, false).await;
    act_and_return(
        &req,
        &state,
        lang,
        session,
        &path,
        "admin-done-app-enabled",
        act,
    )
    .await
}

/// One scope on the admin consent screen: what it is for, and the claims it releases.
struct ScopeRow {
    scope: &'static str,
    what: String,
    claims: Vec<&'static str>,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/app_first_party.html")]
struct FirstPartyView {
    page: Page,
    nav: Nav,
    id: String,
    name: String,
    logo_url: Option<String>,
    hosts: Vec<String>,
    scopes: Vec<ScopeRow>,
    already: bool,
}

/// GET /admin/apps/{id}/first-party: the admin consent screen — the app, where it sends
/// people back to, and exactly what each scope releases, granted on behalf of every person.
pub async fn get_first_party(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    _admin: AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let Some(client) = load(&state, &path).await? else {
        return missing(&req, &state, lang, session).await;
    };
    let mut hosts: Vec<String> = client
        .redirect_uris
        .iter()
        .filter_map(|u| url::Url::parse(u.as_str()).ok())
        .filter_map(|u| u.host_str().map(str::to_owned))
        .collect();
    hosts.sort();
    hosts.dedup();
    let scopes = client
        .scopes
        .iter()
        .map(|s: ScopeToken| ScopeRow {
            scope: s.as_str(),
            what: lang.t(scope_message_key(s)),
            claims: claims_of(s).to_vec(),
        })
        .collect();
    // The logo the consent screen shows people, allowed by this page's CSP as on that screen
    // (only an https logo can be; another is not shown).
    let logo = client
        .logo_url
        .as_ref()
        .and_then(|u| Some((u.to_string(), crate::web::page_csp_with_logo(u)?)));
    let view = FirstPartyView {
        page: Page::new(
            lang,
            session.0.csrf_token(),
            &format!("/admin/apps/{}/first-party", client.id),
        ),
        nav: Nav::new(SECTION),
        id: client.id.to_string(),
        name: client.name.clone(),
        logo_url: logo.as_ref().map(|(url, _)| url.clone()),
        hosts,
        scopes,
        already: client.first_party,
    };
    let mut response = render(&req, StatusCode::OK, view);
    if let Some(csp) =
        logo.and_then(|(_, csp)| actix_web::http::header::HeaderValue::from_str(&csp).ok())
    {
        response
            .headers_mut()
            .insert(actix_web::http::header::CONTENT_SECURITY_POLICY, csp);
    }
    session.respond(&state, response).await
}

/// POST /admin/apps/{id}/first-party: admin consent given.
pub async fn post_first_party(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    admin: AdminUser,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let act =
        async |id| admin::clients::set_first_party(&state.admin, &admin.actor, id, true).await;
    act_and_return(
        &req,
        &state,
        lang,
        session,
        &path,
        "admin-done-app-first-party",
        act,
    )
    .await
}

/// POST /admin/apps/{id}/first-party/off: admin consent taken back.
pub async fn post_first_party_off(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    admin: AdminUser,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let act =
        async |id| admin::clients::set_first_party(&state.admin, &admin.actor, id, false).await;
    act_and_return(
        &req,
        &state,
        lang,
        session,
        &path,
        "admin-done-app-third-party",
        act,
    )
    .await
}

#[derive(Deserialize)]
pub struct MinAcrForm {
    csrf: String,
    min_acr: String,
}

/// POST /admin/apps/{id}/min-acr: the weakest sign-in the app accepts (`1fa`, `2fa`, `phr`).
pub async fn post_min_acr(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    admin: AdminUser,
    path: web::Path<String>,
    form: web::Form<MinAcrForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let Ok(min_acr) = Acr::parse(&form.min_acr) else {
        return Ok(HttpResponse::BadRequest().finish());
    };
    let act =
        async |id| admin::clients::set_min_acr(&state.admin, &admin.actor, id, Some(min_acr)).await;
    act_and_return(
        &req,
        &state,
        lang,
        session,
        &path,
        "admin-done-app-min-acr",
        act,
    )
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/app_confirm.html")]
struct ConfirmView {
    page: Page,
    nav: Nav,
    id: String,
    title: String,
    text: String,
    action: String,
    button: String,
}

async fn confirm_page(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    session: BrowserSession,
    raw: &str,
    what: &str,
) -> Result<HttpResponse, WebError> {
    let Some(client) = load(state, raw).await? else {
        return missing(req, state, lang, session).await;
    };
    let id = client.id.to_string();
    let action = format!("/admin/apps/{id}/{what}");
    let key = if what == "delete" {
        "admin-app-delete"
    } else {
        "admin-app-revoke-all"
    };
    let view = ConfirmView {
        page: Page::new(lang, session.0.csrf_token(), &action),
        nav: Nav::new(SECTION),
        title: lang.t_args(&format!("{key}-title"), &[("app", client.name.clone())]),
        text: lang.t_args(&format!("{key}-text"), &[("app", client.name)]),
        button: lang.t(&format!("{key}-button")),
        id,
        action,
    };
    let response = render(req, StatusCode::OK, view);
    session.respond(state, response).await
}

/// GET /admin/apps/{id}/consents/revoke: the confirmation.
pub async fn get_revoke_consents(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    _admin: AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    confirm_page(&req, &state, lang, session, &path, "consents/revoke").await
}

/// POST /admin/apps/{id}/consents/revoke: everyone's consent, grants and tokens go.
pub async fn post_revoke_consents(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    admin: AdminUser,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let act = async |id| {
        admin::clients::revoke_all_consents(&state.admin, &admin.actor, &state.session, id)
            .await
            .map(|_| true)
    };
    act_and_return(
        &req,
        &state,
        lang,
        session,
        &path,
        "admin-done-app-consents-revoked",
        act,
    )
    .await
}

/// GET /admin/apps/{id}/delete: the confirmation, naming the app.
pub async fn get_delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    _admin: AdminUser,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    confirm_page(&req, &state, lang, session, &path, "delete").await
}

/// POST /admin/apps/{id}/delete: removed, back to the list.
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
    let Some(client) = load(&state, &path).await? else {
        return missing(&req, &state, lang, session).await;
    };
    if !admin::clients::remove(&state.admin, &admin.actor, client.id).await? {
        return missing(&req, &state, lang, session).await;
    }
    session
        .respond(&state, see_other("/admin/apps?done=admin-done-app-removed"))
        .await
}
