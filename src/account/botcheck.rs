//! The bot check before a code goes to a phone number or email a stranger typed: a
//! proof-of-work challenge (the ALTCHA scheme, made and verified by `altcha-lib-rs`) that the
//! page's own script solves with WebCrypto, or, without JavaScript, a short wait.
//!
//! Every face that sends a code to a typed contact calls [`check_code_request`] first; a page
//! that shows such a form asks [`challenge`] for what its script solves.
//!
//! - **Stateless:** a challenge is HMAC-signed (under a key derived from the key encryption
//!   key) and carries its expiry and difficulty in its signed salt; issuing one stores nothing,
//!   so a stranger loading pages fills no store.
//! - **Single use:** a verified solution is marked spent with one atomic increment under its
//!   challenge until it expires, so two concurrent uses of one solution cannot both pass.
//! - **Adaptive:** [`assess`] turns the counters the abuse limits already keep (the deployment's
//!   SMS this hour, the asking address's code requests this hour) into whether the check is
//!   required and how hard it is; `bot_check.mode` can make it always or never required.
//! - **Without JavaScript:** a request without a solution gets a wait ticket instead (a
//!   zero-work challenge signed the same way, bound to the contact, good only after a wait
//!   that grows with the pressure), so nobody is blocked, only slowed down.

use std::{fmt, net::IpAddr, sync::Arc};

use altcha_lib_rs::{ChallengeOptions, Payload, algorithm::AltchaAlgorithm};
use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use super::{Context, ServiceError, limits};
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    config::{BotCheckMode, BotCheckSettings, LimitSettings},
    domain::{ClientInfo, ContactIdentifier, random_token_of},
    oidc::keys::KeyEncryptionKey,
    store::ttl_until,
};

/// The HKDF `info` of the key challenges and wait tickets are signed under.
pub const KEY_PURPOSE: &str = "oneid bot check v1";

/// The longest solution or ticket a form may carry (base64 of ALTCHA's JSON, which is about
/// 300 characters); anything longer is refused before it is decoded.
pub const MAX_ANSWER_LEN: usize = 1024;

/// The longest salt accepted: 16 random characters and the few fields this module signs into it.
const MAX_SALT_LEN: usize = 200;

/// What kind of signed object a salt belongs to (its first field after the random part), so a
/// wait ticket (whose number is known) is never taken for a solved challenge, nor the other
/// way round.
const KIND_WORK: &str = "work";
const KIND_WAIT: &str = "wait";

/// The key challenges and tickets are signed under. `altcha-lib-rs` takes the HMAC key as a
/// string: the 32 derived bytes, in hex (all 256 bits of them). `Debug` is redacted.
#[derive(Clone)]
pub struct BotCheckKey(Arc<String>);

impl BotCheckKey {
    pub fn derive(kek: &KeyEncryptionKey) -> Self {
        Self(Arc::new(hex(&kek.derive(KEY_PURPOSE))))
    }

    #[cfg(test)]
    pub(crate) fn for_tests(byte: u8) -> Self {
        Self(Arc::new(hex(&[byte; 32])))
    }
}

impl fmt::Debug for BotCheckKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BotCheckKey(<redacted>)")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How hard a challenge is, and how long the wait without JavaScript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Difficulty {
    /// ALTCHA's `maxnumber`: the secret number is drawn from `0..=max_number`, so solving
    /// takes `max_number / 2` SHA-256 hashes on average.
    pub max_number: u64,
    pub wait_secs: u64,
}

/// Whether the check is required now, and how hard a challenge issued now is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assessment {
    pub required: bool,
    pub difficulty: Difficulty,
}

