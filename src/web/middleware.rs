//! Middleware for every response: security headers, and one log line per request.

use std::time::Instant;

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{self, HeaderValue},
    middleware::{DefaultHeaders, Next},
};

/// No script at all, styles from our own origin, no framing (clickjacking), and no referrer
/// that could carry a code or token to another site.
///
/// No `form-action`: browsers apply it to every redirect that follows a form submission, and
/// OneID's sign-in, sign-up and consent forms rightly end at an app's registered redirect URI
/// (found by the headless-browser test). Pages have no script and escape all output, so there is
/// no injected form for `form-action` to stop; the form_post page sets its own, naming the app.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",

        ))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
}

/// One line per request: method, path, status, latency. The path only: query strings can
/// carry codes and tokens, and cookies and bodies are never logged.
pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let mut response = next.call(req).await?;
    // Pages are personal and carry CSRF tokens: never store them in shared caches.
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(%method, path, status, latency_ms = format_args!("{latency_ms:.1}"), "request");
    Ok(response)
}

/// Cross-origin access for the endpoints a browser-based app (a public client running in the
/// page) calls directly: discovery, JWKS, token, UserInfo and revocation. Any origin, and never
/// with credentials: these endpoints trust only what a request carries (code and PKCE
/// verifier, client credentials, bearer token), never cookies, so a page on another origin
/// gains nothing it did not already hold. The pages themselves get no CORS at all.
pub fn protocol_cors() -> actix_cors::Cors {
    actix_cors::Cors::default()
        .allow_any_origin()
        .send_wildcard()
        .allowed_methods(["GET", "POST"])
        .allowed_headers([
            actix_web::http::header::AUTHORIZATION,
            actix_web::http::header::CONTENT_TYPE,
            actix_web::http::header::ACCEPT,
        ])
        .max_age(86_400)
}
