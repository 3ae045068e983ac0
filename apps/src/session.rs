//! Who is signed in, per browser: server-side sessions behind a random cookie, indexed by
//! OneID session (`sid`) and by person (`sub`) for back-channel logout; and the sign-ins in
//! flight, each bound to the browser that started it.

use std::{
    collections::{HashMap, HashSet},
    fmt,
    sync::{Arc, Mutex, MutexGuard},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::oidc::login::{PendingLogin, Profile, SignedIn, Tokens};

/// A local session ends this long after sign-in, whatever OneID says.
pub const SESSION_LIFETIME: i64 = 12 * 3600;
/// A sign-in must come back within this long.
pub const LOGIN_LIFETIME: i64 = 600;
/// At most this many sign-ins in flight, all browsers together.
const MAX_PENDING: usize = 10_000;

/// 256 random bits, base64url: session IDs, browser bindings, CSRF tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The value of the session cookie. Never logged.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    pub fn new_random() -> Self {
        Self(random_token())
    }

    /// A cookie value as a session ID; it still has to be found in the store.
    pub fn from_cookie(value: &str) -> Self {
        Self(value.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(***)")
    }
}

/// One signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub sub: String,
    pub sid: Option<String>,
    pub profile: Profile,
    pub tokens: Tokens,
    /// The token every form of this session carries.
    pub csrf: String,
    pub created_at: i64,
    /// Held while refreshing: refresh tokens rotate, and presenting one twice would make
    /// OneID revoke them all.
    pub refresh_lock: Arc<tokio::sync::Mutex<()>>,
}

impl Session {
    pub fn new(signed_in: SignedIn, now: i64) -> Self {
        Self {
            sub: signed_in.sub,
            sid: signed_in.sid,
            profile: signed_in.profile,
            tokens: signed_in.tokens,
            csrf: random_token(),
            created_at: now,
            refresh_lock: Arc::default(),
        }
    }

    /// Whether `token` is this session's CSRF token (in constant time).
    pub fn check_csrf(&self, token: &str) -> bool {
        self.csrf.as_bytes().ct_eq(token.as_bytes()).into()
    }
}

struct Pending {
    login: PendingLogin,
    browser: String,
    created_at: i64,
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<SessionId, Session>,
    by_sid: HashMap<String, HashSet<SessionId>>,
    by_sub: HashMap<String, HashSet<SessionId>>,
    pending: HashMap<String, Pending>,
}

/// All sessions of this app, in memory. Cloning shares the store.
#[derive(Clone, Default)]
pub struct SessionStore {
    inner: Arc<Mutex<Inner>>,
}

impl SessionStore {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a session under a new ID (never one the browser brought: session fixation).
    pub fn insert(&self, session: Session) -> SessionId {
        let id = SessionId::new_random();
        let mut inner = self.lock();
        if let Some(sid) = &session.sid {
            inner
                .by_sid
                .entry(sid.clone())
                .or_default()
                .insert(id.clone());
        }
        inner
            .by_sub
            .entry(session.sub.clone())
            .or_default()
            .insert(id.clone());
        inner.sessions.insert(id.clone(), session);
        id
    }

    /// The session, unless it is unknown or past its lifetime (then it is dropped).
    pub fn get(&self, id: &SessionId, now: i64) -> Option<Session> {
        let mut inner = self.lock();
        let session = inner.sessions.get(id)?;
        if session.created_at + SESSION_LIFETIME <= now {
            remove(&mut inner, id);
            return None;
        }
        Some(session.clone())
    }

    /// Keeps refreshed tokens and the profile that came with them.
    pub fn update(&self, id: &SessionId, tokens: Tokens, profile: Profile) {
        if let Some(session) = self.lock().sessions.get_mut(id) {
            session.tokens = tokens;
            session.profile = profile;
        }
    }

    pub fn remove(&self, id: &SessionId) -> Option<Session> {
        remove(&mut self.lock(), id)
    }

    /// Ends every session created from the OneID session `sid`. Returns how many.
    pub fn remove_by_sid(&self, sid: &str) -> usize {
        let mut inner = self.lock();
        let ids = inner.by_sid.get(sid).cloned().unwrap_or_default();
        ids.iter()
            .filter(|id| remove(&mut inner, id).is_some())
            .count()
    }

    /// Ends every session of the person `sub`. Returns how many.
    pub fn remove_by_sub(&self, sub: &str) -> usize {
        let mut inner = self.lock();
        let ids = inner.by_sub.get(sub).cloned().unwrap_or_default();
        ids.iter()
            .filter(|id| remove(&mut inner, id).is_some())
            .count()
    }

    pub fn len(&self) -> usize {
        self.lock().sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps a sign-in in flight for the browser `browser` until it comes back.
    pub fn add_pending(&self, login: PendingLogin, browser: &str, now: i64) {
        let mut inner = self.lock();
        inner
            .pending
            .retain(|_, p| p.created_at + LOGIN_LIFETIME > now);
        if inner.pending.len() >= MAX_PENDING
            && let Some(oldest) = inner
                .pending
                .iter()
                .min_by_key(|(_, p)| p.created_at)
                .map(|(state, _)| state.clone())
        {
            inner.pending.remove(&oldest);
        }
        inner.pending.insert(
            login.state.secret().clone(),
            Pending {
                login,
                browser: browser.to_owned(),
                created_at: now,
            },
        );
    }

    /// The sign-in that `state` belongs to, taken (so it can be used once), if the same
    /// browser started it and it is not too old (Core §3.1.2.7 with RFC 6749 §10.12).
    pub fn take_pending(&self, state: &str, browser: &str, now: i64) -> Option<PendingLogin> {
        let mut inner = self.lock();
        let pending = inner.pending.get(state)?;
        let same_browser: bool = pending.browser.as_bytes().ct_eq(browser.as_bytes()).into();
        if !same_browser {
            return None;
        }
        let pending = inner.pending.remove(state)?;
        (pending.created_at + LOGIN_LIFETIME > now).then_some(pending.login)
    }
}

fn remove(inner: &mut Inner, id: &SessionId) -> Option<Session> {
    let session = inner.sessions.remove(id)?;
    if let Some(sid) = &session.sid {
        unindex(&mut inner.by_sid, sid, id);
    }
    unindex(&mut inner.by_sub, &session.sub, id);
    Some(session)
}

fn unindex(index: &mut HashMap<String, HashSet<SessionId>>, key: &str, id: &SessionId) {
    if let Some(ids) = index.get_mut(key) {
        ids.remove(id);
        if ids.is_empty() {
            index.remove(key);
        }
    }
}
