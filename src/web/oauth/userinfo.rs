//! GET and POST /userinfo (OIDC Core §5.3).

use actix_web::{HttpRequest, HttpResponse, http::header, web};

use crate::{
    domain::ScopeToken, oauth::resource, oidc::tokens::userinfo_claims, state::AppState,
    web::error::BearerRefusal,
};

/// GET and POST /userinfo (OIDC Core §5.3): the token from the `Authorization: Bearer` header,
/// or `access_token` in a form body (RFC 6750 §2.2).
pub async fn userinfo(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Option<web::Form<Vec<(String, String)>>>,
) -> Result<HttpResponse, BearerRefusal> {
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
        (None, None) => return Err(BearerRefusal::Missing),
        (Some(_), Some(_)) => return Err(BearerRefusal::SentTwice),
    };
    match resource::validate(&state.oauth, &token).await? {
        (_, grant, Some(account)) if grant.scope.contains(ScopeToken::OpenId) => {
            Ok(HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(userinfo_claims(&account, &grant.scope)))
        }
        _ => Err(BearerRefusal::InsufficientScope),
    }
}

/// The token of an `Authorization: Bearer` header. The scheme name is case-insensitive
/// (RFC 7235 §2.1, which RFC 6750 §2.1 builds on): `bearer` and `BEARER` are `Bearer`.
pub(crate) fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_needs_a_token() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("BEARER abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
