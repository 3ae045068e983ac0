//! GET and POST /userinfo (OIDC Core §5.3).

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};

use crate::{
    domain::ScopeToken,
    oauth::resource::{self, BearerError},
    oidc::tokens::userinfo_claims,
    state::AppState,
};

/// GET and POST /userinfo (OIDC Core §5.3): the token from the `Authorization: Bearer` header,
/// or `access_token` in a form body (RFC 6750 §2.2).
pub async fn userinfo(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Option<web::Form<Vec<(String, String)>>>,
) -> HttpResponse {
    let from_header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .map(str::to_owned);
    let from_body = form.and_then(|f| {
        f.into_inner()
            .into_iter()
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v)
    });
    let token = match (from_header, from_body) {
        (Some(t), None) | (None, Some(t)) => t,
        // RFC 6750 §3.1: no token at all gets a bare challenge; two tokens is a bad request.
        (None, None) => return bearer_challenge(StatusCode::UNAUTHORIZED, None),
        (Some(_), Some(_)) => {
            return bearer_challenge(
                StatusCode::BAD_REQUEST,
                Some(("invalid_request", "send the access token once")),
            );
        }
    };
    match resource::validate(&state, &token).await {
        Ok((claims, grant, Some(account))) if grant.scope.contains(ScopeToken::OpenId) => {
            let _ = claims;
            HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(userinfo_claims(&account, &grant.scope))
        }
        Ok(_) => bearer_challenge(
            StatusCode::FORBIDDEN,
            Some((
                "insufficient_scope",
                "the token does not carry the openid scope",
            )),
        ),
        Err(BearerError::Invalid) => bearer_challenge(
            StatusCode::UNAUTHORIZED,
            Some((
                "invalid_token",
                "the access token is invalid, expired or revoked",
            )),
        ),
        Err(BearerError::Unavailable(detail)) => {
            tracing::warn!(%detail, "userinfo unavailable");
            HttpResponse::ServiceUnavailable()
                .insert_header((header::RETRY_AFTER, "5"))
                .finish()
        }
    }
}

/// The token of an `Authorization: Bearer` header. The scheme name is case-insensitive
/// (RFC 7235 §2.1, which RFC 6750 §2.1 builds on): `bearer` and `BEARER` are `Bearer`.
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn bearer_challenge(status: StatusCode, error: Option<(&str, &str)>) -> HttpResponse {
    let challenge = match error {
        Some((code, description)) => {
            format!("Bearer realm=\"oneid\", error=\"{code}\", error_description=\"{description}\"")
        }
        None => "Bearer realm=\"oneid\"".to_owned(),
    };
    HttpResponse::build(status)
        .insert_header((header::WWW_AUTHENTICATE, challenge))
        .content_type("application/json")
        .body("{}")
}
