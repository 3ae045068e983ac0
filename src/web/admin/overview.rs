//! GET /admin: the overview: accounts by status, the last 24 hours, back-channel deliveries.

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
    /// (catalog key, number), in the order shown.
    numbers: Vec<(&'static str, i64)>,
}

pub async fn get_overview(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    admin: AdminUser,
) -> Result<HttpResponse, WebError> {
    let o = crate::admin::overview::overview(&state.admin).await?;
    let numbers = vec![
        ("admin-overview-accounts", o.accounts),
        ("admin-overview-active", o.accounts_active),
        ("admin-overview-locked", o.accounts_locked),
        ("admin-overview-disabled", o.accounts_disabled),
        ("admin-overview-deleted", o.accounts_deleted),
        ("admin-overview-sign-ins", o.sign_ins_24h),
        ("admin-overview-failed-sign-ins", o.failed_sign_ins_24h),
        ("admin-overview-codes-sms", o.codes_sms_24h),
        ("admin-overview-codes-email", o.codes_email_24h),
        ("admin-overview-limits", o.limits_tripped_24h),
        ("admin-overview-backchannel-pending", o.backchannel_pending),
        (
            "admin-overview-backchannel-abandoned",
            o.backchannel_abandoned,
        ),
    ];
    let view = OverviewView {
        numbers,
        page: Page::new(lang, session.0.csrf_token(), "/admin"),
        nav: Nav::new("/admin"),
        admin_name: admin.account.display_name.to_string(),
    };
    let response = render(&req, StatusCode::OK, view);
    session.respond(&state, response).await
}