/// The pure decision: from the pressure on the code limits to whether the check is required
/// and how hard it is.
///
/// The load is the larger of two shares, in thousandths: the deployment's SMS this hour of
/// `sms_per_hour`, and the asking address's code requests this hour of `ip_codes_per_hour`
/// (each capped at the whole). The difficulty and the wait rise linearly with it from their
/// easy to their hard setting. In adaptive mode the check is required once the SMS share
/// reaches `sms_load_percent` or the address asked for `address_codes_per_hour` codes.
pub fn assess(
    settings: &BotCheckSettings,
    limits: &LimitSettings,
    pressure: limits::CodePressure,
) -> Assessment {
    let share = |used: i64, cap: u32| -> u64 {
        let used = u64::try_from(used).unwrap_or(0);
        (used.saturating_mul(1000) / u64::from(cap.max(1))).min(1000)
    };
    let load = share(pressure.sms_this_hour, limits.sms_per_hour).max(share(
        pressure.from_address_this_hour,
        limits.ip_codes_per_hour,
    ));
    let between = |easy: u64, hard: u64| {
        easy.saturating_add(hard.saturating_sub(easy).saturating_mul(load) / 1000)
    };
    let required = match settings.mode {
        BotCheckMode::Always => true,
        BotCheckMode::Never => false,
        BotCheckMode::Adaptive => {
            let sms = u64::try_from(pressure.sms_this_hour).unwrap_or(0);
            sms.saturating_mul(100)
                >= u64::from(limits.sms_per_hour)
                    .saturating_mul(u64::from(settings.sms_load_percent))
                || pressure.from_address_this_hour >= i64::from(settings.address_codes_per_hour)
        }
    };
    Assessment {
        required,
        difficulty: Difficulty {
            max_number: between(settings.easy_max_number, settings.hard_max_number),
            wait_secs: between(settings.easy_wait_secs, settings.hard_wait_secs),
        },
    }
}

/// The assessment for a request from `ip` now.
async fn assess_now(ctx: &Context, ip: Option<IpAddr>) -> Result<Assessment, ServiceError> {
    let pressure = limits::code_pressure(ctx.store.as_ref(), ip).await?;
    let settings = &ctx.settings;
    Ok(assess(&settings.bot_check, &settings.limits, pressure))
}

/// The challenge a code-request form carries for its script, as ALTCHA's JSON
/// (`algorithm`, `challenge`, `maxnumber`, `salt`, `signature`); `None` when the check is
/// off. Issued whether or not the check is required yet, so a page with JavaScript always
/// sends a solution and its person never meets the wait; at little pressure it is solved in
/// a fraction of a second. Stores nothing.
pub async fn challenge(ctx: &Context, client: &ClientInfo) -> Result<Option<String>, ServiceError> {
    if ctx.settings.bot_check.mode == BotCheckMode::Never {
        return Ok(None);
    }
    let difficulty = assess_now(ctx, client.ip).await?.difficulty;
    let now = ctx.clock.now();
    let expires = now + ttl(&ctx.settings.bot_check);
    let max_number = difficulty.max_number.to_string();
    let challenge = sign(
        ctx,
        difficulty.max_number,
        None,
        expires,
        &[KIND_WORK, &max_number],
    )?;
    crate::telemetry::bot_check("issued");
    serde_json::to_string(&challenge)
        .map(Some)
        .map_err(|e| ServiceError::Task(format!("bot check challenge: {e}")))
}

fn ttl(settings: &BotCheckSettings) -> TimeDelta {
    TimeDelta::seconds(i64::try_from(settings.challenge_ttl_secs).unwrap_or(600))
}

/// A challenge signed by `altcha-lib-rs` under the server's key. What this module needs to
/// know again (the kind, then the kind's fields) rides in the salt after a random part, as
/// `random.kind.field.field`, so the signature covers it; the library adds the expiry as the
/// salt's one parameter (`?expires=N&`). Only one: the library re-serializes the parameters
/// from a `HashMap` to verify, and with several their order (so the hash) could change.
fn sign(
    ctx: &Context,
    max_number: u64,
    number: Option<u64>,
    expires: DateTime<Utc>,
    fields: &[&str],
) -> Result<altcha_lib_rs::Challenge, ServiceError> {
    let salt = std::iter::once(random_token_of(12).as_str())
        .chain(fields.iter().copied())
        .collect::<Vec<_>>()
        .join(".");
    altcha_lib_rs::create_challenge(ChallengeOptions {
        algorithm: Some(AltchaAlgorithm::Sha256),
        max_number: Some(max_number),
        number,
        hmac_key: ctx.keys.bot_check.0.as_str(),
        salt: Some(salt),
        expires: Some(expires),
        ..Default::default()
    })
    .map_err(|e| ServiceError::Task(format!("bot check challenge: {e}")))
}

/// What a code-request form carried, parsed at the edge: nothing, a solution from the script,
/// a wait ticket from the page without JavaScript, or something that is neither.
#[derive(Debug, Clone)]
pub enum Answer {
    None,
    Solution(Box<Payload>),
    Ticket(Box<Payload>),
    Malformed,
}

