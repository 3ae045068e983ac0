//! The language switcher: remembers the choice in a cookie and goes back to the page.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::{
    i18n::Lang,
    state::AppState,
    web::{
        WebError,
        page::{lang_cookie, see_other},
    },
};

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only a path on this site: `//evil.example` or `/\evil.example` would leave it (open redirect).
fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control) =>
        {
            p
        }
        _ => "/",
    }
}

pub async fn get_lang(
    state: web::Data<AppState>,
    code: web::Path<String>,
    query: web::Query<Next>,
) -> Result<HttpResponse, WebError> {
    let Some(lang) = Lang::from_code(&code) else {
        return Ok(HttpResponse::NotFound().finish());
    };
    let cookie = lang_cookie(lang, state.settings.secure_cookies());
    let mut response = see_other(local_path(query.next.as_deref()));
    response
        .add_cookie(&cookie)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn next_must_stay_on_this_site() {
        assert_eq!(local_path(Some("/signup/verify")), "/signup/verify");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "",
            "/\nx",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_path(None), "/");
    }
}
