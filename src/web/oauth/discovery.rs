//! The discovery document and the JWKS.

use actix_web::{HttpResponse, http::header, web};

use crate::state::AppState;

/// GET /.well-known/openid-configuration
pub async fn get_discovery(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .content_type("application/json")
        .body(state.discovery_json.clone())
}

/// GET /jwks.json: current and recently retired public keys.
pub async fn get_jwks(state: web::Data<AppState>) -> HttpResponse {
    // The lifetime that a new key's activation delay waits out (oidc::keys::ACTIVATION_DELAY).
    let max_age = crate::oidc::keys::JWKS_MAX_AGE_SECS;
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={max_age}")))
        .content_type("application/jwk-set+json")
        .body(state.keys.current().jwks_json().to_owned())
}
