//! GET /admin/keys (the signing keys per algorithm and their state) and POST
//! /admin/keys/rotate (a next key for every algorithm, published by this server at once).

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{AdminUser, Nav};
use crate::{
    admin,
    i18n::Lang,
    oidc::keys::{KeyError, KeyState, KeyStatus},
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError,
        page::{render, see_other},
    },
};

const PATH: &str = "/admin/keys";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/keys").get(get_keys))
        .service(web::resource("/keys/rotate").post(post_rotate));
}

struct KeyRow {
    kid: String,
    alg: &'static str,
    /// The state, in words.
    state: String,
    /// Since or until when, if the state has a date.
    when: String,
}

fn at(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

impl KeyRow {
    fn new(lang: Lang, k: KeyStatus) -> Self {
        let (state, when) = match k.state {
            KeyState::Next { activates_at } => ("admin-keys-next", Some(activates_at)),
            KeyState::Current { retires_at } => ("admin-keys-current", retires_at),
            KeyState::Retired { unpublish_at } => ("admin-keys-retired", unpublish_at),
        };
        Self {
            kid: k.kid.as_str().to_owned(),
            alg: k.alg.as_str(),
            state: lang.t(state),
            when: when.map(at).unwrap_or_default(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/keys.html")]
struct KeysView {
    page: Page,
    nav: Nav,
    keys: Vec<KeyRow>,
}

fn key_error(e: KeyError) -> WebError {
    match e {
        KeyError::Db(e) => e.into(),
        other => WebError::Unavailable(other.to_string()),
    }
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn get_keys(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    _admin: AdminUser,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, WebError> {
    let keys = admin::keys::list(&state.admin).await.map_err(key_error)?;
    let view = KeysView {
        page: Page::new(lang, session.0.csrf_token(), PATH),
        nav: Nav::new(PATH).done(lang, query.done.as_deref()),
        keys: keys.into_iter().map(|k| KeyRow::new(lang, k)).collect(),
    };
    let response = render(&req, StatusCode::OK, view);
    session.respond(&state, response).await
}

#[derive(Debug, Deserialize)]
pub struct RotateForm {
    /// Missing counts as wrong: 403, like a forged one.
    #[serde(default)]
    csrf: String,
}

pub async fn post_rotate(
    state: web::Data<AppState>,
    session: BrowserSession,
    admin: AdminUser,
    form: web::Form<RotateForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    admin::keys::rotate_live(
        &state.admin,
        &admin.actor,
        &state.kek,
        &state.settings.keys,
        &state.keys,
        None,
    )
    .await
    .map_err(key_error)?;
    session
        .respond(
            &state,
            see_other(&format!("{PATH}?done=admin-done-keys-rotated")),
        )
        .await
}
