//! The authenticator app (TOTP, RFC 6238): adding one (a secret from the CSPRNG, shown as a QR
//! code and a key to type, confirmed with a first code), checking its codes once each, and
//! removing it.
//!
//! RFC 6238 defaults, which every authenticator app supports: HMAC-SHA-1, six digits, 30-second
//! steps (§4, §5.2), and one step either side accepted for clock drift (§5.2 and §6 recommend
//! at most one). The code arithmetic is `totp-rs`'s (RFC 6238/4226); this module stores, seals
//! and refuses replays. The secret is 160 bits, the length RFC 4226 §4 recommends (R6), sealed
//! at rest under a key derived from the KEK for this purpose, the account bound in as
//! associated data (see `oidc::keys::SecretSealer`).

use chrono::{DateTime, Duration, Utc};
use rand::{RngCore, rngs::OsRng};
use totp_rs::{Algorithm, Builder, Totp};

use super::{
    super::{Context, ServiceError, notices},
    method_removed, recovery_codes,
};
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    db::models::second_factor as rows,
    domain::{AccountId, ClientInfo, RecoveryCode, TOTP_DIGITS, TotpCode},
};

/// The issuer the authenticator app shows above the code.
pub const ISSUER: &str = "OneID";
/// 160 bits (RFC 4226 §4, R6).
const SECRET_BYTES: usize = 20;
/// RFC 6238 §5.2: the recommended time step.
const STEP_SECS: u64 = 30;
/// RFC 6238 §5.2/§6: at most one step of drift either way.
const SKEW_STEPS: u16 = 1;

/// An authenticator app being added, as the page shows it: the `otpauth://` URI (for the QR
/// code) and the secret in base32, grouped by four (to type by hand). Both carry the secret:
/// `Debug` prints neither.
pub struct Enrolment {
    pub uri: String,
    pub manual_key: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment(<redacted>)")
    }
}

/// Where adding an authenticator app stands.
#[derive(Debug)]
pub enum Enrolling {
    /// Scan or type this, then confirm with a code.
    Show(Enrolment),
    /// The account already has a confirmed authenticator app: remove it first.
    AlreadyAdded,
}

/// How a confirmation ended.
#[derive(Debug)]
pub enum Confirmed {
    /// Added. The recovery codes are shown once when this was the account's first second
    /// factor (see [`recovery_codes::issue_if_first`]).
    Added(Option<Vec<RecoveryCode>>),
    Wrong,
    /// No enrolment in progress (never started, lapsed, or confirmed in another tab).
    NoEnrolment,
}

/// The associated data a secret is sealed under: the account's row.
fn aad(account: AccountId) -> Vec<u8> {
    format!("totp:{}", account.get()).into_bytes()
}

/// The `totp-rs` generator for `secret`, with the RFC 6238 defaults above. The label is the
/// account ID: unique, already shown on the console, and nothing personal; a phone number or
/// email would be copied into the app (and its cloud backups) for anyone who sees the screen.
fn generator(secret: Vec<u8>, account: AccountId) -> Result<Totp, ServiceError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(TOTP_DIGITS as u8)
        .with_step_duration(STEP_SECS)
        .with_skew(SKEW_STEPS)
        .with_secret(secret)
        .with_issuer(Some(ISSUER))
        .with_account_name(account.to_string())
        .build()
        .map_err(|e| ServiceError::Task(format!("authenticator secret: {e}")))
}

/// Seconds since the epoch of `now`, for `totp-rs` (a time before 1970 is no time at all).
fn unix_secs(now: DateTime<Utc>) -> u64 {
    u64::try_from(now.timestamp()).unwrap_or(0)
}

/// The account's authenticator secret, opened, if its row is usable at `now`.
async fn load_generator(
    ctx: &Context,
    account: AccountId,
    confirmed: bool,
) -> Result<Option<(Totp, rows::TotpRow)>, ServiceError> {
    let now = ctx.clock.now();
    let Some(row) = ctx
        .db
        .run(move |conn| rows::find_totp(conn, account))
        .await?
        .filter(|row| row.is_confirmed() == confirmed && row.is_usable(now))
    else {
        return Ok(None);
    };
    let secret = ctx
        .keys
        .totp_seal
        .open(&aad(account), &row.sealed_secret)
        .map_err(|e| ServiceError::Task(e.to_string()))?;
    Ok(Some((generator(secret, account)?, row)))
}

