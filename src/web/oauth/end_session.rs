//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;

use super::OAuthErrorView;
use super::request_pairs;
use crate::web::{
    BrowserSession, Page, RequestLang, WebError,
    page::{render, see_other},
};
use crate::{
    i18n::Lang,
    oauth::{
        logout::{self, After, EndSession},
        params::Params,
    },
    state::AppState,
};

#[derive(Template, WebTemplate)]
#[template(path = "logout_confirm.html")]
struct LogoutConfirmView {
    page: Page,
    /// Where to go afterwards (already checked), carried through the confirmation form and
    /// signed with `issued` and this browser's session (see `logout::sign_confirmation`).
    then: String,
    issued: i64,
    signature: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "signed_out.html")]
struct SignedOutView {
    page: Page,
}

/// GET and POST /end-session (RP-Initiated Logout 1.0 §2).
pub async fn end_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: Option<web::Form<Vec<(String, String)>>>,
) -> Result<HttpResponse, WebError> {
    let pairs = request_pairs(&req, form);
    let params = match Params::from_pairs(pairs) {
        Ok(p) => p,
        Err(e) => {
            return Ok(render(
                &req,
                StatusCode::BAD_REQUEST,
                OAuthErrorView {
                    page: Page::without_form(lang, "/end-session"),
                    description: e.description.into_owned(),
                },
            ));
        }
    };
    let lang = params
        .get("ui_locales")
        .and_then(|l| l.split_ascii_whitespace().find_map(Lang::from_code))
        .unwrap_or(lang);
    let session_sub = match session.0.signed_in() {
        Some(signed_in) => {
            let id = signed_in.account_id;
            state
                .db
                .run(move |conn| crate::db::models::account::find_by_id(conn, id))
                .await?
                .map(|a| a.sub.to_string())
        }
        None => None,
    };
    let decision = logout::end_session(&state.oauth, &params, session_sub.as_deref()).await?;
    match decision {
        EndSession::Refuse(e) => Ok(render(
            &req,
            StatusCode::BAD_REQUEST,
            OAuthErrorView {
                page: Page::without_form(lang, "/end-session"),
                description: e.description.into_owned(),
            },
        )),
        EndSession::SignOut { then } => sign_out_then(&req, &state, lang, session, then).await,
        EndSession::Confirm { then } => {
            let then = match then {
                After::Redirect(uri) => uri,
                After::Page => String::new(),
            };
            // The checked destination travels in the form, signed and bound to this browser's
            // session: nothing is stored for a confirmation page, and the form cannot be edited
            // into an open redirect or replayed in another browser.
            let (issued, signature) =
                logout::confirmation(&state.oauth, session.0.csrf_token(), &then);
            let view = LogoutConfirmView {
                page: Page::new(lang, session.0.csrf_token(), "/end-session"),
                then,
                issued,
                signature,
            };
            let response = render(&req, StatusCode::OK, view);
            session.respond(&state, response).await
        }
    }
}

#[derive(serde::Deserialize)]
pub struct ConfirmForm {
    csrf: String,
    #[serde(default)]
    then: String,
    #[serde(default)]
    issued: String,
    #[serde(default)]
    signature: String,
}

/// POST /end-session/confirm: the person confirmed signing out.
pub async fn post_end_session_confirm(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    // A form whose destination does not verify is treated like a stale form.
    let then = logout::check_confirmation(
        &state.oauth,
        session.0.csrf_token(),
        &form.issued,
        &form.then,
        &form.signature,
    )
    .ok_or(WebError::Csrf)?;
    sign_out_then(&req, &state, lang, session, then).await
}

async fn sign_out_then(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    session: BrowserSession,
    then: After,
) -> Result<HttpResponse, WebError> {
    if let Some(signed_in) = session.0.signed_in() {
        tracing::info!(account_id = %signed_in.account_id, "signed out by an app (RP-initiated logout)");
    }
    let response = match then {
        After::Redirect(uri) => see_other(&uri),
        After::Page => render(
            req,
            StatusCode::OK,
            SignedOutView {
                page: Page::without_form(lang, "/end-session"),
            },
        ),
    };
    session.end(state, response).await
}

#[cfg(test)]
mod tests {
    use actix_web::ResponseError as _;

    use super::*;
    use crate::oauth::error::OAuthError;

    /// A failure of ours during end-session is a 500 page; only a store or database that is
    /// briefly down is a 503 with `Retry-After`.
    #[test]
    fn a_server_error_is_a_500_and_only_unavailability_a_503() {
        let server = WebError::from(OAuthError::server("key ring broken"));
        assert_eq!(server.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            server
                .error_response()
                .headers()
                .get("retry-after")
                .is_none()
        );
        let down = WebError::from(OAuthError::unavailable("database down"));
        assert_eq!(down.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(down.error_response().headers().get("retry-after").is_some());
    }
}
