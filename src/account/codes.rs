//! Issuing and checking one-time verification codes.
//!
//! A code is stored as an HMAC under the server's code key (never the code, nor anything a
//! store dump could search) with its expiry; tries are counted with one atomic
//! increment per check, so parallel guesses cannot get more checks than allowed; using a code
//! is one atomic take, so it works once.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use rand::{RngCore, rngs::OsRng};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{ServiceError, limits};
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    domain::{ClientInfo, CodeDigest, CodePurpose, ContactIdentifier, VerificationCode},
    i18n::Lang,
    state::AppState,
    store::ttl_until,
};

#[derive(Serialize, Deserialize)]
struct PendingCode {
    /// Distinguishes this code from the next one sent to the same place (tries are per code).
    id: String,
    digest: CodeDigest,
    expires_at: DateTime<Utc>,
}

/// The outcome of asking for a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// A new code is on its way; another may be asked for after the instant given.
    Sent { resend_after: DateTime<Utc> },
    /// One was sent moments ago; nothing was sent now.
    CoolingDown { resend_after: DateTime<Utc> },
}

impl Sent {
    pub fn resend_after(self) -> DateTime<Utc> {
        match self {
            Self::Sent { resend_after } | Self::CoolingDown { resend_after } => resend_after,
        }
    }
}

/// Why a submitted code was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeRejected {
    #[error("wrong code, {tries_left} tries left")]
    Wrong { tries_left: i64 },
    #[error("the code expired")]
    Expired,
    /// Too many wrong tries, already used, or never sent: a new code is needed.
    #[error("no usable code")]
    Unusable,
}

/// Where the pending code lives: one per purpose and contact, or, for a code bound to the
/// browser that asked for it, one per purpose, contact and browser.
fn code_key(purpose: CodePurpose, to: &ContactIdentifier, browser: Option<&BrowserTag>) -> String {
    match browser {
        None => format!("code:{}:{}", purpose.as_str(), to.canonical()),
        Some(tag) => format!("code:{}:{}:{}", purpose.as_str(), to.canonical(), tag.0),
    }
}

fn cooldown_key(to: &ContactIdentifier, browser: Option<&BrowserTag>) -> String {
    match browser {
        None => format!("code-cooldown:{}", to.canonical()),
        Some(tag) => format!("code-cooldown:{}:{}", to.canonical(), tag.0),
    }
}

/// The browser a code is bound to: a digest of a value only that browser's session has (its
/// form token). A code bound to a browser can be typed only there, so a stranger asking for
/// codes to someone else's contact, or typing wrong ones, neither replaces nor uses up the
/// code the owner's browser is waiting for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserTag(String);

impl BrowserTag {
    pub fn new(session_secret: &str) -> Self {
        let mut digest = Sha256::new();
        digest.update(b"oneid-code-browser\0");
        digest.update(session_secret.as_bytes());
        Self(URL_SAFE_NO_PAD.encode(digest.finalize()))
    }
}

fn code_length(state: &AppState, purpose: CodePurpose) -> u8 {
    match purpose {
        // The seed's promise: four digits to prove a number at sign-up. Codes that guard an
        // existing account are longer (see the README's Security section).
        CodePurpose::Signup => state.settings.codes.signup_length,
        CodePurpose::Login | CodePurpose::Reset | CodePurpose::Unlock => {
            state.settings.codes.account_length
        }
    }
}

/// How a code reaches the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Delivered before answering; a failure is reported (sign-up shows it).
    Now,
    /// Delivered after answering, so the answer takes the same time whether or not there is
    /// an account to send to; a failure is logged and frees the cooldown.
    Background,
    /// Never delivered: a pending code nobody knows, for a contact without an account, so that
    /// every later step (cooldown, wrong code, tries left) looks exactly as for a real one.
    Decoy,
}

/// Sends a fresh code for `purpose` to `to`, replacing any earlier one, unless one went to the
/// same place within the resend cooldown.
pub async fn send(
    state: &AppState,
    purpose: CodePurpose,
    to: &ContactIdentifier,
    lang: Lang,
    delivery: Delivery,
    client: &ClientInfo,
) -> Result<Sent, ServiceError> {
    send_bound(state, purpose, to, lang, delivery, client, None).await
}

