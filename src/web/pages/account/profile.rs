//! The profile: GET and POST /account/profile, the display name (the same rules as at sign-up,
//! `domain::DisplayName`) and the preferred language. Saving writes both through
//! `account::profile::update` and remembers the language in the browser's language cookie, so
//! the next page already speaks it.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::console_account;
use crate::{
    account::profile,
    db::models::account::Account,
    domain::DisplayName,
    i18n::Lang,
    state::AppState,
    web::{
        BrowserSession, Page, RequestLang, WebError,
        page::{render, see_other},
    },
};

/// The longest name field a form may carry, in bytes, before it is even parsed: a name is at
/// most 64 characters (`DisplayName`), each at most 4 bytes, with room for spaces to collapse.
const NAME_FIELD_MAX: usize = 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/account/profile")
            .get(get_profile)
            .post(post_profile),
    );
}

/// One choice of the language select.
struct LangOption {
    code: &'static str,
    name: &'static str,
    selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "account/profile.html")]
struct ProfileView {
    page: Page,
    name: String,
    languages: Vec<LangOption>,
    notice: Option<String>,
    name_error: Option<String>,
    error: Option<String>,
}

fn profile_view(
    lang: Lang,
    session: &BrowserSession,
    name: String,
    chosen: Lang,
    notice: Option<String>,
) -> ProfileView {
    ProfileView {
        page: Page::new(lang, session.0.csrf_token(), "/account/profile"),
        name,
        languages: Lang::ALL
            .into_iter()
            .map(|l| LangOption {
                code: l.code(),
                name: l.native_name(),
                selected: l == chosen,
            })
            .collect(),
        notice,
        name_error: None,
        error: None,
    }
}

/// The language the select shows: the account's choice, else the page's.
fn chosen(account: &Account, lang: Lang) -> Lang {
    account.locale.unwrap_or(lang)
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

pub async fn get_profile(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, WebError> {
    let (account, session) = match console_account(&state, session).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let notice = query.saved.is_some().then(|| lang.t("console-saved"));
    let view = profile_view(
        lang,
        &session,
        account.display_name.to_string(),
        chosen(&account, lang),
        notice,
    );
    let response = render(&req, StatusCode::OK, view);
    session.respond(&state, response).await
}

#[derive(Deserialize)]
pub struct ProfileForm {
    csrf: String,
    name: String,
    locale: String,
}

pub async fn post_profile(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    form: web::Form<ProfileForm>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&form.csrf)?;
    let (account, mut session) = match console_account(&state, session).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    let form = form.into_inner();
    let refuse = |session: &BrowserSession, status, name_error, error| {
        let mut view = profile_view(lang, session, String::new(), chosen(&account, lang), None);
        // What the person typed comes back for them to fix, unless it is too long to show.
        view.name = if form.name.len() <= NAME_FIELD_MAX {
            form.name.clone()
        } else {
            account.display_name.to_string()
        };
        view.name_error = name_error;
        view.error = error;
        render(&req, status, view)
    };
    if form.name.len() > NAME_FIELD_MAX {
        let response = refuse(
            &session,
            StatusCode::PAYLOAD_TOO_LARGE,
            Some(lang.t("error-field-too-long")),
            None,
        );
        return session.respond(&state, response).await;
    }
    let Some(locale) = Lang::from_code(&form.locale).filter(|l| l.code() == form.locale) else {
        let response = refuse(
            &session,
            StatusCode::BAD_REQUEST,
            None,
            Some(lang.t("profile-language-unknown")),
        );
        return session.respond(&state, response).await;
    };
    let name = match DisplayName::parse(&form.name) {
        Ok(name) => name,
        Err(e) => {
            let response = refuse(
                &session,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(lang.t(e.message_key())),
                None,
            );
            return session.respond(&state, response).await;
        }
    };
    let saved = profile::update(&state.account, account.id, name, locale, session.client()).await?;
    if saved.is_none() {
        return session.end(&state, see_other("/login")).await;
    }
    session.remember_lang(locale);
    session
        .respond(&state, see_other("/account/profile?saved=1"))
        .await
}
