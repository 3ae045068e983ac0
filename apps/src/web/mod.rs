//! The HTTP side: routes, cookies and security headers. Handlers are thin: they read the
//! request, call one function of [`crate::auth`] or [`crate::features`], and answer.

mod assets;
mod auth;
mod pages;

use actix_web::{
    HttpRequest,
    cookie::{Cookie, SameSite, time::Duration as CookieDuration},
    http::header,
    middleware::DefaultHeaders,
    web,
};
use openidconnect::url::Url;

use crate::{
    config::AppKind,
    session::{LOGIN_LIFETIME, SESSION_LIFETIME, SessionId},
    state::AppState,
};

/// Every route of the app `app`: the shared ones, then the app's own feature.
pub fn routes(app: AppKind) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.route("/", web::get().to(pages::get_home))
            .route("/healthz", web::get().to(assets::get_healthz))
            .route("/static/app.css", web::get().to(assets::get_stylesheet))
            .route("/login", web::get().to(auth::get_login))
            .route("/callback", web::get().to(auth::get_callback))
            .route("/logout", web::post().to(auth::post_logout))
            .route(
                "/backchannel-logout",
                web::post().to(auth::post_backchannel_logout),
            );
        match app {
            AppKind::Cloud => {
                cfg.route("/notes", web::post().to(pages::post_note));
            }
            AppKind::Talk => {
                cfg.route("/messages", web::post().to(pages::post_message));
            }
            AppKind::Forum => {
                cfg.route("/posts", web::post().to(pages::post_post));
            }
            AppKind::Market => {
                cfg.route("/install", web::post().to(pages::post_install));
            }
            AppKind::Thirdparty => {}
        }
    }
}

/// Headers on every response. Forms may post here and lead on to OneID (sign-out), nothing
/// else loads from anywhere but here, and no page may be framed.
pub fn security_headers(issuer: &str) -> DefaultHeaders {
    let oneid = Url::parse(issuer)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            format!(
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' {oneid}; \
                 frame-ancestors 'none'; base-uri 'none'"
            ),
        ))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
}

/// The session cookie's value, if the browser sent one.
fn session_id(state: &AppState, req: &HttpRequest) -> Option<SessionId> {
    req.cookie(&state.app.cookie_name())
        .map(|c| SessionId::from_cookie(c.value()))
}

/// The cookie that binds a sign-in in flight to this browser.
fn login_cookie_name(state: &AppState) -> String {
    format!("{}_login", state.app.cookie_name())
}

fn cookie(state: &AppState, name: String, value: String, max_age: i64) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.public_url.is_https())
        .max_age(CookieDuration::seconds(max_age))
        .finish()
}

fn session_cookie(state: &AppState, id: &SessionId) -> Cookie<'static> {
    cookie(
        state,
        state.app.cookie_name(),
        id.as_str().to_owned(),
        SESSION_LIFETIME,
    )
}

fn login_cookie(state: &AppState, browser: &str) -> Cookie<'static> {
    cookie(
        state,
        login_cookie_name(state),
        browser.to_owned(),
        LOGIN_LIFETIME,
    )
}

/// A cookie that makes the browser forget `name`.
fn removal(state: &AppState, name: String) -> Cookie<'static> {
    let mut c = cookie(state, name, String::new(), 0);
    c.make_removal();
    c
}
