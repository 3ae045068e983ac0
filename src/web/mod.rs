//! HTTP: routes, extractors, middleware, and one handler module per page. Handlers are thin:
//! parse the input, call one function of the account logic, render the answer.

mod admin;
mod client;
mod error;
mod health;
mod metrics;
mod middleware;
mod oauth;
mod page;
mod pages;
mod session;

use actix_web::web;

pub use admin::api::openapi as admin_openapi;
pub use client::Client;
pub use error::{WebError, render_error_page};
pub use metrics::get_metrics_unguarded;
use middleware::protocol_cors;
pub use middleware::{
    log_request, logo_source, page_csp_with_images, page_csp_with_logo, security_headers,
};
pub use page::{Page, RequestLang};
pub use session::BrowserSession;

/// Largest form body accepted; every field of every form fits many times over.
pub const FORM_LIMIT_BYTES: usize = 16 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::FormConfig::default().limit(FORM_LIMIT_BYTES))
        .configure(protocol_routes)
        .configure(pages::account::routes)
        .configure(pages::second_factor::routes)
        .configure(admin::routes)
        .service(
            web::resource("/signup")
                .get(pages::signup::get_signup)
                .post(pages::signup::post_signup),
        )
        .service(
            web::resource("/signup/verify")
                .get(pages::signup::get_verify)
                .post(pages::signup::post_verify),
        )
        .service(web::resource("/signup/resend").post(pages::signup::post_resend))
        .service(
            web::resource("/continue")
                .get(pages::continue_with::get_continue)
                .post(pages::continue_with::post_continue),
        )
        .service(
            web::resource("/continue/verify")
                .get(pages::continue_with::get_verify)
                .post(pages::continue_with::post_verify),
        )
        .service(web::resource("/continue/resend").post(pages::continue_with::post_resend))
        .service(
            web::resource("/continue/create")
                .get(pages::continue_with::get_create)
                .post(pages::continue_with::post_create),
        )
        .service(
            web::resource("/login")
                .get(pages::login::get_login)
                .post(pages::login::post_login),
        )
        .service(web::resource("/logout").post(pages::login::post_logout))
        .service(
            web::resource("/login/passkey/start")
                .app_data(pages::passkeys::json_config())
                .post(pages::passkeys::post_start),
        )
        .service(
            web::resource("/login/passkey/finish")
                .app_data(pages::passkeys::json_config())
                .post(pages::passkeys::post_finish),
        )
        .service(
            web::resource("/login/code")
                .get(pages::recover::get_code_login)
                .post(pages::recover::post_code_login),
        )
        .service(
            web::resource("/reset")
                .get(pages::recover::get_reset)
                .post(pages::recover::post_reset),
        )
        .service(
            web::resource("/unlock")
                .get(pages::recover::get_unlock)
                .post(pages::recover::post_unlock),
        )
        .service(
            web::resource("/recover/verify")
                .get(pages::recover::get_verify)
                .post(pages::recover::post_verify),
        )
        .service(web::resource("/recover/resend").post(pages::recover::post_resend))
        .service(web::resource("/lang/{code}").get(pages::lang::get_lang))
        .service(web::resource("/static/style.css").get(pages::assets::get_stylesheet))
        .service(web::resource("/healthz").get(health::get_healthz))
        .service(web::resource("/readyz").get(health::get_readyz))
        .service(web::resource("/metrics").get(metrics::get_metrics));
}

/// The OAuth 2.0 and OpenID Connect endpoints, registered before the pages: actix tries
/// resources in the order they were registered, one pattern match each, and these are the
/// paths that apps and resource servers call many times per person (token, introspection,
/// discovery, JWKS). Every path here is a fixed string that no other resource's pattern
/// matches, so the order changes which resource is tried first, never which one answers.
fn protocol_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/.well-known/openid-configuration")
            .wrap(protocol_cors())
            .get(oauth::get_discovery),
    )
    .service(
        web::resource("/jwks.json")
            .wrap(protocol_cors())
            .get(oauth::get_jwks),
    )
    .service(
        web::resource("/authorize")
            .get(oauth::authorize)
            .post(oauth::authorize),
    )
    .service(web::resource("/authorize/resume").get(oauth::resume))
    .service(web::resource("/authorize/give-up").post(oauth::post_give_up))
    .service(
        web::resource("/consent")
            .get(oauth::get_consent)
            .post(oauth::post_consent),
    )
    .service(
        web::resource("/token")
            .app_data(oauth::protocol_form_config())
            .wrap(protocol_cors())
            .post(oauth::post_token),
    )
    .service(
        web::resource("/userinfo")
            .wrap(protocol_cors())
            .get(oauth::userinfo)
            .post(oauth::userinfo),
    )
    .service(
        web::resource("/revoke")
            .app_data(oauth::protocol_form_config())
            .wrap(protocol_cors())
            .post(oauth::post_revoke),
    )
    .service(
        web::resource("/introspect")
            .app_data(oauth::protocol_form_config())
            .post(oauth::post_introspect),
    )
    .service(
        web::resource("/end-session")
            .get(oauth::end_session)
            .post(oauth::end_session),
    )
    .service(web::resource("/end-session/confirm").post(oauth::post_end_session_confirm));
}
