//! Browser sessions at OneID: who is signed in, the CSRF token that protects forms, and a
//! sign-up in progress. Kept in the ephemeral store under a digest of the cookie value; each
//! sign-in also has a durable row (see [`registry`]), and ending one has one home
//! ([`end`], in `ending`).

pub mod devices;
mod ending;
pub mod registry;
#[cfg(test)]
pub(crate) mod testing;

pub use ending::{EndError, end, end_all_for_account, end_all_for_account_except, sweep_expired};

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{
    audit::Audit,
    clock::Clock,
    config::SessionSettings,
    db::Db,
    domain::{AccountId, Acr, is_token_shaped, random_token},
    logout::Backchannel,
    store::{EphemeralStore, StoreError},
};

/// What the durable side of sessions works with: the rows, the time, the audit log, the
/// lifetimes, and the back-channel queue that tells apps a session ended. Built once by the
/// application; cheap to clone (every field is a handle).
#[derive(Clone)]
pub struct Context {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub audit: Audit,
    pub settings: Arc<SessionSettings>,
    pub backchannel: Backchannel,
}

/// 256 random bits, URL-safe. `Debug` never prints it: it is a bearer credential.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId(String);

impl SessionId {
    fn generate() -> Self {
        Self(random_token())
    }

    /// Reads a cookie value; anything that is not shaped like one of ours is ignored.
    pub fn from_cookie(value: &str) -> Option<Self> {
        is_token_shaped(value).then(|| Self(value.to_owned()))
    }

    pub fn cookie_value(&self) -> &str {
        &self.0
    }

    /// The form token of this session: a digest of the id under its own label. Bound to the
    /// cookie (which another site can neither read nor set, HttpOnly and SameSite), and
    /// derived rather than stored, so a page view by someone not signed in writes nothing.
    fn csrf_token(&self) -> String {
        let mut digest = Sha256::new();
        digest.update(b"oneid-csrf\0");
        digest.update(self.0.as_bytes());
        URL_SAFE_NO_PAD.encode(digest.finalize())
    }

    /// The store key: a digest, so a leaked store dump holds no usable cookie.
    fn key(&self) -> String {
        format!(
            "session:{}",
            URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.as_bytes()))
        )
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedIn {
    pub account_id: AccountId,
    pub auth_time: DateTime<Utc>,
    /// The OIDC session id (`sid`): names this sign-in to relying parties, for logout.
    pub sid: String,
    /// How the person proved who they are (RFC 8176 values: `pwd`, `otp`, `sms`).
    pub amr: Vec<String>,
}

impl SignedIn {
    /// The sign-in is at most `window` old: recent enough for a sensitive change without
    /// proving again who is there (the account console's re-authentication).
    pub fn is_recent(&self, window: Duration, now: DateTime<Utc>) -> bool {
        now - self.auth_time <= window
    }
}

/// A code sign-in, password reset or unlock between "code sent" and "code typed".
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingRecovery {
    pub purpose: crate::domain::CodePurpose,
    /// Canonical phone (E.164) or email the code went to (or would have, without an account).
    pub to: String,
    pub resend_after: DateTime<Utc>,
    /// The channels the page names for the code (the one used or tried first, first).
    #[serde(default)]
    pub channels: Vec<crate::notify::Channel>,
}

/// A phone number or email being added to (or replacing one on) the signed-in account, between
/// "code sent to it" and "code typed" (the account console's Phone and email).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingContact {
    /// Canonical phone (E.164) or email the code went to.
    pub to: String,
    pub resend_after: DateTime<Utc>,
}

/// A sign-up between "code sent" and "account created".
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignup {
    /// Canonical phone (E.164) or email.
    pub to: String,
    pub resend_after: DateTime<Utc>,
    /// The channels the page names for the code (the one used or tried first, first).
    #[serde(default)]
    pub channels: Vec<crate::notify::Channel>,
}

/// "Continue with your number" between "code sent" and "account created" (see
/// `account::continue_with`): the steps in order, so a step cannot be reached without the one
/// before it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum PendingContinue {
    /// A code went to `to` (or will, once delivered); the person types it next.
    CodeSent {
        /// Canonical phone (E.164) or email.
        to: String,
        resend_after: DateTime<Utc>,
        /// The channels the page names for the code (the one used or tried first, first).
        #[serde(default)]
        channels: Vec<crate::notify::Channel>,
    },
    /// The code was right and no account uses `to`: this browser may create one until `until`.
    Proven {
        to: String,
        until: DateTime<Utc>,
        /// The channel that carried the code, for the sign-in's `amr`.
        #[serde(default)]
        via: Option<crate::notify::Channel>,
    },
}