impl Answer {
    /// From the form's `altcha` (the script's solution) and `ticket` fields: base64 of
    /// ALTCHA's JSON payload, at most [`MAX_ANSWER_LEN`] characters. Empty fields are absent.
    pub fn from_form(solution: Option<&str>, ticket: Option<&str>) -> Self {
        fn present(field: Option<&str>) -> Option<&str> {
            field.map(str::trim).filter(|f| !f.is_empty())
        }
        match (present(solution), present(ticket)) {
            (None, None) => Self::None,
            (Some(solution), _) => decode(solution).map_or(Self::Malformed, Self::Solution),
            (None, Some(ticket)) => decode(ticket).map_or(Self::Malformed, Self::Ticket),
        }
    }
}

/// A payload a stranger sent, bounded before anything is parsed; the number goes through
/// serde's checked `u64` parsing (a larger one is refused, never wrapped).
fn decode(field: &str) -> Option<Box<Payload>> {
    if field.len() > MAX_ANSWER_LEN {
        return None;
    }
    let json = STANDARD.decode(field).ok()?;
    let payload: Payload = serde_json::from_slice(&json).ok()?;
    let hex64 = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    (matches!(payload.algorithm, AltchaAlgorithm::Sha256)
        && hex64(&payload.challenge)
        && hex64(&payload.signature)
        && payload.salt.len() <= MAX_SALT_LEN)
        .then(|| Box::new(payload))
}

/// Why a code request did not pass the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotPassed {
    /// No solution (no JavaScript, or the script could not run): the person waits
    /// `seconds`, then sends `ticket` back with the form.
    Wait { ticket: String, seconds: u64 },
    /// Refused: the form is shown again with a fresh challenge.
    Refused(Refusal),
}

/// Why an answer was refused; the audit log's detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Undecodable, forged or altered: its signature or challenge does not verify, or it is a
    /// wait ticket for another contact.
    Invalid,
    /// Past its expiry.
    Expired,
    /// Already used once.
    Spent,
    /// A valid solution of a challenge easier than the pressure now asks for.
    TooEasy,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::Expired => "expired",
            Self::Spent => "spent",
            Self::TooEasy => "too_easy",
        }
    }
}

/// The check a code request to `to` passes before anything is counted, stored or sent.
///
/// Not required (adaptive mode at little pressure, or mode `never`): passes whatever the form
/// carried. Required: a solution must verify, be unexpired, be at least as hard as the
/// pressure now asks, and be unused (then it is spent); a wait ticket must verify, name `to`,
/// be past its wait (an early one gets the remaining wait, and stays usable) and unused; no
/// answer at all gets a new wait ticket.
pub async fn check_code_request(
    ctx: &Context,
    to: &ContactIdentifier,
    client: &ClientInfo,
    answer: &Answer,
) -> Result<Result<(), NotPassed>, ServiceError> {
    let assessment = assess_now(ctx, client.ip).await?;
    if !assessment.required {
        return Ok(Ok(()));
    }
    let now = ctx.clock.now();
    let outcome = match answer {
        Answer::None => Err(issue_wait(ctx, to, assessment.difficulty, now)?),
        Answer::Malformed => Err(NotPassed::Refused(Refusal::Invalid)),
        Answer::Solution(payload) => {
            match check_solution(ctx, payload, assessment.difficulty, now) {
                Ok(expires) => spend(ctx, payload, now, expires).await?,
                Err(refusal) => Err(NotPassed::Refused(refusal)),
            }
        }
        Answer::Ticket(payload) => match check_ticket(ctx, payload, to, now) {
            Ok(expires) => spend(ctx, payload, now, expires).await?,
            Err(not_passed) => Err(not_passed),
        },
    };
    match &outcome {
        Ok(()) => crate::telemetry::bot_check("passed"),
        Err(NotPassed::Wait { .. }) => crate::telemetry::bot_check("waiting"),
        Err(NotPassed::Refused(refusal)) => {
            crate::telemetry::bot_check("refused");
            ctx.audit
                .record(
                    AuditEvent::new(AuditKind::LimitTripped, Outcome::Refused)
                        .from(client)
                        .detail(format!("bot_check {}", refusal.as_str())),
                )
                .await;
        }
    }
    Ok(outcome)
}

