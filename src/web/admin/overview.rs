//! GET /admin: the overview.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;

use super::{AdminUser, Nav};
use crate::{
    state::AppState,
    web::{BrowserSession, Page, RequestLang, WebError, page::render},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("").get(get_overview));
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/overview.html")]
struct OverviewView {
    page: Page,
    nav: Nav,
    admin_name: String,
}

pub async fn get_overview(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    admin: AdminUser,
) -> Result<HttpResponse, WebError> {
    let view = OverviewView {
        page: Page::new(lang, session.0.csrf_token(), "/admin"),
        nav: Nav::new("/admin"),
        admin_name: admin.account.display_name.to_string(),
    };
    let response = render(&req, StatusCode::OK, view);
    session.respond(&state, response).await
}