/// A sign-in waiting for its second factor (the first factor proven, nobody signed in yet), or
/// a step-up waiting for one (the account signed in, a page or app needing more). Lives in the
/// session for `second_factor.pending_secs`; the second-factor page is the only way on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSecondFactor {
    /// Names this step, for its count of tries (random; not a secret the browser sees).
    pub id: String,
    pub account_id: AccountId,
    /// The RFC 8176 methods proven so far (the first factor's, or the signed-in session's for
    /// a step-up): the sign-in gets these plus the second factor's.
    pub amr: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Where to go once passed, when not the usual place (an app's waiting request, else the
    /// account console): a path the web layer chose, never one from a request.
    #[serde(default)]
    pub then: Option<String>,
    /// The class the step must reach: `2fa` takes any second factor, `phr` only a passkey (an
    /// app or page asked for it; see `oauth::authorize::decide_acr`).
    #[serde(default = "two_factor")]
    pub need: Acr,
}

fn two_factor() -> Acr {
    Acr::TwoFactor
}

impl PendingSecondFactor {
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        now < self.until
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionData {
    created_at: DateTime<Utc>,
    signed_in: Option<SignedIn>,
    signup: Option<PendingSignup>,
    #[serde(default)]
    interaction: Option<String>,
    /// The expiry written on the sign-in's durable row (see [`registry::keep_recorded`]).
    #[serde(default)]
    recorded_until: Option<DateTime<Utc>>,
    /// When the durable row last said the sign-in is still live (see [`registry::recheck`]).
    #[serde(default)]
    checked_at: Option<DateTime<Utc>>,
    #[serde(default)]
    recovery: Option<PendingRecovery>,
    #[serde(default)]
    contact: Option<PendingContact>,
    #[serde(default)]
    continue_with: Option<PendingContinue>,
    #[serde(default)]
    second_factor: Option<PendingSecondFactor>,
}

#[derive(Debug)]
pub struct Session {
    id: SessionId,
    /// Derived from the id (see [`SessionId::csrf_token`]).
    csrf: String,
    data: SessionData,
    /// The data is in the store (so an emptied session must be written, not skipped).
    stored: bool,
    /// Set by [`Session::rotate`]: the id to delete when this session is saved.
    replaces: Option<SessionId>,
    /// The cookie must be (re)sent: the session is new or its id changed.
    cookie_changed: bool,
}

impl Session {
    fn fresh(now: DateTime<Utc>) -> Self {
        Self::adopt(SessionId::generate(), now, true)
    }

    /// A session with nothing in it yet under `id`: a new one, or the one an anonymous visitor's
    /// cookie names (never stored, because there was nothing to store).
    fn adopt(id: SessionId, now: DateTime<Utc>, cookie_changed: bool) -> Self {
        Self {
            csrf: id.csrf_token(),
            id,
            stored: false,
            data: SessionData {
                created_at: now,
                signed_in: None,
                signup: None,
                interaction: None,
                recorded_until: None,
                checked_at: None,
                recovery: None,
                contact: None,
                continue_with: None,
                second_factor: None,
            },
            replaces: None,
            cookie_changed,
        }
    }

    pub fn id(&self) -> &SessionId {
        &self.id
    }

    pub fn csrf_token(&self) -> &str {
        &self.csrf
    }

    /// Compares in constant time: a timing difference would let an attacker learn the token.
    pub fn csrf_matches(&self, submitted: &str) -> bool {
        self.csrf.as_bytes().ct_eq(submitted.as_bytes()).into()
    }

    pub fn signed_in(&self) -> Option<&SignedIn> {
        self.data.signed_in.as_ref()
    }

    pub fn signup(&self) -> Option<&PendingSignup> {
        self.data.signup.as_ref()
    }

    pub fn set_signup(&mut self, signup: Option<PendingSignup>) {
        self.data.signup = signup;
    }

    pub fn recovery(&self) -> Option<&PendingRecovery> {
        self.data.recovery.as_ref()
    }

    pub fn set_recovery(&mut self, recovery: Option<PendingRecovery>) {
        self.data.recovery = recovery;
    }