/// The fields [`sign`] put in a salt (after its random part), and its expiry parameter.
struct Signed<'a> {
    fields: Vec<&'a str>,
    expires: Option<&'a str>,
}

fn read_salt(salt: &str) -> Signed<'_> {
    let (base, query) = salt.split_once('?').unwrap_or((salt, ""));
    Signed {
        fields: base.split('.').skip(1).collect(),
        expires: query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find_map(|(k, v)| (k == "expires").then_some(v)),
    }
}

/// The library's verification (the challenge is the hash of the salt and number; the
/// signature is the HMAC of the challenge), then what [`sign`] put in the salt: its kind and
/// expiry, the expiry checked against the injected clock (the library would read the system
/// clock). Returns the expiry and the kind's fields.
///
/// The library compares signatures with `!=`, not in constant time. A remote timing attack on
/// a 64-character hex comparison is far below network noise, and each guess costs a request
/// against the per-address limits; kept in mind should the library gain a constant-time check.
fn verify<'a>(
    ctx: &Context,
    payload: &'a Payload,
    kind: &str,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, Vec<&'a str>), Refusal> {
    altcha_lib_rs::verify_solution(payload, ctx.keys.bot_check.0.as_str(), false)
        .map_err(|_| Refusal::Invalid)?;
    let signed = read_salt(&payload.salt);
    let Some((&found, fields)) = signed.fields.split_first() else {
        return Err(Refusal::Invalid);
    };
    if found != kind {
        return Err(Refusal::Invalid);
    }
    let expires = signed
        .expires
        .and_then(|e| e.parse::<i64>().ok())
        .and_then(|e| DateTime::from_timestamp(e, 0))
        .ok_or(Refusal::Invalid)?;
    if expires <= now {
        return Err(Refusal::Expired);
    }
    Ok((expires, fields.to_vec()))
}

