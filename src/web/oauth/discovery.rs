//! The discovery document and the JWKS.

use std::{sync::Arc, time::Duration as StdDuration};

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};
use askama::Template;
use askama_web::WebTemplate;
use base64::{Engine as _, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};

use super::{json_error, record_audit};
use crate::web::{
    BrowserSession, Page, RequestLang, WebError,
    client::client_info,
    page::{render, see_other},
};
use crate::{
    account::limits,
    audit::{self, AuditEvent},
    domain::ScopeToken,
    i18n::Lang,
    oauth::{
        authorize::{self, ClientResponse, Decisions, Interaction, Outcome, ResponseMode},
        client_auth,
        error::{ErrorCode, OAuthError},
        logout::{self, After, EndSession},
        params::Params,
        resource::{self, BearerError},
        revocation, token,
    },
    oidc::{
        discovery,
        tokens::{random_token, userinfo_claims},
    },
    state::AppState,
};

/// GET /.well-known/openid-configuration
pub async fn get_discovery(state: web::Data<AppState>) -> HttpResponse {
    let issuer = crate::oauth::engine::issuer(&state);
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(discovery::provider_metadata(&issuer))
}

/// GET /jwks.json: current and recently retired public keys.
pub async fn get_jwks(state: web::Data<AppState>) -> HttpResponse {
    // The lifetime that a new key's activation delay waits out (oidc::keys::ACTIVATION_DELAY).
    let max_age = crate::oidc::keys::JWKS_MAX_AGE_SECS;
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={max_age}")))
        .content_type("application/jwk-set+json")
        .body(serde_json::to_string(&state.keys.current().jwks()).unwrap_or_default())
}
