//! Sign-in, sign-out and back-channel logout over HTTP.

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};
use openidconnect::url::form_urlencoded;
use serde::Deserialize;

use super::{login_cookie, login_cookie_name, pages, removal, session_cookie, session_id};
use crate::{
    auth::{self, CallbackError},
    clock,
    oidc::login::{Callback, LoginError, Prompt},
    state::AppState,
};

fn see_other(location: &str) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::SeeOther();
    builder.insert_header((header::LOCATION, location));
    builder
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    /// `login` asks OneID for a fresh sign-in (`prompt=login`), as an app does before
    /// something sensitive; other values are ignored.
    prompt: Option<String>,
}

/// "Sign in with OneID": off to OneID's authorization endpoint.
pub async fn get_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<LoginQuery>,
) -> HttpResponse {
    let browser = req.cookie(&login_cookie_name(&state));
    let prompt = query.prompt.as_deref().and_then(Prompt::parse);
    let redirect = auth::begin_login(
        &state,
        browser.as_ref().map(|c| c.value()),
        prompt,
        clock::now(),
    );
    see_other(redirect.url.as_str())
        .cookie(login_cookie(&state, &redirect.browser))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
}

/// OneID sends the browser back here (Core §3.1.2.5), with a code or an error.
pub async fn get_callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<CallbackQuery>,
) -> HttpResponse {
    let query = query.into_inner();
    let callback = match (query.code, query.error) {
        (_, Some(error)) => Callback::Error {
            error,
            description: query.error_description,
            iss: query.iss,
        },
        (Some(code), None) => Callback::Code {
            code,
            iss: query.iss,
        },
        (None, None) => {
            return pages::error(
                &state,
                StatusCode::BAD_REQUEST,
                "Sign-in did not finish",
                "OneID's answer was incomplete. Please sign in again.",
            );
        }
    };
    let Some(oauth_state) = query.state else {
        return pages::error(
            &state,
            StatusCode::BAD_REQUEST,
            "Sign-in did not finish",
            "OneID's answer was incomplete. Please sign in again.",
        );
    };
    let browser = req.cookie(&login_cookie_name(&state));
    let outcome = auth::complete_login(
        &state,
        browser.as_ref().map(|c| c.value()),
        session_id(&state, &req).as_ref(),
        &oauth_state,
        callback,
        clock::now(),
    )
    .await;
    match outcome {
        Ok(id) => see_other("/")
            .cookie(session_cookie(&state, &id))
            .cookie(removal(&state, login_cookie_name(&state)))
            .finish(),
        Err(CallbackError::UnknownState) => pages::error(
            &state,
            StatusCode::BAD_REQUEST,
            "This sign-in has expired",
            "It took too long, or it was started in another browser. Please sign in again.",
        ),
        Err(CallbackError::Login(LoginError::Denied { error, .. })) if error == "access_denied" => {
            pages::error(
                &state,
                StatusCode::OK,
                "Sign-in cancelled",
                "You did not sign in. You can try again whenever you like.",
            )
        }
        Err(CallbackError::Login(e)) => {
            tracing::warn!(error = %e, "sign-in failed");
            pages::error(
                &state,
                StatusCode::BAD_GATEWAY,
                "Sign-in failed",
                "Something went wrong between this app and OneID. Please try again.",
            )
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// "Sign out": the local session ends here, then OneID's (RP-Initiated Logout).
pub async fn post_logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let now = clock::now();
    let Some(id) = session_id(&state, &req) else {
        return see_other("/").finish();
    };
    let Some(session) = state.sessions.get(&id, now) else {
        return see_other("/")
            .cookie(removal(&state, state.app.cookie_name()))
            .finish();
    };
    if !session.check_csrf(&form.csrf) {
        return pages::forbidden(&state);
    }
    let to = auth::sign_out(&state, &id);
    see_other(to.as_ref().map_or("/", |u| u.as_str()))
        .cookie(removal(&state, state.app.cookie_name()))
        .finish()
}

/// Back-Channel Logout 1.0 §2.5 to §2.8: OneID posts a logout token; 200 when it is valid
/// (whether or not a session was still here), 400 with an OAuth error otherwise.
pub async fn post_backchannel_logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let token = match logout_token_param(&req, &body) {
        Ok(token) => token,
        Err(description) => return backchannel_error(description),
    };
    match auth::backchannel_logout(&state, &token, clock::now()).await {
        Ok(_) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Err(e) => {
            tracing::info!(error = %e, "logout token refused");
            backchannel_error(&e.to_string())
        }
    }
}

/// §2.5: exactly one `logout_token`, in a form-encoded body.
fn logout_token_param(req: &HttpRequest, body: &[u8]) -> Result<String, &'static str> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err("the request must be application/x-www-form-urlencoded");
    }
    let mut tokens = form_urlencoded::parse(body)
        .filter(|(name, _)| name == "logout_token")
        .map(|(_, value)| value.into_owned());
    match (tokens.next(), tokens.next()) {
        (Some(token), None) => Ok(token),
        (None, _) => Err("logout_token is missing"),
        (Some(_), Some(_)) => Err("logout_token is repeated"),
    }
}

/// §2.8: a refusal, as an OAuth 2.0 error response.
fn backchannel_error(description: &str) -> HttpResponse {
    HttpResponse::BadRequest()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({
            "error": "invalid_request",
            "error_description": description,
        }))
}
