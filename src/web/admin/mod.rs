//! Administration over HTTP: the admin console (server-rendered pages under `/admin`, no
//! JavaScript) and the admin API (JSON under `/admin/api/v1`, described by OpenAPI). Both are
//! thin faces over `crate::admin`, which does and audits every operation; the [`guard`] lets
//! only administrators in.

mod accounts;
pub mod api;
mod apps;
mod audit;
mod guard;
mod keys;
mod overview;
mod sessions;

use actix_web::{middleware::from_fn, web};

pub use guard::{AdminUser, ApiClient};

use crate::i18n::Lang;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .wrap(from_fn(guard::admit))
            .configure(api::routes)
            .configure(console),
    );
}

/// The console's sections, each registering its own pages.
fn console(cfg: &mut web::ServiceConfig) {
    for section in [
        overview::routes,
        apps::routes,
        accounts::routes,
        sessions::routes,
        audit::routes,
        keys::routes,
    ] {
        section(cfg);
    }
}

/// The console's sections, in the order the navigation shows them: (path, catalog key).
const SECTIONS: [(&str, &str); 6] = [
    ("/admin", "admin-overview"),
    ("/admin/apps", "admin-apps"),
    ("/admin/accounts", "admin-accounts"),
    ("/admin/sessions", "admin-sessions"),
    ("/admin/audit", "admin-audit"),
    ("/admin/keys", "admin-keys"),
];

/// One link of the console's navigation.
pub struct NavItem {
    pub href: &'static str,
    pub key: &'static str,
    pub current: bool,
}

/// What the admin layout shows around every page: the navigation with the current section,
/// and what the last action did (after a POST's redirect).
pub struct Nav {
    section: &'static str,
    pub done: Option<String>,
}

impl Nav {
    /// `section` is one of the navigation's paths.
    pub fn new(section: &'static str) -> Self {
        Self {
            section,
            done: None,
        }
    }

    /// Says what the last action did: `done_key` from the catalog, in `lang`.
    #[must_use]
    pub fn done(mut self, lang: Lang, done_key: Option<&str>) -> Self {
        self.done = done_key
            .filter(|k| k.starts_with("admin-done-"))
            .map(|k| lang.t(k));
        self
    }

    pub fn items(&self) -> Vec<NavItem> {
        SECTIONS
            .into_iter()
            .map(|(href, key)| NavItem {
                href,
                key,
                current: href == self.section,
            })
            .collect()
    }
}
