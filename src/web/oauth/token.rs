//! POST /token, /revoke (RFC 7009) and /introspect (RFC 7662).

use actix_web::{HttpRequest, HttpResponse, http::header, web};

use super::record_audit;
use crate::{
    oauth::{
        client_auth::{self, Authenticated},
        error::{ErrorCode, OAuthError},
        params::Params,
        revocation, token,
    },
    state::AppState,
    web::error::json_error,
};

/// POST /token.
pub async fn post_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, OAuthError> {
    let params = form_params(&req, form)?;
    let (response, issued) = token::token(&state.oauth, params).await?;
    record_audit(&req, &state, Some(issued)).await;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}

/// The body of the token, revocation and introspection endpoints must be a form (RFC 6749
/// §3.2, RFC 7009 §2.1, RFC 7662 §2.1). Anything else (JSON, no content type, too large) is
/// the protocol's JSON `invalid_request` (RFC 6749 §5.2), not the HTML error page.
pub fn protocol_form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(crate::web::FORM_LIMIT_BYTES)
        .error_handler(|err, _req| {
            let response = json_error(&OAuthError::new(
                ErrorCode::InvalidRequest,
                "the body must be an application/x-www-form-urlencoded form of at most 16 KiB",
            ));
            actix_web::error::InternalError::from_response(err, response).into()
        })
}

/// Reads a form body and the Basic header into protocol parameters, or answers with the error.
fn form_params(
    req: &HttpRequest,
    form: web::Form<Vec<(String, String)>>,
) -> Result<Params, OAuthError> {
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    Params::from_pairs(form.into_inner()).and_then(|p| p.with_basic_header(basic))
}

/// What revocation and introspection both start with: an authenticated client and a token.
async fn client_and_token(
    req: &HttpRequest,
    state: &AppState,
    form: web::Form<Vec<(String, String)>>,
) -> Result<(Authenticated, Params, String), OAuthError> {
    let params = form_params(req, form)?;
    let client = client_auth::authenticate(&state.oauth, &params).await?;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::new(ErrorCode::InvalidRequest, "token is missing"))?
        .to_owned();
    Ok((client, params, token))
}

/// POST /revoke (RFC 7009).
pub async fn post_revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, OAuthError> {
    let (client, params, token) = client_and_token(&req, &state, form).await?;
    let hint = params.get("token_type_hint");
    let revoked = revocation::revoke(&state.oauth, &client, &token, hint).await?;
    record_audit(&req, &state, revoked).await;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// POST /introspect (RFC 7662).
pub async fn post_introspect(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, OAuthError> {
    let (client, params, token) = client_and_token(&req, &state, form).await?;
    let hint = params.get("token_type_hint");
    let answer = revocation::introspect(&state.oauth, &client, &token, hint).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(answer))
}