/// A solved challenge: verified, unexpired, and at least as hard as `wanted`.
fn check_solution(
    ctx: &Context,
    payload: &Payload,
    wanted: Difficulty,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Refusal> {
    let (expires, fields) = verify(ctx, payload, KIND_WORK, now)?;
    let solved = fields
        .first()
        .and_then(|d| d.parse::<u64>().ok())
        .ok_or(Refusal::Invalid)?;
    if solved < wanted.max_number {
        return Err(Refusal::TooEasy);
    }
    Ok(expires)
}

/// What binds a wait ticket to the contact it was issued for: a digest of the canonical
/// contact (the ticket is shown only to whoever typed that contact).
fn contact_tag(to: &ContactIdentifier) -> String {
    let mut digest = Sha256::new();
    digest.update(b"oneid-bot-check-contact\0");
    digest.update(to.canonical().as_bytes());
    hex(&digest.finalize()[..16])
}

/// A wait ticket for `to`: a challenge whose number is known (zero), so it costs no work but
/// is signed like any other; it says when it may be used (`nb`) and for whom (`to`).
fn issue_wait(
    ctx: &Context,
    to: &ContactIdentifier,
    difficulty: Difficulty,
    now: DateTime<Utc>,
) -> Result<NotPassed, ServiceError> {
    let wait = TimeDelta::seconds(i64::try_from(difficulty.wait_secs).unwrap_or(60));
    let not_before = now + wait;
    let expires = not_before + ttl(&ctx.settings.bot_check);
    let not_before = not_before.timestamp().to_string();
    let tag = contact_tag(to);
    let signed = sign(ctx, 0, Some(0), expires, &[KIND_WAIT, &not_before, &tag])?;
    let ticket = Payload {
        algorithm: signed.algorithm,
        challenge: signed.challenge,
        number: 0,
        salt: signed.salt,
        signature: signed.signature,
        took: None,
    };
    Ok(NotPassed::Wait {
        ticket: encode(&ticket)?,
        seconds: difficulty.wait_secs,
    })
}

/// A payload as a form carries it: base64 of its JSON.
pub fn encode(payload: &Payload) -> Result<String, ServiceError> {
    serde_json::to_vec(payload)
        .map(|json| STANDARD.encode(json))
        .map_err(|e| ServiceError::Task(format!("bot check ticket: {e}")))
}

/// A wait ticket: verified, for `to`, past its wait and unexpired. Too early: the same ticket
/// back with the seconds left.
fn check_ticket(
    ctx: &Context,
    payload: &Payload,
    to: &ContactIdentifier,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, NotPassed> {
    let refused = NotPassed::Refused;
    let (expires, fields) = verify(ctx, payload, KIND_WAIT, now).map_err(refused)?;
    let [not_before, tag] = fields[..] else {
        return Err(refused(Refusal::Invalid));
    };
    if tag != contact_tag(to) {
        return Err(refused(Refusal::Invalid));
    }
    let not_before = Some(not_before)
        .and_then(|nb| nb.parse::<i64>().ok())
        .and_then(|nb| DateTime::from_timestamp(nb, 0))
        .ok_or(refused(Refusal::Invalid))?;
    if now < not_before {
        // Whole seconds, rounded up: "wait 0 seconds" would be pressed at once, and refused.
        let left = u64::try_from((not_before - now).num_milliseconds()).unwrap_or(1);
        return Err(NotPassed::Wait {
            ticket: encode(payload).map_err(|_| refused(Refusal::Invalid))?,
            seconds: left.div_ceil(1000).max(1),
        });
    }
    Ok(expires)
}

/// Marks a verified payload used until it expires: one atomic increment, so of two
/// concurrent uses (on any instance, with Redis) exactly one sees 1 and passes. Only payloads
/// that verified get here, so strangers cannot fill the store with made-up keys.
async fn spend(
    ctx: &Context,
    payload: &Payload,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Result<Result<(), NotPassed>, ServiceError> {
    let key = format!("bot-check-spent:{}", payload.challenge);
    let uses = ctx.store.increment(&key, ttl_until(now, expires)).await?;
    Ok(if uses == 1 {
        Ok(())
    } else {
        Err(NotPassed::Refused(Refusal::Spent))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        account::{limits::CodePressure, testing},
        config::Settings,
        domain::Region,
    };

    fn settings(mode: BotCheckMode) -> (BotCheckSettings, LimitSettings) {
        let mut s = Settings::default();
        s.bot_check.mode = mode;
        (s.bot_check, s.limits)
    }

    fn pressure(sms: i64, address: i64) -> CodePressure {
        CodePressure {
            sms_this_hour: sms,
            from_address_this_hour: address,
        }
    }

    #[test]
    fn adaptive_is_quiet_at_little_pressure_and_required_at_either_threshold() {
        let (bot, lim) = settings(BotCheckMode::Adaptive);
        let calm = assess(&bot, &lim, pressure(0, 0));
        assert!(!calm.required);
        assert_eq!(
            calm.difficulty,
            Difficulty {
                max_number: bot.easy_max_number,
                wait_secs: bot.easy_wait_secs
            }
        );
        // One below each threshold: 499 of 1000 SMS, 9 of 10 codes from the address.
        assert!(!assess(&bot, &lim, pressure(499, 9)).required);
        assert!(assess(&bot, &lim, pressure(500, 0)).required);
        assert!(assess(&bot, &lim, pressure(0, 10)).required);
    }

    #[test]
    fn difficulty_and_wait_rise_with_the_larger_load_and_stop_at_the_hard_settings() {
        let (bot, lim) = settings(BotCheckMode::Adaptive);
        // Half the address's budget (10 of 20) weighs more than a tenth of the SMS cap.
        let half = assess(&bot, &lim, pressure(100, 10)).difficulty;
        assert_eq!(half.max_number, 20_000 + (500_000 - 20_000) / 2);
        assert_eq!(half.wait_secs, 3 + 12 / 2);
        let full = Difficulty {
            max_number: bot.hard_max_number,
            wait_secs: bot.hard_wait_secs,
        };
        assert_eq!(assess(&bot, &lim, pressure(1000, 0)).difficulty, full);
        // Past the caps, and counters that no sane store holds: still the hard settings.
        for extreme in [
            pressure(i64::MAX, i64::MAX),
            pressure(5000, 3),
            pressure(-1, 400),
        ] {
            assert_eq!(assess(&bot, &lim, extreme).difficulty, full, "{extreme:?}");
        }
        assert_eq!(
            assess(&bot, &lim, pressure(-5, -5)).difficulty.max_number,
            bot.easy_max_number
        );
    }

    #[test]
    fn always_and_never_ignore_the_pressure_for_the_requirement_only() {
        let (always, lim) = settings(BotCheckMode::Always);
        let (never, _) = settings(BotCheckMode::Never);
        for p in [pressure(0, 0), pressure(1000, 20)] {
            assert!(assess(&always, &lim, p).required);
            assert!(!assess(&never, &lim, p).required);
        }
        assert_eq!(
            assess(&always, &lim, pressure(1000, 0))
                .difficulty
                .max_number,
            always.hard_max_number
        );
    }

    #[test]
    fn answers_are_bounded_before_they_are_parsed() {
        assert!(matches!(Answer::from_form(None, Some(" ")), Answer::None));
        let too_long = "A".repeat(MAX_ANSWER_LEN + 4);
        for bad in ["%%%", "e30=", too_long.as_str()] {
            assert!(matches!(
                Answer::from_form(Some(bad), None),
                Answer::Malformed
            ));
        }
        // A number past u64 is a parse error, not a wrap.
        let json = format!(
            r#"{{"algorithm":"SHA-256","challenge":"{0}","number":18446744073709551616,"salt":"s","signature":"{0}"}}"#,
            "a".repeat(64)
        );
        let field = STANDARD.encode(json);
        assert!(matches!(
            Answer::from_form(Some(&field), None),
            Answer::Malformed
        ));
        assert_eq!(
            format!("{:?}", BotCheckKey::for_tests(1)),
            "BotCheckKey(<redacted>)"
        );
    }

    /// Solves `challenge` with the library's solver; the answer is the challenge's JSON with
    /// the number found (what the page's script sends, base64-encoded).
    fn solve(challenge: &str) -> Answer {
        let mut json: serde_json::Value = serde_json::from_str(challenge).unwrap();
        let field = |name: &str| json[name].as_str().unwrap().to_owned();
        let (hash, salt) = (field("challenge"), field("salt"));
        let max = json["maxnumber"].as_u64();
        json["number"] = altcha_lib_rs::solve_challenge(&hash, &salt, None, max, 0)
            .unwrap()
            .into();
        Answer::from_form(Some(&STANDARD.encode(json.to_string())), None)
    }

    #[tokio::test]
    async fn a_solution_passes_once_and_a_ticket_only_after_its_wait_for_its_contact() {
        let mut s = Settings::default();
        s.bot_check.mode = BotCheckMode::Always;
        s.bot_check.easy_max_number = 1_000;
        let t = testing::context(&s).await;
        let (ctx, who) = (&t.ctx, testing::nobody());
        let to = ContactIdentifier::parse("asha@example.com", Region::default()).unwrap();
        let check = |answer: Answer| {
            let to = to.clone();
            let who = who.clone();
            async move { check_code_request(ctx, &to, &who, &answer).await.unwrap() }
        };
        let answer = solve(&challenge(ctx, &who).await.unwrap().unwrap());
        assert_eq!(check(answer.clone()).await, Ok(()));
        assert_eq!(check(answer).await, Err(NotPassed::Refused(Refusal::Spent)));

        let Err(NotPassed::Wait { ticket, seconds }) = check(Answer::None).await else {
            panic!("no answer: a wait")
        };
        assert_eq!(seconds, 3);
        let ticket = || Answer::from_form(None, Some(&ticket));
        assert!(matches!(
            check(ticket()).await,
            Err(NotPassed::Wait { seconds: 3, .. })
        ));
        // A ticket is not a solution.
        let Answer::Ticket(as_solution) = ticket() else {
            panic!()
        };
        assert_eq!(
            check(Answer::Solution(as_solution)).await,
            Err(NotPassed::Refused(Refusal::Invalid))
        );
        t.clock.advance(TimeDelta::seconds(3));
        let other = ContactIdentifier::parse("ravi@example.com", Region::default()).unwrap();
        assert_eq!(
            check_code_request(ctx, &other, &who, &ticket())
                .await
                .unwrap(),
            Err(NotPassed::Refused(Refusal::Invalid)),
            "bound to its contact"
        );
        assert_eq!(check(ticket()).await, Ok(()));
        assert_eq!(
            check(ticket()).await,
            Err(NotPassed::Refused(Refusal::Spent))
        );

        let stale = solve(&challenge(ctx, &who).await.unwrap().unwrap());
        t.clock.advance(TimeDelta::seconds(601));
        assert_eq!(
            check(stale).await,
            Err(NotPassed::Refused(Refusal::Expired))
        );
    }
}
