//! The session cookie and the extractor that loads the session it names.

use std::{future::Future, pin::Pin};

use actix_web::{
    FromRequest, HttpRequest, HttpResponse,
    cookie::{Cookie, SameSite, time::Duration as CookieDuration},
    web,
};

use super::{
    WebError,
    page::{LANG_COOKIE, lang_cookie},
};
use crate::{
    db::models::{account as accounts, session::EndReason},
    domain::{AccountId, ClientInfo},
    i18n::Lang,
    session::{self, Session, registry},
    state::AppState,
};

/// With https the cookie gets the `__Host-` prefix: the browser then insists on Secure, Path=/
/// and no Domain, so no sibling subdomain can set or read it.
pub fn cookie_name(state: &AppState) -> &'static str {
    if state.settings.secure_cookies() {
        "__Host-oneid_session"
    } else {
        "oneid_session"
    }
}

/// The browser's session at OneID, loaded from its cookie or newly started, with who is asking
/// (address and user agent) for the limits and the audit log, and the language to remember.
pub struct BrowserSession(pub Session, ClientInfo, LangChoice);

/// Whether the browser already says which language it wants (its language cookie), and the
/// language to remember in that cookie with the answer: the account's, after a sign-in in a
/// browser without one (so the pages speak it "when no cookie says otherwise"), or the one the
/// person just saved in their profile.
struct LangChoice {
    has_cookie: bool,
    remember: Option<Lang>,
}

impl FromRequest for BrowserSession {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| WebError::Internal("AppState missing".into()))?
                .clone();
            let cookie = req.cookie(cookie_name(&state));
            let mut session = state
                .sessions
                .load_or_start(cookie.as_ref().map(Cookie::value))
                .await
                .map_err(WebError::from)?;
            registry::recheck(&state.session, &mut session)
                .await
                .map_err(WebError::from)?;
            let lang = LangChoice {
                has_cookie: req.cookie(LANG_COOKIE).is_some(),
                remember: None,
            };
            Ok(Self(session, super::client::client_info(&req), lang))
        })
    }
}

impl BrowserSession {
    pub fn client(&self) -> &ClientInfo {
        &self.1
    }

    /// Refuses the form unless its CSRF token is this session's.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), WebError> {
        if self.0.csrf_matches(submitted) {
            Ok(())
        } else {
            Err(WebError::Csrf)
        }
    }

    /// Signs `account` in to this browser, replacing the sign-in it had (see
    /// [`registry::sign_in`]: a re-authentication keeps the OIDC session, another account ends
    /// the previous one and its apps are told).
    pub async fn sign_in(
        &mut self,
        state: &AppState,
        account: AccountId,
        amr: &[&str],
    ) -> Result<(), WebError> {
        registry::sign_in(&state.session, &mut self.0, account, amr, &self.1)
            .await
            .map_err(|e| WebError::Unavailable(e.to_string()))?;
        if !self.2.has_cookie {
            let found = state
                .db
                .run(move |conn| accounts::find_by_id(conn, account))
                .await?;
            self.2.remember = found.and_then(|a| a.locale);
        }
        Ok(())
    }

    /// Remembers `lang` in the browser's language cookie with the answer.
    pub fn remember_lang(&mut self, lang: Lang) {
        self.2.remember = Some(lang);
    }

    /// Saves the session (restarting its idle timer) and attaches the cookie when it changed.
    pub async fn respond(
        mut self,
        state: &AppState,
        mut response: HttpResponse,
    ) -> Result<HttpResponse, WebError> {
        registry::keep_recorded(&state.session, &mut self.0).await?;
        state.sessions.save(&mut self.0).await?;
        if self.0.cookie_changed() {
            let mut cookie = base_cookie(state, self.0.id().cookie_value().to_owned());
            if let Some(max_age) = state.sessions.cookie_max_age(&self.0) {
                cookie.set_max_age(CookieDuration::seconds(max_age.num_seconds()));
            }
            response
                .add_cookie(&cookie)
                .map_err(|e| WebError::Internal(e.to_string()))?;
        }
        if let Some(lang) = self.2.remember {
            response
                .add_cookie(&lang_cookie(lang, state.settings.secure_cookies()))
                .map_err(|e| WebError::Internal(e.to_string()))?;
        }
        Ok(response)
    }

    /// Ends the session everywhere: at OneID, in the apps, and in the browser's cookie jar.
    pub async fn end(
        self,
        state: &AppState,
        response: HttpResponse,
    ) -> Result<HttpResponse, WebError> {
        // Tell the apps that took part (back-channel logout). Queued, so this answer never
        // waits on them; a failure to queue does not keep the person signed in.
        if let Some(signed_in) = self.0.signed_in()
            && let Err(e) = session::end(
                &state.session,
                &signed_in.sid,
                signed_in.account_id,
                EndReason::SignedOut,
                &self.1,
            )
            .await
        {
            tracing::warn!(error = %e, "back-channel logout not queued");
        }
        self.discard(state, response).await
    }

    /// Forgets the session in this browser only (the stored session and the cookie), for a
    /// caller that has ended the OIDC session itself: deleting the account ended every session
    /// and told the apps, and no sign-out may be recorded for it afterwards.
    pub async fn discard(
        self,
        state: &AppState,
        mut response: HttpResponse,
    ) -> Result<HttpResponse, WebError> {
        state.sessions.end(self.0).await?;
        let mut cookie = base_cookie(state, String::new());
        cookie.make_removal();
        response
            .add_cookie(&cookie)
            .map_err(|e| WebError::Internal(e.to_string()))?;
        Ok(response)
    }
}

fn base_cookie(state: &AppState, value: String) -> Cookie<'static> {
    Cookie::build(cookie_name(state), value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.secure_cookies())
        .finish()
}
