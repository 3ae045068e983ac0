//! The stylesheet (compiled into the binary) and the liveness probe.

use actix_web::{HttpResponse, http::header};

const STYLESHEET: &str = include_str!("../../../static/style.css");

pub async fn get_stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(STYLESHEET)
}

/// The process is up and serving.
pub async fn get_healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok")
}
