//! The stylesheet (compiled into the binary).

use actix_web::{HttpResponse, http::header};

const STYLESHEET: &str = include_str!("../../../static/style.css");

pub async fn get_stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(STYLESHEET)
}
