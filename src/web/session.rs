//! The session cookie, the device cookie, and the extractor that loads the session the first
//! names.

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
    account::{notices, second_factor},
    db::models::{account as accounts, session::EndReason},
    domain::{AccountId, Acr, ClientInfo, DeviceDigest, DeviceKey, random_token_of},
    i18n::Lang,
    session::{self, Session, registry},
    state::AppState,
};

/// How long a browser keeps its device cookie: about as long as browsers allow (Chrome caps
/// cookie lifetimes at 400 days), so a returning browser is still recognised.
const DEVICE_COOKIE_DAYS: i64 = 400;

/// With https the cookie gets the `__Host-` prefix: the browser then insists on Secure, Path=/
/// and no Domain, so no sibling subdomain can set or read it.
pub fn cookie_name(state: &AppState) -> &'static str {
    if state.settings.secure_cookies() {
        "__Host-oneid_session"
    } else {
        "oneid_session"
    }
}

/// Like the session cookie's, with the `__Host-` prefix under https.
pub fn device_cookie_name(state: &AppState) -> &'static str {
    if state.settings.secure_cookies() {
        "__Host-oneid_device"
    } else {
        "oneid_device"
    }
}

/// The browser's session at OneID, loaded from its cookie or newly started, with who is asking
/// (address and user agent) for the limits and the audit log, the browser's device cookie, and
/// the language to remember.
pub struct BrowserSession(pub Session, ClientInfo, Device, LangChoice);

