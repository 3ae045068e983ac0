//! HTTP for the protocol, one file per endpoint: authorization (with its sign-in and consent
//! detours), token (with revocation and introspection), UserInfo, discovery and JWKS, and
//! RP-initiated logout. Parsing and rendering only; the flows live in `oauth`.

mod authorize;
mod discovery;
mod end_session;
mod token;
mod userinfo;

pub use authorize::{authorize, get_consent, post_consent, resume};
pub use discovery::{get_discovery, get_jwks};
pub use end_session::{end_session, post_end_session_confirm};
pub use token::{post_introspect, post_revoke, post_token, protocol_form_config};
pub use userinfo::userinfo;

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
};

use askama::Template;
use askama_web::WebTemplate;

use super::{Page, client::client_info};
use crate::{
    audit::AuditEvent,
    oauth::error::{ErrorCode, OAuthError},
    state::AppState,
};

/// Records what the protocol core reported, with the address and user agent of the request.
pub(super) async fn record_audit(req: &HttpRequest, state: &AppState, event: Option<AuditEvent>) {
    if let Some(event) = event {
        state.audit.record(event.from(&client_info(req))).await;
    }
}

/// RFC 6749 §5.2: a JSON error; 401 with `WWW-Authenticate` when client authentication failed.
pub(super) fn json_error(error: &OAuthError) -> HttpResponse {
    if let Some(detail) = &error.detail {
        tracing::warn!(error = error.code.as_str(), %detail, "protocol request failed");
    }
    let status = StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    if error.code == ErrorCode::InvalidClient {
        response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"oneid\""));
    }
    if error.code == ErrorCode::TemporarilyUnavailable {
        response.insert_header((header::RETRY_AFTER, "5"));
    }
    response.json(
        serde_json::json!({ "error": error.code.as_str(), "error_description": error.description }),
    )
}

#[derive(Template, WebTemplate)]
#[template(path = "oauth_error.html")]
pub(super) struct OAuthErrorView {
    pub(super) page: Page,
    pub(super) description: String,
}