fn enrolment(totp: &Totp, expires_at: DateTime<Utc>) -> Result<Enrolment, ServiceError> {
    let uri = totp
        .to_url()
        .map_err(|e| ServiceError::Task(format!("otpauth URI: {e}")))?;
    let key = totp.secret().to_base32();
    let manual_key = key
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Enrolment {
        uri,
        manual_key,
        expires_at,
    })
}

/// Starts adding an authenticator app: a fresh secret, sealed and stored unconfirmed for
/// `second_factor.enrolment_secs` (replacing an earlier enrolment in progress).
pub async fn start(ctx: &Context, account: AccountId) -> Result<Enrolling, ServiceError> {
    let mut secret = vec![0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut secret);
    let sealed = ctx.keys.totp_seal.seal(&aad(account), &secret);
    let totp = generator(secret, account)?;
    let now = ctx.clock.now();
    let expires_at = now + Duration::seconds(ctx.settings.second_factor.enrolment_secs);
    let started = ctx
        .db
        .run(move |conn| rows::start_totp(conn, account, &sealed, now, expires_at))
        .await?;
    if !started {
        return Ok(Enrolling::AlreadyAdded);
    }
    Ok(Enrolling::Show(enrolment(&totp, expires_at)?))
}

/// The enrolment in progress, to show again (a reload, a wrong first code): `None` when there
/// is none still good.
pub async fn in_progress(
    ctx: &Context,
    account: AccountId,
) -> Result<Option<Enrolment>, ServiceError> {
    let Some((totp, row)) = load_generator(ctx, account, false).await? else {
        return Ok(None);
    };
    let expires_at = row
        .expires_at
        .map(|at| at.and_utc())
        .unwrap_or_else(|| ctx.clock.now());
    enrolment(&totp, expires_at).map(Some)
}

/// Confirms the enrolment in progress with a first code from the app: the app holds the
/// secret and its clock agrees. The code's step is recorded as used, so it cannot also serve
/// at a sign-in. The first second factor of the account issues its recovery codes.
pub async fn confirm(
    ctx: &Context,
    account: AccountId,
    code: &TotpCode,
    from: &ClientInfo,
) -> Result<Confirmed, ServiceError> {
    let Some((totp, _)) = load_generator(ctx, account, false).await? else {
        return Ok(Confirmed::NoEnrolment);
    };
    let now = ctx.clock.now();
    let Some(step) = matched_step(&totp, code, now) else {
        return Ok(Confirmed::Wrong);
    };
    let confirmed = ctx
        .db
        .run(move |conn| rows::confirm_totp(conn, account, step, now))
        .await?;
    if !confirmed {
        return Ok(Confirmed::NoEnrolment);
    }
    ctx.audit
        .record(
            AuditEvent::new(AuditKind::AuthenticatorAdded, Outcome::Ok)
                .account(account)
                .from(from),
        )
        .await;
    tracing::info!(account_id = %account, "authenticator app added");
    if let Err(e) = notices::security_method_changed(
        ctx,
        account,
        notices::SecurityMethod::AuthenticatorApp,
        notices::Change::Added,
    )
    .await
    {
        tracing::warn!(account_id = %account, error = %e, "method notice not sent");
    }
    let codes = recovery_codes::issue_if_first(ctx, account, from).await?;
    Ok(Confirmed::Added(codes))
}

/// The time step `code` matches at `now`, one step either side (RFC 6238 §5.2), if any.
fn matched_step(totp: &Totp, code: &TotpCode, now: DateTime<Utc>) -> Option<i64> {
    totp.check(code.expose(), unix_secs(now))
        .and_then(|step| i64::try_from(step).ok())
}