/// The long-lived device cookie: a random key that names this browser (not this sign-in), so
/// the account's sessions can say "this device" and a sign-in from a browser the account has
/// not used before can be told to its owner. Set at the first sign-in that finds none.
struct Device {
    key: Option<DeviceKey>,
    /// The key was made for this response: the cookie must be sent.
    is_new: bool,
}

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
        // A middleware that needed the session first (the `/admin` door) left it here, loaded
        // and rechecked: the handler takes that one instead of reading the store again.
        if let Some(loaded) = actix_web::HttpMessage::extensions_mut(req).remove::<Self>() {
            return Box::pin(std::future::ready(Ok(loaded)));
        }
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| WebError::Internal("AppState missing".into()))?
                .clone();
            let cookie = req.cookie(cookie_name(&state));
            let device = Device {
                key: req
                    .cookie(device_cookie_name(&state))
                    .and_then(|c| DeviceKey::from_cookie(c.value())),
                is_new: false,
            };
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
            Ok(Self(
                session,
                super::client::client_info(&req),
                device,
                lang,
            ))
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

    /// Signs `account` in to this browser after its first factor (a password, a code), or,
    /// when the account has a second factor and this browser is not remembered for it, parks
    /// the sign-in for the second-factor step instead: nobody is signed in until it passes
    /// (see [`after_sign_in`](super::pages::login::after_sign_in), which then sends the browser
    /// to it). Every sign-in page comes through here, so no path skips the second factor.
    pub async fn sign_in(
        &mut self,
        state: &AppState,
        account: AccountId,
        amr: &[&str],
    ) -> Result<(), WebError> {
        self.sign_in_then(state, account, amr, None).await
    }

    /// [`Self::sign_in`], going on to `then` (a path the page chose) once a second factor, if
    /// one is asked for, has passed.
    pub async fn sign_in_then(
        &mut self,
        state: &AppState,
        account: AccountId,
        amr: &[&str],
        then: Option<String>,
    ) -> Result<(), WebError> {
        // A sign-in that proved several factors at once (a passkey with user verification:
        // `mfa`) is complete; a second factor would prove nothing more.
        let multi_factor = Acr::of_amr(amr) > Acr::OneFactor;
        if !multi_factor && self.needs_second_factor(state, account).await? {
            let amr = amr.iter().map(|m| (*m).to_owned()).collect();
            self.park_second_factor(state, account, amr, then, Acr::TwoFactor);
            tracing::info!(account_id = %account, "first factor passed; second factor asked");
            return Ok(());
        }
        self.complete_sign_in(state, account, amr).await
    }

    /// Signs the browser in again to the account it is already signed in to, without asking
    /// for a second factor: for a change that replaces the sign-in (a new password outdates
    /// the old one's tokens) after the person already passed everything this sign-in needed.
    /// Any other account goes through [`Self::sign_in`].
    pub async fn sign_in_again(
        &mut self,
        state: &AppState,
        account: AccountId,
        amr: &[&str],
    ) -> Result<(), WebError> {
        if self.0.signed_in().is_some_and(|s| s.account_id == account) {
            self.complete_sign_in(state, account, amr).await
        } else {
            self.sign_in(state, account, amr).await
        }
    }

    /// The account has a second factor, and this browser is not remembered for it (see
    /// [`second_factor::is_asked`]).
    async fn needs_second_factor(
        &mut self,
        state: &AppState,
        account: AccountId,
    ) -> Result<bool, WebError> {
        let digest = self.device_digest(account);
        Ok(second_factor::is_asked(&state.account, account, &digest).await?)
    }

    /// Parks a second-factor step for `account` in this session (see
    /// [`session::PendingSecondFactor`]), for `second_factor.pending_secs`.
    pub(crate) fn park_second_factor(
        &mut self,
        state: &AppState,
        account: AccountId,
        amr: Vec<String>,
        then: Option<String>,
        need: Acr,
    ) {
        let now = state.clock.now();
        let ttl = chrono::Duration::seconds(state.settings.second_factor.pending_secs);
        self.0.park_second_factor(session::PendingSecondFactor {
            id: random_token_of(16),
            account_id: account,
            amr,
            created_at: now,
            until: now + ttl,
            then,
            need,
        });
    }

    /// The digest of this browser's device cookie for `account`; a browser without one gets
    /// one (sent with the answer).
    pub(crate) fn device_digest(&mut self, account: AccountId) -> DeviceDigest {
        self.2
            .key
            .get_or_insert_with(|| {
                self.2.is_new = true;
                DeviceKey::generate()
            })
            .digest_for(account)
    }

    /// Signs `account` in to this browser, replacing the sign-in it had (see
    /// [`registry::sign_in`]: a re-authentication keeps the OIDC session, another account ends
    /// the previous one and its apps are told). A browser without a device cookie gets one.
    /// Every completed sign-in comes through here, so this is where a sign-in from a browser
    /// new to the account sends its owner the notice. Only after every factor the account
    /// needs: callers are [`Self::sign_in`] and the second-factor page.
    pub(crate) async fn complete_sign_in(
        &mut self,
        state: &AppState,
        account: AccountId,
        amr: &[&str],
    ) -> Result<(), WebError> {
        let digest = self.device_digest(account);
        let report = registry::sign_in(&state.session, &mut self.0, account, amr, &self.1, &digest)
            .await
            .map_err(|e| WebError::Unavailable(e.to_string()))?;
        if report.new_browser {
            // The sign-in stands whatever happens to the notice.
            if let Err(e) = notices::new_browser(&state.account, account, &self.1).await {
                tracing::warn!(account_id = %account, error = %e, "new-browser notice not sent");
            }
        }
        if !self.3.has_cookie {
            let found = state
                .db
                .run(move |conn| accounts::find_by_id(conn, account))
                .await?;
            self.3.remember = found.and_then(|a| a.locale);
        }
        Ok(())
    }

    /// Remembers `lang` in the browser's language cookie with the answer.
    pub fn remember_lang(&mut self, lang: Lang) {
        self.3.remember = Some(lang);
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
        if self.2.is_new
            && let Some(key) = &self.2.key
        {
            let cookie = Cookie::build(device_cookie_name(state), key.cookie_value().to_owned())
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(state.settings.secure_cookies())
                .max_age(CookieDuration::days(DEVICE_COOKIE_DAYS))
                .finish();
            response
                .add_cookie(&cookie)
                .map_err(|e| WebError::Internal(e.to_string()))?;
        }
        if let Some(lang) = self.3.remember {
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
