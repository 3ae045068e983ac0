//! `/metrics`, the Prometheus text exposition of [`crate::telemetry`], and the per-request
//! instruments. Two doors: the operators' own listener (`[metrics] listen`), where the address
//! is the protection, and the public listener, open only to `Authorization: Bearer
//! <[metrics] token>` and answering 404 as for any unknown path when no token is set.

use actix_web::{HttpRequest, HttpResponse, dev::ServiceResponse, http::header, web};
use subtle::ConstantTimeEq as _;

use super::oauth::bearer_token;
use crate::{domain::Secret, state::AppState};

/// Prometheus' text format, version 0.0.4 (what every Prometheus-compatible scraper reads).
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `/metrics` on the public listener.
pub async fn get_metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(token) = &state.settings.metrics.token else {
        // Not exposed here: the same 404 page as any path that does not exist.
        return HttpResponse::NotFound().finish();
    };
    if !check_bearer(&req, token) {
        // RFC 6750 §3.1; JSON, so the error-page renderer leaves the challenge in place.
        return HttpResponse::Unauthorized()
            .insert_header((
                header::WWW_AUTHENTICATE,
                "Bearer realm=\"oneid-metrics\", error=\"invalid_token\"",
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({ "error": "invalid_token" }));
    }
    exposition()
}

/// `/metrics` on the operators' own listener: no token.
pub async fn get_metrics_unguarded() -> HttpResponse {
    exposition()
}

fn exposition() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(crate::telemetry::render())
}

/// The request carries `Authorization: Bearer <token>`. Compared in constant time, so the
/// answer's timing says nothing of how much of a guess was right.
fn check_bearer(req: &HttpRequest, token: &Secret) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token)
        .is_some_and(|presented| presented.as_bytes().ct_eq(token.expose().as_bytes()).into())
}

/// Counts and times one answered request under its route pattern (never its raw path).
pub fn observe_request<B>(response: &ServiceResponse<B>, elapsed: std::time::Duration) {
    let request = response.request();
    let route = request.match_pattern();
    crate::telemetry::http_request(
        request.method().as_str(),
        route.as_deref(),
        response.status().as_u16(),
        elapsed,
    );
}
