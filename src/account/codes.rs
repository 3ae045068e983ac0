//! Issuing and checking one-time verification codes.
//!
//! A code is stored as an HMAC under the server's code key (never the code, nor anything a
//! store dump could search) with its expiry; tries are counted with one atomic
//! increment per check, so parallel guesses cannot get more checks than allowed; using a code
//! is one atomic take, so it works once.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Context, ServiceError, limits};
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    config::LimitSettings,
    domain::{
        AccountId, ClientInfo, CodeDigest, CodePurpose, ContactIdentifier, VerificationCode,
        random_token_of,
    },
    i18n::Lang,
    notify::{Channel, DeliveryReport},
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// A new code is on its way; another may be asked for after the instant given.
    Sent {
        resend_after: DateTime<Utc>,
        went: Went,
    },
    /// One was sent moments ago; nothing was sent now.
    CoolingDown { resend_after: DateTime<Utc> },
}

/// Where a code went, as far as the page may say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Went {
    /// Delivered before answering, by this channel.
    By(Channel),
    /// Delivered after answering (or a decoy): the channels it is tried on, in order. The
    /// page names these for an account and a decoy alike, so it tells nothing.
    Along(Vec<Channel>),
}

impl Sent {
    pub fn resend_after(&self) -> DateTime<Utc> {
        match self {
            Self::Sent { resend_after, .. } | Self::CoolingDown { resend_after } => *resend_after,
        }
    }

    /// The channels to name on the page, the one used (or tried first) first; `None` when
    /// nothing was sent now.
    pub fn channels(&self) -> Option<Vec<Channel>> {
        match self {
            Self::Sent {
                went: Went::By(channel),
                ..
            } => Some(vec![*channel]),
            Self::Sent {
                went: Went::Along(route),
                ..
            } => Some(route.clone()),
            Self::CoolingDown { .. } => None,
        }
    }
}

/// A right code, and the channel that carried it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proof {
    pub via: Option<Channel>,
}