    pub fn pending_contact(&self) -> Option<&PendingContact> {
        self.data.contact.as_ref()
    }

    pub fn set_pending_contact(&mut self, contact: Option<PendingContact>) {
        self.data.contact = contact;
    }

    pub fn continue_with(&self) -> Option<&PendingContinue> {
        self.data.continue_with.as_ref()
    }

    pub fn set_continue_with(&mut self, pending: Option<PendingContinue>) {
        self.data.continue_with = pending;
    }

    pub fn second_factor(&self) -> Option<&PendingSecondFactor> {
        self.data.second_factor.as_ref()
    }

    /// Parks a sign-in (or step-up) until its second factor is checked, under a new session id
    /// and CSRF token: the first factor just proven is a privilege, so a session id planted
    /// in the browser before must not carry it. What a sign-in in progress left (a code
    /// sign-in's pending code, a sign-up) is done with.
    pub fn park_second_factor(&mut self, pending: PendingSecondFactor) {
        self.rotate();
        self.data.signup = None;
        self.data.recovery = None;
        self.data.continue_with = None;
        self.data.second_factor = Some(pending);
    }

    /// Drops the pending second factor (passed, expired, abandoned, too many tries).
    pub fn clear_second_factor(&mut self) {
        self.data.second_factor = None;
    }

    /// Records that this browser proved `to` with a code and may create its account until
    /// `until`, under a new session id and CSRF token: the proof is a privilege (an account for
    /// that number, with a password of the holder's choosing), so a session id planted in the
    /// browser before the code was typed must not carry it.
    pub fn prove_contact(
        &mut self,
        to: String,
        until: DateTime<Utc>,
        via: Option<crate::notify::Channel>,
    ) {
        self.rotate();
        self.data.continue_with = Some(PendingContinue::Proven { to, until, via });
    }

    pub fn cookie_changed(&self) -> bool {
        self.cookie_changed
    }

    /// Signs the account in under a new session id and CSRF token, so that an id planted before
    /// sign-in (session fixation) is worth nothing after it. `keep_sid` is the OIDC session a
    /// re-authentication continues; without it the sign-in is a new OIDC session. Only
    /// [`registry::sign_in`] calls this: it decides what happens to the session replaced.
    fn sign_in(
        &mut self,
        account_id: AccountId,
        now: DateTime<Utc>,
        amr: &[&str],
        keep_sid: Option<String>,
    ) {
        self.rotate();
        self.data.signup = None;
        self.data.recovery = None;
        self.data.continue_with = None;
        self.data.second_factor = None;
        // A code on its way to a new contact is bound to this browser's form token, which the
        // sign-in replaces; and it must never carry over to another account.
        self.data.contact = None;
        // Re-recorded on the way out: a kept session's durable row gets its expiry pushed from
        // the new auth_time, a new one gets its row.
        self.data.recorded_until = None;

        self.data.checked_at = Some(now);
        let sid = keep_sid.unwrap_or_else(|| random_token()[..22].to_owned());
        self.data.signed_in = Some(SignedIn {
            account_id,
            auth_time: now,
            sid,
            amr: amr.iter().map(|m| (*m).to_owned()).collect(),
        });
    }

    /// An interaction (an authorization request waiting for sign-in or consent) to resume after
    /// the next sign-in. A session has at most one: a new request reuses its id (see `park` in
    /// the web layer), so one cookie cannot pile requests up in the store.
    pub fn set_interaction(&mut self, id: Option<String>) {
        self.data.interaction = id;
    }

    pub fn interaction(&self) -> Option<&str> {
        self.data.interaction.as_deref()
    }

    fn recorded_until(&self) -> Option<DateTime<Utc>> {
        self.data.recorded_until
    }

    fn checked_at(&self) -> Option<DateTime<Utc>> {
        self.data.checked_at
    }

    fn set_recorded(&mut self, until: DateTime<Utc>, now: DateTime<Utc>) {
        self.data.recorded_until = Some(until);
        self.data.checked_at = Some(now);
    }

    fn set_checked(&mut self, now: DateTime<Utc>) {
        self.data.checked_at = Some(now);
    }

