//! HTTP for the protocol, one file per endpoint: authorization (with its sign-in and consent
//! detours), token (with revocation and introspection), UserInfo, discovery and JWKS, and
//! RP-initiated logout. Parsing and rendering only; the flows live in `oauth`, and errors
//! become responses in `web::error`.

mod authorize;
mod discovery;
mod end_session;
mod token;
mod userinfo;

pub(crate) use authorize::scope_message_key;
pub use authorize::{authorize, get_consent, post_consent, post_give_up, resume};
pub use discovery::{get_discovery, get_jwks};
pub use end_session::{end_session, post_end_session_confirm};
pub use token::{post_introspect, post_revoke, post_token, protocol_form_config};
pub(crate) use userinfo::bearer_token;
pub use userinfo::userinfo;

use actix_web::HttpRequest;
use askama::Template;
use askama_web::WebTemplate;

use super::{Page, client::client_info};
use crate::{audit::AuditEvent, state::AppState};

/// Records what the protocol core reported, with the address and user agent of the request.
pub(super) async fn record_audit(req: &HttpRequest, state: &AppState, event: Option<AuditEvent>) {
    if let Some(event) = event {
        state.audit.record(event.from(&client_info(req))).await;
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "oauth_error.html")]
pub(super) struct OAuthErrorView {
    pub(super) page: Page,
    pub(super) description: String,
}

/// The parameters of an endpoint that takes both GET and POST (OIDC Core §3.1.2.1, RP-Initiated
/// Logout §2): the form body of a POST, else the query string. Unparseable input is no
/// parameters, which the flow then refuses by name.
pub(super) fn request_pairs(
    req: &HttpRequest,
    form: Option<actix_web::web::Form<Vec<(String, String)>>>,
) -> Vec<(String, String)> {
    match form {
        Some(form) => form.into_inner(),
        None => actix_web::web::Query::<Vec<(String, String)>>::from_query(req.query_string())
            .map(|q| q.into_inner())
            .unwrap_or_default(),
    }
}