/// [`send`], the code bound to `browser` when given: only that browser can use it, and it
/// replaces only that browser's earlier code.
pub async fn send_bound(
    state: &AppState,
    purpose: CodePurpose,
    to: &ContactIdentifier,
    lang: Lang,
    delivery: Delivery,
    client: &ClientInfo,
    browser: Option<&BrowserTag>,
) -> Result<Sent, ServiceError> {
    let settings = &state.settings.codes;
    let now = state.clock.now();
    let cooldown = Duration::seconds(settings.resend_cooldown_secs);
    let resend_after = now + cooldown;
    let gate_key = cooldown_key(to, browser);
    if settings.resend_cooldown_secs > 0 {
        // One atomic increment decides between concurrent requests: only the first sends.
        let hits = state
            .store
            .increment(&gate_key, cooldown.to_std().unwrap_or_default())
            .await?;
        if hits > 1 {
            let until = state
                .store
                .get_json::<DateTime<Utc>>(&format!("{gate_key}:until"))
                .await?
                .unwrap_or(resend_after);
            return Ok(Sent::CoolingDown {
                resend_after: until,
            });
        }
        state
            .store
            .put_json(
                &format!("{gate_key}:until"),
                &resend_after,
                cooldown.to_std().unwrap_or_default(),
            )
            .await?;
    }

    // Past the cooldown, the abuse limits decide (and count); a refusal frees the cooldown so
    // the next request is told about the limit again rather than "wait a minute".
    if let Err(refused) = limits::code_requested(
        state.store.as_ref(),
        &state.settings.limits,
        now,
        to,
        client.ip,
    )
    .await?
    {
        state.store.delete(&gate_key).await?;
        return Err(limit_tripped(state, refused, client).await);
    }

    let code = VerificationCode::generate(code_length(state, purpose));
    let id = random_id();
    let expires_at = now + state.settings.code_ttl();
    let pending = PendingCode {
        digest: code.mac(state.kek.code_mac_key(), &id),
        id,
        expires_at,
    };
    // Kept a minute past expiry so a late try can be told "expired" rather than "unknown".
    let key = code_key(purpose, to, browser);
    state
        .store
        .put_json(
            &key,
            &pending,
            ttl_until(now, expires_at + Duration::minutes(1)),
        )
        .await?;

    let minutes = state.settings.codes.ttl_secs / 60;
    match delivery {
        Delivery::Decoy => {}
        Delivery::Now => {
            if let Err(e) = state
                .notifier
                .send_code(to, purpose, &code, minutes, lang)
                .await
            {
                // Nothing was delivered: forget the code and let the person ask again now.
                state.store.delete(&key).await?;
                state.store.delete(&gate_key).await?;
                return Err(e.into());
            }
        }
        Delivery::Background => {
            let (notifier, store, to) = (state.notifier.clone(), state.store.clone(), to.clone());
            tokio::spawn(async move {
                if let Err(e) = notifier.send_code(&to, purpose, &code, minutes, lang).await {
                    tracing::warn!(error = %e, purpose = purpose.as_str(), "code not delivered");
                    let _ = store.delete(&key).await;
                    let _ = store.delete(&gate_key).await;
                }
            });
        }
    }
    // A decoy is recorded like a real code: the log is read by operators, not strangers, but
    // it must not become a list of which contacts have accounts either.
    state
        .audit
        .record(
            AuditEvent::new(AuditKind::CodeSent, Outcome::Ok)
                .from(client)
                .detail(purpose.as_str()),
        )
        .await;
    Ok(Sent::Sent { resend_after })
}

/// Logs and audits a tripped limit, and turns it into the error the pages answer 429 with.
pub(super) async fn limit_tripped(
    state: &AppState,
    refused: limits::Refused,
    client: &ClientInfo,
) -> ServiceError {
    state
        .audit
        .record(
            AuditEvent::new(AuditKind::LimitTripped, Outcome::Refused)
                .from(client)
                .detail(refused.limit.as_str()),
        )
        .await;
    ServiceError::Limited(refused)
}

/// Checks a typed code and, when right, uses it up.
pub async fn verify(
    state: &AppState,
    purpose: CodePurpose,
    to: &ContactIdentifier,
    submitted: &VerificationCode,
    client: &ClientInfo,
) -> Result<Result<(), CodeRejected>, ServiceError> {
    verify_bound(state, purpose, to, submitted, client, None).await
}

/// [`verify`] for a code sent with [`send_bound`] to `browser`.
pub async fn verify_bound(
    state: &AppState,
    purpose: CodePurpose,
    to: &ContactIdentifier,
    submitted: &VerificationCode,
    client: &ClientInfo,
    browser: Option<&BrowserTag>,
) -> Result<Result<(), CodeRejected>, ServiceError> {
    let now = state.clock.now();
    // An address backing off after its wrong codes for this contact waits, whatever code it
    // asked for since: a fresh code must not buy fresh guesses. Others are not held back.
    if let Err(refused) =
        limits::code_check_allowed(state.store.as_ref(), now, to, client.ip).await?
    {
        return Err(limit_tripped(state, refused, client).await);
    }
    let outcome = check(state, &code_key(purpose, to, browser), submitted, now).await?;
    let (kind, result) = match outcome {
        Ok(()) => (AuditKind::CodeVerified, Outcome::Ok),
        Err(CodeRejected::Wrong { .. }) => {
            limits::code_failed(
                state.store.as_ref(),
                &state.settings.limits,
                now,
                to,
                client.ip,
            )
            .await?;
            (AuditKind::CodeFailed, Outcome::Failed)
        }
        Err(_) => (AuditKind::CodeFailed, Outcome::Refused),
    };
    state
        .audit
        .record(
            AuditEvent::new(kind, result)
                .from(client)
                .detail(purpose.as_str()),
        )
        .await;
    Ok(outcome)
}

/// The code check itself: expiry, tries, digest, and the one atomic take.
async fn check(
    state: &AppState,
    key: &str,
    submitted: &VerificationCode,
    now: DateTime<Utc>,
) -> Result<Result<(), CodeRejected>, ServiceError> {
    let key = key.to_owned();
    let Some(pending) = state.store.get_json::<PendingCode>(&key).await? else {
        return Ok(Err(CodeRejected::Unusable));
    };
    if now >= pending.expires_at {
        state.store.delete(&key).await?;
        return Ok(Err(CodeRejected::Expired));
    }
    let max_tries = state.settings.codes.max_tries;
    let tries = state
        .store
        .increment(
            &format!("code-tries:{}", pending.id),
            ttl_until(now, pending.expires_at),
        )
        .await?;
    if tries > max_tries {
        state.store.delete(&key).await?;
        return Ok(Err(CodeRejected::Unusable));
    }
    if !pending
        .digest
        .matches(submitted, state.kek.code_mac_key(), &pending.id)
    {
        return Ok(Err(CodeRejected::Wrong {
            tries_left: max_tries - tries,
        }));
    }
    // Right code: whoever takes it first wins; a concurrent second check finds nothing.
    match state.store.take_json::<PendingCode>(&key).await? {
        Some(taken) if taken.id == pending.id => Ok(Ok(())),
        _ => Ok(Err(CodeRejected::Unusable)),
    }
}

fn random_id() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}