    /// The sign-in ended elsewhere: this browser is signed out too (the id and CSRF token stay,
    /// so a form open in another tab still gets a clear answer).
    fn forget_sign_in(&mut self) {
        // A step-up (or re-authentication) of the sign-in that ended has nothing left to step
        // up: the session it belonged to is over.
        let ended = self.data.signed_in.take().map(|s| s.account_id);
        if ended.is_some() && self.data.second_factor.as_ref().map(|p| p.account_id) == ended {
            self.data.second_factor = None;
        }
        self.data.contact = None;
        self.data.recorded_until = None;
        self.data.checked_at = None;
    }

    fn rotate(&mut self) {
        let old = std::mem::replace(&mut self.id, SessionId::generate());
        self.replaces.get_or_insert(old);
        self.csrf = self.id.csrf_token();
        self.cookie_changed = true;
    }
}

/// Loads, saves and ends sessions, enforcing idle and absolute lifetimes.
#[derive(Clone)]
pub struct SessionStore {
    store: Arc<dyn EphemeralStore>,
    clock: Arc<dyn Clock>,
    settings: Arc<SessionSettings>,
}

impl SessionStore {
    pub fn new(
        store: Arc<dyn EphemeralStore>,
        clock: Arc<dyn Clock>,
        settings: Arc<SessionSettings>,
    ) -> Self {
        Self {
            store,
            clock,
            settings,
        }
    }

    /// The session the cookie names, or a new one (not yet saved) when there is none. A cookie
    /// whose session holds nothing (never stored, or expired) keeps its id: its form token is
    /// derived from the id, so a form shown to an anonymous visitor still verifies.
    pub async fn load_or_start(&self, cookie: Option<&str>) -> Result<Session, StoreError> {
        let now = self.clock.now();
        let Some(id) = cookie.and_then(SessionId::from_cookie) else {
            return Ok(Session::fresh(now));
        };
        if let Some(mut data) = self.store.get_json::<SessionData>(&id.key()).await? {
            let absolute = Duration::seconds(self.settings.absolute_timeout_secs);
            if data
                .signed_in
                .as_ref()
                .is_some_and(|s| now - s.auth_time >= absolute)
            {
                data.signed_in = None;
            }
            return Ok(Session {
                csrf: id.csrf_token(),
                id,
                data,
                stored: true,
                replaces: None,
                cookie_changed: false,
            });
        }
        Ok(Session::adopt(id, now, false))
    }

    /// Saves the session; its time to live restarts (the idle timeout). A session with nothing
    /// in it that was never stored is not written: page views by people not signed in cost
    /// the store nothing (a release build on the memory store held 296 MiB after 10 s of
    /// anonymous page views at 49k/s when each one was stored).
    pub async fn save(&self, session: &mut Session) -> Result<(), StoreError> {
        if let Some(old) = session.replaces.take() {
            self.store.delete(&old.key()).await?;
        }
        let d = &session.data;
        let empty = d.signed_in.is_none()
            && d.signup.is_none()
            && d.interaction.is_none()
            && d.recovery.is_none()
            && d.contact.is_none()
            && d.continue_with.is_none()
            && d.second_factor.is_none();
        if empty && !session.stored {
            return Ok(());
        }
        let s = &self.settings;
        let ttl = if session.data.signed_in.is_some() {
            s.idle_timeout_secs
        } else {
            s.anonymous_timeout_secs
        };
        self.store
            .put_json(
                &session.id.key(),
                &session.data,
                std::time::Duration::from_secs(ttl.unsigned_abs()),
            )
            .await?;
        session.stored = true;
        Ok(())
    }

    /// Ends the session everywhere it is known.
    pub async fn end(&self, session: Session) -> Result<(), StoreError> {
        if let Some(old) = &session.replaces {
            self.store.delete(&old.key()).await?;
        }
        self.store.delete(&session.id.key()).await
    }