/// Whether `code` is a right code of the account's confirmed authenticator app, not used
/// before: its step must be later than the last accepted one, moved forward by one
/// conditional UPDATE (see [`rows::accept_step`]), so of two submissions of one code (or of
/// an older one) at most one passes.
pub async fn accept(
    ctx: &Context,
    account: AccountId,
    code: &TotpCode,
) -> Result<bool, ServiceError> {
    let Some((totp, row)) = load_generator(ctx, account, true).await? else {
        return Ok(false);
    };
    let Some(step) = matched_step(&totp, code, ctx.clock.now()) else {
        return Ok(false);
    };
    if !is_later(row.last_step, step) {
        return Ok(false);
    }
    Ok(ctx
        .db
        .run(move |conn| rows::accept_step(conn, account, step))
        .await?)
}

/// RFC 6238 §5.2: a step is accepted once, and never one at or before the last accepted.
fn is_later(last: Option<i64>, step: i64) -> bool {
    last.is_none_or(|last| step > last)
}

/// Removes the account's authenticator app (the caller made sure the sign-in is recent).
/// False when it had none. What a removed second factor also takes away is in
/// [`method_removed`].
pub async fn remove(
    ctx: &Context,
    account: AccountId,
    from: &ClientInfo,
) -> Result<bool, ServiceError> {
    let removed = ctx
        .db
        .run(move |conn| rows::remove_totp(conn, account))
        .await?;
    if !removed {
        return Ok(false);
    }
    ctx.audit
        .record(
            AuditEvent::new(AuditKind::AuthenticatorRemoved, Outcome::Ok)
                .account(account)
                .from(from),
        )
        .await;
    tracing::info!(account_id = %account, "authenticator app removed");
    method_removed(ctx, account, from).await?;
    if let Err(e) = notices::security_method_changed(
        ctx,
        account,
        notices::SecurityMethod::AuthenticatorApp,
        notices::Change::Removed,
    )
    .await
    {
        tracing::warn!(account_id = %account, error = %e, "method notice not sent");
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use totp_rs::Secret;

    use super::*;

    fn totp() -> Totp {
        generator(vec![7; SECRET_BYTES], AccountId::generate()).unwrap()
    }

    fn code_at(totp: &Totp, secs: u64) -> TotpCode {
        TotpCode::parse(&totp.generate(secs).to_string()).unwrap()
    }

    #[test]
    fn codes_of_the_step_either_side_match_and_two_steps_off_do_not() {
        let totp = totp();
        let now = DateTime::from_timestamp(1_800_000_015, 0).unwrap();
        let step = 1_800_000_015 / 30;
        let t = unix_secs(now);
        assert_eq!(matched_step(&totp, &code_at(&totp, t), now), Some(step));
        assert_eq!(
            matched_step(&totp, &code_at(&totp, t - 30), now),
            Some(step - 1)
        );
        assert_eq!(
            matched_step(&totp, &code_at(&totp, t + 30), now),
            Some(step + 1)
        );
        for off in [t - 60, t + 60] {
            let code = code_at(&totp, off);
            // A six-digit collision with a neighbouring step is possible in principle; these
            // fixed inputs have none.
            assert_eq!(matched_step(&totp, &code, now), None);
        }
    }

    #[test]
    fn a_step_is_accepted_once_and_never_an_earlier_one() {
        assert!(is_later(None, 5));
        assert!(is_later(Some(4), 5));
        assert!(!is_later(Some(5), 5));
        assert!(!is_later(Some(6), 5));
    }

    #[test]
    fn the_uri_names_the_issuer_and_the_account_id_and_the_key_is_grouped_base32() {
        let account = AccountId::generate();
        let totp = generator(vec![0xAB; SECRET_BYTES], account).unwrap();
        let shown = enrolment(&totp, Utc::now()).unwrap();
        assert!(
            shown.uri.starts_with("otpauth://totp/OneID:"),
            "{}",
            shown.uri
        );
        assert!(shown.uri.contains(&account.to_string()));
        assert!(shown.uri.contains("issuer=OneID"));
        // 160 bits are 32 base32 symbols, in eight groups of four.
        assert_eq!(shown.manual_key.split(' ').count(), 8);
        let typed: String = shown.manual_key.split(' ').collect();
        let secret = Secret::try_from_base32(&typed).unwrap();
        assert_eq!(AsRef::<[u8]>::as_ref(&secret), &[0xAB; SECRET_BYTES][..]);
        assert_eq!(format!("{shown:?}"), "Enrolment(<redacted>)");
    }
}