impl Proof {
    /// The RFC 8176 methods a right code proves: `otp`, and `sms` when it came by SMS.
    /// `whatsapp` is not in the RFC 8176 registry; OIDC Core §2 lets `amr` carry other
    /// values, and an app that checks it can tell the two transports apart.
    pub fn amr(self) -> &'static [&'static str] {
        match self.via {
            Some(Channel::Sms) => &["otp", "sms"],
            Some(Channel::Whatsapp) => &["otp", "whatsapp"],
            Some(Channel::Email) | None => &["otp"],
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

/// What a code is tied to beyond its contact: the browser that may type it (see
/// [`BrowserTag`]), and the account it is for when the caller knows it, so the audit events
/// (and the owner's recent activity) name it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Binding<'a> {
    pub browser: Option<&'a BrowserTag>,
    pub owner: Option<AccountId>,
    /// The channel the person asked for ("send it on WhatsApp instead"), tried first.
    pub prefer: Option<Channel>,
}

impl<'a> Binding<'a> {
    /// Bound to `browser`, for `owner` when known.
    pub fn new(browser: &'a BrowserTag, owner: Option<AccountId>) -> Self {
        Self {
            browser: Some(browser),
            owner,
            prefer: None,
        }
    }

    /// The same, trying `channel` first.
    pub fn preferring(self, channel: Option<Channel>) -> Self {
        Self {
            prefer: channel,
            ..self
        }
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

    /// The tag as a store key part (base64url of a digest: no secret, no separator).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn code_length(ctx: &Context, purpose: CodePurpose) -> u8 {
    match purpose {
        // The seed's promise: four digits to prove a number at sign-up. Codes that guard an
        // existing account are longer (see the README's Security section).
        CodePurpose::Signup => ctx.settings.codes.signup_length,
        // The account console's codes guard an account too (six digits by default).
        CodePurpose::Login
        | CodePurpose::Reset
        | CodePurpose::Unlock
        | CodePurpose::Reauth
        | CodePurpose::Contact
        | CodePurpose::Delete => ctx.settings.codes.account_length,
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
    ctx: &Context,
    purpose: CodePurpose,
    to: &ContactIdentifier,
    lang: Lang,
    delivery: Delivery,
    client: &ClientInfo,
) -> Result<Sent, ServiceError> {
    send_bound(ctx, purpose, to, lang, delivery, client, Binding::default()).await
}

/// [`send`], the code bound to `bound.browser` when given: only that browser can use it, and
/// it replaces only that browser's earlier code.
///
/// The steps: [`check_destination`] (nothing counted yet), the resend cooldown, the abuse
/// limits, then the code is made, kept as a MAC, delivered and audited.
pub async fn send_bound(
    ctx: &Context,
    purpose: CodePurpose,
    to: &ContactIdentifier,
    lang: Lang,
    delivery: Delivery,
    client: &ClientInfo,
    bound: Binding<'_>,
) -> Result<Sent, ServiceError> {
    check_destination(&ctx.settings.limits, to).map_err(ServiceError::PhoneRefused)?;
    let settings = &ctx.settings.codes;
    let now = ctx.clock.now();
    let cooldown = Duration::seconds(settings.resend_cooldown_secs);
    let resend_after = now + cooldown;
    let gate_key = cooldown_key(to, bound.browser);
    if settings.resend_cooldown_secs > 0 {
        // One atomic increment decides between concurrent requests: only the first sends.
        let hits = ctx
            .store
            .increment(&gate_key, cooldown.to_std().unwrap_or_default())
            .await?;
        if hits > 1 {
            let until = ctx
                .store
                .get_json::<DateTime<Utc>>(&format!("{gate_key}:until"))
                .await?
                .unwrap_or(resend_after);
            return Ok(Sent::CoolingDown {
                resend_after: until,
            });
        }
        ctx.store
            .put_json(
                &format!("{gate_key}:until"),
                &resend_after,
                cooldown.to_std().unwrap_or_default(),
            )
            .await?;
    }

    // Past the cooldown, the abuse limits decide (and count); a refusal frees the cooldown so
    // the next request is told about the limit again rather than "wait a minute".
    if let Err(refused) =
        limits::code_requested(ctx.store.as_ref(), &ctx.settings.limits, now, to, client.ip).await?
    {
        ctx.store.delete(&gate_key).await?;
        return Err(limit_tripped(ctx, refused, client).await);
    }

    let code = VerificationCode::generate(code_length(ctx, purpose));
    let id = random_token_of(16);
    let expires_at = now + ctx.settings.code_ttl();
    let pending = PendingCode {
        digest: code.mac(&ctx.keys.code_mac, &id),
        id,
        expires_at,
    };
    // Kept a minute past expiry so a late try can be told "expired" rather than "unknown".
    let key = code_key(purpose, to, bound.browser);
    ctx.store
        .put_json(
            &key,
            &pending,
            ttl_until(now, expires_at + Duration::minutes(1)),
        )
        .await?;

    let minutes = ctx.settings.codes.ttl_secs / 60;
    let route = ctx.notifier.route(to, bound.prefer);
    let went = match delivery {
        Delivery::Decoy => Went::Along(route),
        Delivery::Now => {
            let report = ctx
                .notifier
                .send_code(to, purpose, &code, minutes, lang, bound.prefer)
                .await;
            record_delivery(ctx, &report, purpose, client, bound.owner).await;
            match delivered(ctx, &report, &pending.id, expires_at, now).await? {
                Some(channel) => Went::By(channel),
                None => {
                    // Nothing was delivered: forget the code and let the person ask again now.
                    ctx.store.delete(&key).await?;
                    ctx.store.delete(&gate_key).await?;
                    return Err(failure(report).into());
                }
            }
        }
        Delivery::Background => {
            let (ctx, client, to, id) =
                (ctx.clone(), client.clone(), to.clone(), pending.id.clone());
            let (owner, prefer) = (bound.owner, bound.prefer);
            tokio::spawn(async move {
                let report = ctx
                    .notifier
                    .send_code(&to, purpose, &code, minutes, lang, prefer)
                    .await;
                record_delivery(&ctx, &report, purpose, &client, owner).await;
                match delivered(&ctx, &report, &id, expires_at, now).await {
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => {
                        tracing::warn!(purpose = purpose.as_str(), "code not delivered");
                        let _ = ctx.store.delete(&key).await;
                        let _ = ctx.store.delete(&gate_key).await;
                    }
                }
            });
            Went::Along(route)
        }
    };
    // A decoy is recorded like a real code: the log is read by operators, not strangers, but
    // it must not become a list of which contacts have accounts either.
    // The purpose and the channel (`signup sms`, `reset email`): the overview counts codes
    // sent by channel.
    let channel = match &went {
        Went::By(channel) => *channel,
        Went::Along(route) => route.first().copied().unwrap_or(Channel::Sms),
    };
    let event = AuditEvent::new(AuditKind::CodeSent, Outcome::Ok)
        .from(client)
        .detail(format!("{} {}", purpose.as_str(), channel.as_str()));
    ctx.audit.record(with_owner(event, bound.owner)).await;
    Ok(Sent::Sent { resend_after, went })
}

/// Audits each failed delivery attempt (`code not delivered`, with its channel), so an
/// operator sees a failing gateway and the failovers it caused. The success is audited by
/// the caller as the code sent.
async fn record_delivery(
    ctx: &Context,
    report: &DeliveryReport,
    purpose: CodePurpose,
    client: &ClientInfo,
    owner: Option<AccountId>,
) {
    for (channel, outcome) in &report.attempts {
        if outcome.is_err() {
            let event = AuditEvent::new(AuditKind::CodeSent, Outcome::Failed)
                .from(client)
                .detail(format!(
                    "{} {} not delivered",
                    purpose.as_str(),
                    channel.as_str()
                ));
            ctx.audit.record(with_owner(event, owner)).await;
        }
    }
}

/// The channel that delivered, remembered beside the code (for its `amr` when it is used).
async fn delivered(
    ctx: &Context,
    report: &DeliveryReport,
    code_id: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<Channel>, ServiceError> {
    let Some(channel) = report.delivered_by() else {
        return Ok(None);
    };
    ctx.store
        .put_json(
            &format!("code-via:{code_id}"),
            &channel,
            ttl_until(now, expires_at + Duration::minutes(1)),
        )
        .await?;
    Ok(Some(channel))
}

/// The last attempt's error: what the person is told went wrong.
fn failure(report: DeliveryReport) -> crate::notify::NotifyError {
    report
        .attempts
        .into_iter()
        .rev()
        .find_map(|(_, outcome)| outcome.err())
        .unwrap_or_else(|| {
            crate::notify::NotifyError::Failed("no channel can carry this code".into())
        })
}

/// Codes go to a phone number only if it is a mobile number in a served country (the
/// SMS-pumping rule, [`limits::phone_allowed`]). Checked here, in the sending path itself, so
/// that no caller can skip it, and first, so that a refused number counts against no limit.
pub fn check_destination(
    settings: &LimitSettings,
    to: &ContactIdentifier,
) -> Result<(), limits::PhoneRefused> {
    match to {
        ContactIdentifier::Phone(phone) => limits::phone_allowed(settings, phone),
        ContactIdentifier::Email(_) => Ok(()),
    }
}

/// Logs and audits a tripped limit, and turns it into the error the pages answer 429 with.
pub(super) async fn limit_tripped(
    ctx: &Context,
    refused: limits::Refused,
    client: &ClientInfo,
) -> ServiceError {
    ctx.audit
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
    ctx: &Context,
    purpose: CodePurpose,
    to: &ContactIdentifier,
    submitted: &VerificationCode,
    client: &ClientInfo,
) -> Result<Result<Proof, CodeRejected>, ServiceError> {
    verify_bound(ctx, purpose, to, submitted, client, Binding::default()).await
}

/// [`verify`] for a code sent with [`send_bound`].
pub async fn verify_bound(
    ctx: &Context,
    purpose: CodePurpose,
    to: &ContactIdentifier,
    submitted: &VerificationCode,
    client: &ClientInfo,
    bound: Binding<'_>,
) -> Result<Result<Proof, CodeRejected>, ServiceError> {
    let now = ctx.clock.now();
    // An address backing off after its wrong codes for this contact waits, whatever code it
    // asked for since: a fresh code must not buy fresh guesses. Others are not held back.
    if let Err(refused) = limits::code_check_allowed(ctx.store.as_ref(), now, to, client.ip).await?
    {
        return Err(limit_tripped(ctx, refused, client).await);
    }
    let outcome = check(ctx, &code_key(purpose, to, bound.browser), submitted, now).await?;
    let (kind, result) = match outcome {
        Ok(_) => (AuditKind::CodeVerified, Outcome::Ok),
        Err(CodeRejected::Wrong { .. }) => {
            limits::code_failed(ctx.store.as_ref(), &ctx.settings.limits, now, to, client.ip)
                .await?;
            (AuditKind::CodeFailed, Outcome::Failed)
        }
        Err(_) => (AuditKind::CodeFailed, Outcome::Refused),
    };
    let event = AuditEvent::new(kind, result)
        .from(client)
        .detail(purpose.as_str());
    ctx.audit.record(with_owner(event, bound.owner)).await;
    Ok(outcome)
}

fn with_owner(event: AuditEvent, owner: Option<AccountId>) -> AuditEvent {
    match owner {
        Some(id) => event.account(id),
        None => event,
    }
}

/// The code check itself: expiry, tries, digest, and the one atomic take.
async fn check(
    ctx: &Context,
    key: &str,
    submitted: &VerificationCode,
    now: DateTime<Utc>,
) -> Result<Result<Proof, CodeRejected>, ServiceError> {
    let key = key.to_owned();
    let Some(pending) = ctx.store.get_json::<PendingCode>(&key).await? else {
        return Ok(Err(CodeRejected::Unusable));
    };
    if now >= pending.expires_at {
        ctx.store.delete(&key).await?;
        return Ok(Err(CodeRejected::Expired));
    }
    let max_tries = ctx.settings.codes.max_tries;
    let tries = ctx
        .store
        .increment(
            &format!("code-tries:{}", pending.id),
            ttl_until(now, pending.expires_at),
        )
        .await?;
    if tries > max_tries {
        ctx.store.delete(&key).await?;
        return Ok(Err(CodeRejected::Unusable));
    }
    if !pending
        .digest
        .matches(submitted, &ctx.keys.code_mac, &pending.id)
    {
        return Ok(Err(CodeRejected::Wrong {
            tries_left: max_tries - tries,
        }));
    }
    // Right code: whoever takes it first wins; a concurrent second check finds nothing.
    match ctx.store.take_json::<PendingCode>(&key).await? {
        Some(taken) if taken.id == pending.id => {
            let via = ctx
                .store
                .take_json::<Channel>(&format!("code-via:{}", taken.id))
                .await?;
            Ok(Ok(Proof { via }))
        }
        _ => Ok(Err(CodeRejected::Unusable)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        account::testing::{self, nobody},
        config::Settings,
        domain::Region,
    };

    fn email() -> ContactIdentifier {
        ContactIdentifier::parse("asha@example.com", Region::default()).unwrap()
    }

    fn code(s: &str) -> VerificationCode {
        VerificationCode::parse(s).unwrap()
    }

    /// Asks for a code for `purpose` to `to`, delivered before answering.
    async fn send_now(
        ctx: &Context,
        purpose: CodePurpose,
        to: &ContactIdentifier,
    ) -> Result<Sent, ServiceError> {
        send(ctx, purpose, to, Lang::default(), Delivery::Now, &nobody()).await
    }

    /// A code of the same length that is certainly not `code`.
    fn wrong(code: &str) -> String {
        code.chars()
            .map(|c| char::from(b'0' + (c as u8 - b'0' + 1) % 10))
            .collect()
    }

    #[tokio::test]
    async fn a_sent_code_verifies_once_and_wrong_ones_count_down() {
        let t = testing::context(&Settings::default()).await;
        let (ctx, to, who) = (&t.ctx, email(), nobody());
        let sent = send_now(ctx, CodePurpose::Signup, &to).await.unwrap();
        assert!(matches!(
            sent,
            Sent::Sent {
                went: Went::By(Channel::Email),
                ..
            }
        ));
        let right = t.sent.last_code().expect("the code was delivered");
        assert_eq!(right.len(), usize::from(ctx.settings.codes.signup_length));

        let max = ctx.settings.codes.max_tries;
        let (right, wrong) = (code(&right), code(&wrong(&right)));
        let first = verify(ctx, CodePurpose::Signup, &to, &wrong, &who);
        assert_eq!(
            first.await.unwrap(),
            Err(CodeRejected::Wrong {
                tries_left: max - 1
            })
        );
        // Another purpose's code is another code.
        let other = verify(ctx, CodePurpose::Reset, &to, &right, &who);
        assert_eq!(other.await.unwrap(), Err(CodeRejected::Unusable));

        let ok = verify(ctx, CodePurpose::Signup, &to, &right, &who);
        assert_eq!(
            ok.await.unwrap(),
            Ok(Proof {
                via: Some(Channel::Email)
            })
        );
        let again = verify(ctx, CodePurpose::Signup, &to, &right, &who);
        assert_eq!(again.await.unwrap(), Err(CodeRejected::Unusable), "used up");
    }

    #[tokio::test]
    async fn a_second_request_within_the_cooldown_sends_nothing_and_codes_expire() {
        let t = testing::context(&Settings::default()).await;
        let (ctx, to, who) = (&t.ctx, email(), nobody());
        let first = send_now(ctx, CodePurpose::Login, &to).await.unwrap();
        let second = send_now(ctx, CodePurpose::Login, &to).await.unwrap();
        assert_eq!(
            second,
            Sent::CoolingDown {
                resend_after: first.resend_after()
            }
        );
        assert_eq!(t.sent.count(), 1);

        let right = code(&t.sent.last_code().unwrap());
        t.clock.advance(ctx.settings.code_ttl());
        let late = verify(ctx, CodePurpose::Login, &to, &right, &who);
        assert_eq!(late.await.unwrap(), Err(CodeRejected::Expired));
    }

    #[tokio::test]
    async fn send_refuses_a_number_phone_allowed_refuses_before_counting_anything() {
        let mut settings = Settings::default();
        let to = ContactIdentifier::parse("9812345678", settings.default_region).unwrap();
        let ContactIdentifier::Phone(phone) = &to else {
            panic!("a mobile number")
        };
        // The country is not served: phone_allowed says no, and so does every way to send.
        settings.limits.sms_countries = Vec::new();
        let refused = limits::phone_allowed(&settings.limits, phone).unwrap_err();
        assert_eq!(refused, limits::PhoneRefused::Country);

        let (t, who) = (testing::context(&settings).await, nobody());
        for delivery in [Delivery::Now, Delivery::Background, Delivery::Decoy] {
            let sent = send(
                &t.ctx,
                CodePurpose::Login,
                &to,
                Lang::default(),
                delivery,
                &who,
            );
            assert!(
                matches!(sent.await, Err(ServiceError::PhoneRefused(r)) if r == refused),
                "{delivery:?}"
            );
        }
        let tag = BrowserTag::new("form token");
        let bound = send_bound(
            &t.ctx,
            CodePurpose::Reset,
            &to,
            Lang::default(),
            Delivery::Background,
            &who,
            Binding::new(&tag, None),
        );
        assert!(matches!(bound.await, Err(ServiceError::PhoneRefused(_))));
        testing::settle().await;
        assert_eq!(t.sent.count(), 0, "nothing sent");
        assert_eq!(t.store.len(), 0, "no cooldown, limit or code stored");

        // Served again: the same number gets its code.
        let served = testing::context(&Settings::default()).await;
        send_now(&served.ctx, CodePurpose::Login, &to)
            .await
            .unwrap();
        assert_eq!(served.sent.count(), 1);
    }
}
