//! The one door to `/admin`: every request under it passes [`admit`] before routing, so no
//! page or API route can be added without it. The console's pages need an administrator whose
//! sign-in is fresh; the API needs an access token from the client credentials grant that
//! carries the `admin` scope. Anyone else gets 403 (401 for the API without a valid token),
//! the same for every path, existing or not, so the answer says nothing about what is there.

use actix_web::{
    Error, FromRequest, HttpMessage, HttpRequest, HttpResponse,
    body::{BoxBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::{StatusCode, header},
    middleware::Next,
    web,
};

use super::api::ApiError;
use crate::{
    db::models::account::{self, Account, AccountStatus},
    domain::{Acr, Actor, ClientId, Role, ScopeToken},
    oauth::resource::{self, BearerError},
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError,
        oauth::bearer_token,
        page::{render, see_other},
        pages::{
            account::require_recent,
            second_factor::{SecondFactorAsk, Then, ask_second_factor},
        },
    },
};

/// The administrator a console page acts as; put on the request by [`admit`].
#[derive(Debug, Clone)]
pub struct AdminUser {
    pub account: Account,
    pub actor: Actor,
}

/// The client an API request acts as; put on the request by [`admit`].
#[derive(Debug, Clone)]
pub struct ApiClient {
    pub client: ClientId,
    pub actor: Actor,
}

/// Runs before everything under `/admin`.
pub async fn admit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| WebError::Internal("AppState missing".into()))?;
    if req.path().starts_with("/admin/api/") {
        return match check_api_token(&state, req.request()).await {
            Ok(client) => {
                req.extensions_mut().insert(client);
                Ok(next.call(req).await?.map_into_boxed_body())
            }
            Err(refused) => Ok(req.into_response(refused.into_response())),
        };
    }
    let (http, mut payload) = req.into_parts();
    let session = BrowserSession::from_request(&http, &mut payload).await?;
    match check_console_admin(&state, &session, &http).await? {
        Ok(_) if !used_second_factor(&session) => {
            let response = ask_admin_second_factor(&state, session, &http).await?;
            Ok(ServiceResponse::new(http, response))
        }
        Ok(admin) => {
            http.extensions_mut().insert(admin);
            // The handler's `BrowserSession` is this one (see its extractor): loaded once.
            http.extensions_mut().insert(session);
            let req = ServiceRequest::from_parts(http, payload);
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        Err(response) => Ok(ServiceResponse::new(http, response)),
    }
}

/// The console: someone signed in (else: sign in), an administrator whose account is active
/// (else 403), whose sign-in is recent (else: confirm it's you, then come back here; a form
/// posted after the window goes back to the page it came from, or the overview).
async fn check_console_admin(
    state: &AppState,
    session: &BrowserSession,
    req: &HttpRequest,
) -> Result<Result<AdminUser, HttpResponse>, WebError> {
    let Some(person) = session.0.signed_in().cloned() else {
        return Ok(Err(see_other("/login")));
    };
    let id = person.account_id;
    let found = state
        .db
        .run(move |conn| account::find_by_id(conn, id))
        .await?;
    let Some(account) =
        found.filter(|a| a.role == Some(Role::Admin) && a.status == AccountStatus::Active)
    else {
        return Ok(Err(actix_web::ResponseError::error_response(
            &WebError::NotAllowed,
        )));
    };
    let back_to = if req.method() == actix_web::http::Method::GET {
        req.uri()
            .path_and_query()
            .map_or("/admin", |p| p.as_str())
            .to_owned()
    } else {
        "/admin".to_owned()
    };
    if let Some(confirm) = require_recent(state, &person, &back_to) {
        return Ok(Err(confirm));
    }
    Ok(Ok(AdminUser {
        actor: Actor::Admin(account.id),
        account,
    }))
}

/// The session proved a second factor (`acr` `2fa` or `phr`): the console can change every
/// account and app, so a password (or a code to the phone) alone never opens it, nor does a
/// browser remembered for the second factor.
fn used_second_factor(session: &BrowserSession) -> bool {
    session
        .0
        .signed_in()
        .is_some_and(|person| Acr::of_amr(&person.amr) >= Acr::TwoFactor)
}

/// The administrator's second factor, asked now (then back to the console); an administrator
/// without one gets a page that says how to add one.
async fn ask_admin_second_factor(
    state: &AppState,
    mut session: BrowserSession,
    req: &HttpRequest,
) -> Result<HttpResponse, WebError> {
    let response = match ask_second_factor(state, &mut session, Acr::TwoFactor, Then::Admin).await?
    {
        SecondFactorAsk::Redirect(location) => see_other(location),
        SecondFactorAsk::NoMethod => {
            let lang = RequestLang::from_request_head(req).0;
            let view = NeedsSecondFactorView {
                page: Page::without_form(lang, "/admin"),
            };
            render(req, StatusCode::FORBIDDEN, view)
        }
    };
    session.respond(state, response).await
}

/// The page for an administrator without a second factor.
#[derive(askama::Template, askama_web::WebTemplate)]
#[template(path = "admin_needs_second_factor.html")]
struct NeedsSecondFactorView {
    page: Page,
}

/// The API: an `Authorization: Bearer` access token of ours, live, issued to a client acting
/// for itself (client credentials: no person behind it) with the `admin` scope. No token or a
/// bad one is 401 (RFC 6750 §3.1 `invalid_token`); a good token without the scope, or a
/// person's token, is 403 `insufficient_scope`.
async fn check_api_token(state: &AppState, req: &HttpRequest) -> Result<ApiClient, ApiError> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .ok_or_else(ApiError::unauthorized)?;
    let (_, grant, person) = match resource::validate(&state.oauth, token).await {
        Ok(valid) => valid,
        Err(BearerError::Invalid) => return Err(ApiError::unauthorized()),
        Err(BearerError::Unavailable(detail)) => return Err(ApiError::unavailable(detail)),
    };
    if person.is_some() || grant.account_id.is_some() || !grant.scope.contains(ScopeToken::Admin) {
        return Err(ApiError::insufficient_scope());
    }
    Ok(ApiClient {
        actor: Actor::Client(grant.client_id.clone()),
        client: grant.client_id,
    })
}

impl FromRequest for AdminUser {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            req.extensions()
                .get::<Self>()
                .cloned()
                .ok_or_else(|| WebError::Internal("admin page outside /admin".into()).into()),
        )
    }
}

impl FromRequest for ApiClient {
    type Error = Error;
    type Future = std::future::Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            req.extensions()
                .get::<Self>()
                .cloned()
                .ok_or_else(|| WebError::Internal("admin API outside /admin/api".into()).into()),
        )
    }
}