    /// How long the browser should keep the cookie.
    pub fn cookie_max_age(&self, session: &Session) -> Option<Duration> {
        session
            .data
            .signed_in
            .as_ref()
            .map(|_| Duration::seconds(self.settings.absolute_timeout_secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{clock::MockClock, config::Settings, store::MemoryStore};

    fn sessions() -> (MockClock, SessionStore) {
        let clock = MockClock::starting_now();
        let store = Arc::new(MemoryStore::new(Arc::new(clock.clone())));
        (
            clock.clone(),
            SessionStore::new(
                store,
                Arc::new(clock),
                Arc::new(Settings::default().session),
            ),
        )
    }

    #[tokio::test]
    async fn anonymous_page_views_store_nothing_and_their_form_token_still_verifies() {
        let clock = MockClock::starting_now();
        let store = Arc::new(MemoryStore::new(Arc::new(clock.clone())));
        let sessions = SessionStore::new(
            store.clone(),
            Arc::new(clock.clone()),
            Arc::new(Settings::default().session),
        );
        let mut page = sessions.load_or_start(None).await.unwrap();
        assert!(page.cookie_changed(), "the browser gets a cookie");
        sessions.save(&mut page).await.unwrap();
        assert_eq!(store.len(), 0, "nothing stored for a page view");
        let token = page.csrf_token().to_owned();

        // The form comes back with the cookie: same id, same token, still nothing stored.
        let post = sessions
            .load_or_start(Some(page.id().cookie_value()))
            .await
            .unwrap();
        assert!(post.csrf_matches(&token));
        assert!(!post.cookie_changed());
        assert!(
            !sessions
                .load_or_start(None)
                .await
                .unwrap()
                .csrf_matches(&token)
        );

        // A session that held something and was emptied is written, not left stale.
        let mut pending = post;
        pending.set_interaction(Some("abc".into()));
        sessions.save(&mut pending).await.unwrap();
        assert_eq!(store.len(), 1);
        pending.set_interaction(None);
        sessions.save(&mut pending).await.unwrap();
        let again = sessions
            .load_or_start(Some(pending.id().cookie_value()))
            .await
            .unwrap();
        assert_eq!(again.interaction(), None);
    }

    #[tokio::test]
    async fn sign_in_rotates_the_id_and_csrf_token_and_forgets_the_old_id() {
        let (clock, sessions) = sessions();
        let mut session = sessions.load_or_start(None).await.unwrap();
        sessions.save(&mut session).await.unwrap();
        let (old_id, old_csrf) = (session.id().clone(), session.csrf_token().to_owned());
        session.sign_in(AccountId::generate(), clock.now(), &["pwd"], None);
        sessions.save(&mut session).await.unwrap();
        assert_ne!(session.id(), &old_id);
        assert_ne!(session.csrf_token(), old_csrf);
        let reloaded_old = sessions
            .load_or_start(Some(old_id.cookie_value()))
            .await
            .unwrap();
        assert!(reloaded_old.signed_in().is_none());
        let reloaded = sessions
            .load_or_start(Some(session.id().cookie_value()))
            .await
            .unwrap();
        assert!(reloaded.signed_in().is_some());
    }

    #[tokio::test]
    async fn idle_sessions_expire_and_active_ones_hit_the_absolute_limit() {
        let (clock, sessions) = sessions();
        let settings = Settings::default().session;
        let mut session = sessions.load_or_start(None).await.unwrap();
        session.sign_in(AccountId::generate(), clock.now(), &["pwd"], None);
        sessions.save(&mut session).await.unwrap();
        let cookie = session.id().cookie_value().to_owned();

        // Active every day: survives the idle timeout, not the absolute one.
        let day = Duration::days(1);
        let mut elapsed = Duration::zero();
        while elapsed + day < Duration::seconds(settings.absolute_timeout_secs) {
            clock.advance(day);
            elapsed += day;
            let mut s = sessions.load_or_start(Some(&cookie)).await.unwrap();
            assert!(
                s.signed_in().is_some(),
                "signed out after {} days",
                elapsed.num_days()
            );
            sessions.save(&mut s).await.unwrap();
        }
        clock.advance(day);
        assert!(
            sessions
                .load_or_start(Some(&cookie))
                .await
                .unwrap()
                .signed_in()
                .is_none()
        );

        // Idle past the idle timeout: gone.
        let mut session = sessions.load_or_start(None).await.unwrap();
        session.sign_in(AccountId::generate(), clock.now(), &["pwd"], None);
        sessions.save(&mut session).await.unwrap();
        clock.advance(Duration::seconds(settings.idle_timeout_secs + 1));
        assert!(
            sessions
                .load_or_start(Some(session.id().cookie_value()))
                .await
                .unwrap()
                .signed_in()
                .is_none()
        );
    }

    #[tokio::test]
    async fn forged_cookie_values_start_a_new_session() {
        let (_, sessions) = sessions();
        let session = sessions
            .load_or_start(Some("../../etc/passwd"))
            .await
            .unwrap();
        assert!(session.cookie_changed());
        assert!(!session.csrf_matches(""));
        assert!(!format!("{:?}", session.id()).contains(session.id().cookie_value()));
    }
}
