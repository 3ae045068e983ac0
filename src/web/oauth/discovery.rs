//! The discovery document and the JWKS.

use actix_web::{
    HttpResponse,
    http::header::{self, HeaderValue},
    web,
};

use crate::state::AppState;

// Both documents are written once and read by every relying party, often: each response shares
// the body's bytes and names static header values, so it allocates and copies neither.

/// GET /.well-known/openid-configuration
pub async fn get_discovery(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        ))
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ))
        .body(state.discovery_json.clone())
}

/// GET /jwks.json: current and recently retired public keys.
pub async fn get_jwks(state: web::Data<AppState>) -> HttpResponse {
    // The lifetime that a new key's activation delay waits out (oidc::keys::ACTIVATION_DELAY).
    HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static(crate::oidc::keys::JWKS_CACHE_CONTROL),
        ))
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/jwk-set+json"),
        ))
        .body(state.keys.current().jwks_json().clone())
}
