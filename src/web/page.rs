//! What every page shares: its language, its CSRF token, and the language switcher.

use std::future::{Ready, ready};

use actix_web::{
    FromRequest, HttpRequest, HttpResponse, Responder,
    body::BoxBody,
    cookie::{Cookie, SameSite, time::Duration as CookieDuration},
    http::StatusCode,
};

use crate::i18n::Lang;

/// Name of the cookie that remembers the chosen language.
pub const LANG_COOKIE: &str = "oneid_lang";

/// The cookie that remembers `lang` for a year: set by the language switcher, by saving the
/// profile, and at sign-in for a browser that has none (the account's language).
pub fn lang_cookie(lang: Lang, secure: bool) -> Cookie<'static> {
    Cookie::build(LANG_COOKIE, lang.code())
        .path("/")
        .max_age(CookieDuration::days(365))
        .same_site(SameSite::Lax)
        .secure(secure)
        .http_only(true)
        .finish()
}

/// The language for this request: the remembered choice, else the browser's preference.
#[derive(Debug, Clone, Copy)]
pub struct RequestLang(pub Lang);

impl RequestLang {
    pub fn from_request_head(req: &HttpRequest) -> Self {
        let cookie = req.cookie(LANG_COOKIE);
        let accept = req
            .headers()
            .get(actix_web::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        Self(Lang::negotiate(cookie.as_ref().map(|c| c.value()), accept))
    }
}

impl FromRequest for RequestLang {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(Self::from_request_head(req)))
    }
}

/// One entry of the language switcher.
pub struct LangLink {
    pub href: String,
    pub code: &'static str,
    pub name: &'static str,
    pub current: bool,
}

/// The part of every view that the base layout uses.
pub struct Page {
    pub lang: Lang,
    /// Empty on pages without a form.
    pub csrf: String,
    path: String,
}

impl Page {
    pub fn new(lang: Lang, csrf: &str, path: &str) -> Self {
        Self {
            lang,
            csrf: csrf.to_owned(),
            path: path.to_owned(),
        }
    }

    pub fn without_form(lang: Lang, path: &str) -> Self {
        Self::new(lang, "", path)
    }

    /// A message from the catalog, in this page's language.
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }

    pub fn lang_links(&self) -> Vec<LangLink> {
        let next: String = url::form_urlencoded::byte_serialize(self.path.as_bytes()).collect();
        Lang::ALL
            .into_iter()
            .map(|lang| LangLink {
                href: format!("/lang/{}?next={next}", lang.code()),
                code: lang.code(),
                name: lang.native_name(),
                current: lang == self.lang,
            })
            .collect()
    }
}

/// Renders a view through askama_web with the given status.
pub fn render(
    req: &HttpRequest,
    status: StatusCode,
    view: impl Responder<Body = BoxBody>,
) -> HttpResponse {
    let mut response = view.respond_to(req);
    if response.status().is_success() {
        *response.status_mut() = status;
    }
    response
}

/// 303 See Other: after a POST, the browser fetches the next page with GET.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location))
        .finish()
}
