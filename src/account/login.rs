//! Sign-in with a password: at most one check per account in flight (on any instance), each
//! attempt reserved before its password is checked, and identifiers without an account locked
//! on the same schedule as accounts.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::{
    Context, ServiceError, codes, limits,
    lockout::{self, LockState},
    on_password_threads,
};
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    db::{
        DbError,
        models::account::{self, Account, AccountStatus},
    },
    domain::{AccountId, ClientInfo, LoginIdentifier, Password},
    store::ttl_until,
};

#[derive(Debug)]
pub enum LoginOutcome {
    SignedIn(Box<Account>),
    /// No such account, or the wrong password: deliberately indistinguishable.
    InvalidCredentials,
    /// Locked after too many failures (for a while, or until unlocked). Said whatever the
    /// password was, so a lock never tells whether it was right; the account may be unlocked
    /// with a code.
    Locked,
    /// The password was right but an operator disabled the account. Said only after the
    /// password proved who is asking.
    Disabled,
    /// The password was right but an administrator asked that it be replaced: the person
    /// chooses a new one with a code (`/reset`) before signing in with a password again.
    MustResetPassword,
}

/// Finds the account(s) the identifier may name and checks the password. Runs one argon2
/// verification per open candidate, and one against a dummy hash when there is none, so "no
/// such account" costs the same time as "wrong password"; a locked account (or an identifier
/// without an account that failed as often) gets no check at all and answers "locked".
pub async fn authenticate(
    ctx: &Context,
    identifier: LoginIdentifier,
    password: Password,
    client: &ClientInfo,
) -> Result<LoginOutcome, ServiceError> {
    // Password guessing from one address is capped across accounts, before any work.
    if let Err(refused) = limits::sign_in_attempt(
        ctx.store.as_ref(),
        &ctx.settings.limits,
        ctx.clock.now(),
        client.ip,
    )
    .await?
    {
        return Err(codes::limit_tripped(ctx, refused, client).await);
    }
    let outcome = check(ctx, identifier, password).await?;
    let event = |kind, outcome, id: Option<AccountId>| {
        let event = AuditEvent::new(kind, outcome).from(client);
        match id {
            Some(id) => event.account(id),
            None => event,
        }
    };
    let recorded = match &outcome {
        Checked::SignedIn(account) => event(AuditKind::LoginOk, Outcome::Ok, Some(account.id)),
        Checked::Disabled(id) => {
            event(AuditKind::LoginFailed, Outcome::Refused, Some(*id)).detail("disabled")
        }
        Checked::MustReset(id) => event(AuditKind::LoginFailed, Outcome::Refused, Some(*id))
            .detail("password reset required"),
        Checked::Locked(ids) => event(
            AuditKind::LoginFailed,
            Outcome::Refused,
            ids.first().copied(),
        )
        .detail("locked"),
        Checked::Invalid(ids) => event(
            AuditKind::LoginFailed,
            Outcome::Failed,
            ids.first().copied(),
        ),
    };
    ctx.audit.record(recorded).await;
    Ok(match outcome {
        Checked::SignedIn(account) => LoginOutcome::SignedIn(account),
        Checked::Disabled(_) => LoginOutcome::Disabled,
        Checked::MustReset(_) => LoginOutcome::MustResetPassword,
        Checked::Locked(_) => LoginOutcome::Locked,
        Checked::Invalid(_) => LoginOutcome::InvalidCredentials,
    })
}

/// The outcome with the accounts it concerns, for the audit log.
enum Checked {
    SignedIn(Box<Account>),
    Disabled(AccountId),
    MustReset(AccountId),
    Locked(Vec<AccountId>),
    Invalid(Vec<AccountId>),
}

/// Finds the candidates, then checks the password under their leases (at most one check per
/// account in flight, on any instance), or counts a failure for an identifier without an
/// account (so that it locks on the same schedule, see [`check_unknown`]).
async fn check(
    ctx: &Context,
    identifier: LoginIdentifier,
    password: Password,
) -> Result<Checked, ServiceError> {
    let unknown = unknown_digest(&ctx.keys.unknown_identifier, &identifier);
    let candidates = ctx
        .db
        .run(move |conn| {
            let mut found = Vec::with_capacity(2);
            match &identifier {
                LoginIdentifier::Email(email) => found.extend(account::find_by_email(conn, email)?),
                LoginIdentifier::Phone(phone) => found.extend(account::find_by_phone(conn, phone)?),
                LoginIdentifier::AccountId(id) => found.extend(account::find_by_id(conn, *id)?),
                LoginIdentifier::PhoneOrAccountId(phone, id) => {
                    found.extend(account::find_by_phone(conn, phone)?);
                    found.extend(
                        account::find_by_id(conn, *id)?
                            .filter(|a| found.iter().all(|f| f.id != a.id)),
                    );
                }
            }
            // A deleted account is no account: its ID answers exactly as an unknown one.
            found.retain(|a| a.status != AccountStatus::Deleted);
            Ok(found)
        })
        .await?;
    if candidates.is_empty() {
        let lease = Lease::take(ctx, format!("login-check:unknown:{unknown}")).await?;
        let checked = check_unknown(ctx, &unknown, password, &lease).await;
        lease.release(ctx).await;
        return checked;
    }
    // Leases in one order (by account ID), so two sign-ins naming the same two accounts
    // cannot each hold one and wait for the other.
    let mut ids: Vec<AccountId> = candidates.iter().map(|a| a.id).collect();
    ids.sort_by_key(|id| id.get());
    let mut leases = Vec::with_capacity(ids.len());
    for id in &ids {
        match Lease::take(ctx, format!("login-check:{id}")).await {
            Ok(lease) => leases.push(lease),
            Err(e) => {
                for lease in leases {
                    lease.release(ctx).await;
                }
                return Err(e);
            }
        }
    }
    let until = leases.iter().map(|l| l.until).min();
    let checked = check_accounts(ctx, ids, password, until).await;
    for lease in leases {
        lease.release(ctx).await;
    }
    checked
}

/// Under the accounts' leases: reserve the attempt on each account (refused while locked),
/// check the password, then apply what the failure causes or clear the run on success.
async fn check_accounts(
    ctx: &Context,
    ids: Vec<AccountId>,
    password: Password,
    lease_until: Option<DateTime<Utc>>,
) -> Result<Checked, ServiceError> {
    let mut reserved = Vec::with_capacity(ids.len());
    let mut locked = Vec::new();
    for id in ids {
        match lockout::reserve(ctx, id).await? {
            Some(failures) => reserved.push((id, failures)),
            None => locked.push(id),
        }
    }
    // Every candidate is locked: no password is checked at all, so a locked account cannot
    // be used to test passwords, and no CPU is spent on it.
    if reserved.is_empty() {
        return Ok(Checked::Locked(locked));
    }

    let open: Vec<AccountId> = reserved.iter().map(|(id, _)| *id).collect();
    let (db, clock) = (ctx.db.clone(), ctx.clock.clone());
    let verifier = ctx.password_pool.verifier(&ctx.passwords);
    let in_thread = on_password_threads(ctx, move || -> Result<InThread, DbError> {
        // The job may have waited in the queue: re-check there, just before argon2 runs, that
        // the lease is still ours and that each account is still open (an operator or another
        // path may have locked it meanwhile).
        let now = clock.now();
        if lease_until.is_some_and(|until| now >= until) {
            return Ok(InThread::LeaseLost);
        }
        for id in open {
            let Some(account) = db.with_conn(|conn| account::find_by_id(conn, id))? else {
                continue;
            };
            if account.status == AccountStatus::Locked
                || account.locked_until.is_some_and(|until| until > now)
            {
                continue;
            }
            // An account without a password is checked against the dummy hash: the same
            // argon2 work as a wrong password, and the same answer.
            if verifier.verify(&password, account.password_hash.as_ref()) {
                return Ok(InThread::Matched(Box::new(account)));
            }
        }
        Ok(InThread::NoMatch)
    })
    .await??;

    match in_thread {
        InThread::Matched(account) => {
            // A success ends the run, including the attempt reserved for it.
            lockout::first_factor_succeeded(ctx, account.id).await?;
            Ok(if account.status == AccountStatus::Disabled {
                Checked::Disabled(account.id)
            } else if account.must_reset_password {
                Checked::MustReset(account.id)
            } else {
                Checked::SignedIn(account)
            })
        }
        // The reserved attempts stay counted: an unfinished check counts as a failure.
        InThread::LeaseLost => Err(ServiceError::Busy("the password check outlived its lease")),
        InThread::NoMatch => {
            let mut now_locked = locked;
            let mut tried = Vec::with_capacity(reserved.len());
            for (id, failures) in reserved {
                tried.push(id);
                if lockout::failed(ctx, id, failures).await? != LockState::Open {
                    now_locked.push(id);
                }
            }
            Ok(if now_locked.is_empty() {
                Checked::Invalid(tried)
            } else {
                Checked::Locked(now_locked)
            })
        }
    }
}

enum InThread {
    Matched(Box<Account>),
    NoMatch,
    LeaseLost,
}

/// The run of failures of an identifier without an account, kept in the ephemeral store.
#[derive(Debug, Default, Serialize, Deserialize)]
struct UnknownRun {
    failures: i32,
    last_failed_at: Option<DateTime<Utc>>,
    locked_until: Option<DateTime<Utc>>,
    locked_for_good: bool,
}

/// How long an identifier without an account stays "locked until unlocked". A real account
/// stays locked until its owner unlocks it; this cannot be kept forever without letting anyone
/// fill the store, so after this a patient prober could tell the two apart (see
/// docs/security.md, point 8).
const UNKNOWN_LOCKED_FOR_GOOD: i64 = 30 * 24 * 3600;

/// An identifier that names no account answers exactly as an account would: the same dummy
/// password check while open, and after the same number of failures the same lock, on the same
/// schedule ([`lockout::schedule`]), so "locked, unlock with a code" does not tell who has an
/// account. Runs under the identifier's lease, so the read-modify-write of its run is not raced.
async fn check_unknown(
    ctx: &Context,
    digest: &str,
    password: Password,
    lease: &Lease,
) -> Result<Checked, ServiceError> {
    let rules = &ctx.settings.lockout;
    let key = format!("login-unknown:{digest}");
    let now = ctx.clock.now();
    let mut run: UnknownRun = ctx.store.get_json(&key).await?.unwrap_or_default();
    if run.locked_for_good || run.locked_until.is_some_and(|until| until > now) {
        return Ok(Checked::Locked(Vec::new()));
    }
    let window = Duration::seconds(rules.window_secs);
    if run.last_failed_at.is_some_and(|last| last < now - window) {
        run.failures = 0;
    }
    run.failures = run.failures.saturating_add(1);
    run.last_failed_at = Some(now);
    // Reserved before the check, as for an account.
    let ttl = |run: &UnknownRun| {
        let keep = if run.locked_for_good {
            now + Duration::seconds(UNKNOWN_LOCKED_FOR_GOOD)
        } else {
            (now + window).max(run.locked_until.unwrap_or(now))
        };
        ttl_until(now, keep)
    };
    ctx.store.put_json(&key, &run, ttl(&run)).await?;

    // The same argon2 work as a wrong password, so "no such account" takes as long.
    let (clock, until) = (ctx.clock.clone(), lease.until);
    let verifier = ctx.password_pool.verifier(&ctx.passwords);
    let checked = on_password_threads(ctx, move || {
        if clock.now() >= until {
            return false;
        }
        verifier.verify(&password, None);
        true
    })
    .await?;
    if !checked {
        return Err(ServiceError::Busy("the password check outlived its lease"));
    }
    let locked = match lockout::schedule(rules, run.failures) {
        lockout::Step::Nothing => false,
        lockout::Step::LockFor(duration) => {
            run.locked_until = Some(now + duration);
            true
        }
        lockout::Step::LockForGood => {
            run.locked_for_good = true;
            true
        }
    };
    if !locked {
        return Ok(Checked::Invalid(Vec::new()));
    }
    ctx.store.put_json(&key, &run, ttl(&run)).await?;
    Ok(Checked::Locked(Vec::new()))
}

/// The HKDF label of the key that names unknown identifiers in the store.
pub(super) const UNKNOWN_KEY_PURPOSE: &str = "oneid/login-unknown/v1";

/// The store key part for an identifier without an account: an HMAC under a server key, so the
/// store does not hold a list of the numbers and addresses people tried, and a dump of it cannot
/// be reversed by hashing every phone number (India has about 10^10). Keyed by the phone number
/// whenever the identifier holds one, as an account would be found by it whichever way it was
/// typed.
fn unknown_digest(key: &[u8], identifier: &LoginIdentifier) -> String {
    use hmac::{Hmac, Mac};
    let canonical = match identifier {
        LoginIdentifier::Email(email) => format!("email:{}", email.as_str()),
        LoginIdentifier::Phone(phone) | LoginIdentifier::PhoneOrAccountId(phone, _) => {
            format!("phone:{}", phone.as_e164())
        }
        LoginIdentifier::AccountId(id) => format!("id:{id}"),
    };
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(canonical.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// The right to run the one password check of an account (or unknown identifier) in flight,
/// shared by every instance through the ephemeral store: the first `increment` of the key
/// holds it. It ends when released, or by itself after `check_lease_secs` when the instance
/// holding it dies mid-check.
struct Lease {
    key: String,
    until: DateTime<Utc>,
}

impl Lease {
    /// Waits (up to `check_wait_ms`) for the check in flight to finish, then takes the lease.
    /// Waiting uses real time: it is about how long a person waits, not about expiry.
    async fn take(ctx: &Context, key: String) -> Result<Self, ServiceError> {
        let rules = &ctx.settings.lockout;
        let ttl = std::time::Duration::from_secs(rules.check_lease_secs);
        let give_up =
            tokio::time::Instant::now() + std::time::Duration::from_millis(rules.check_wait_ms);
        let mut pause = std::time::Duration::from_millis(5);
        loop {
            let now = ctx.clock.now();
            if ctx.store.increment(&key, ttl).await? == 1 {
                let until =
                    now + Duration::seconds(i64::try_from(rules.check_lease_secs).unwrap_or(30));
                return Ok(Self { key, until });
            }
            if tokio::time::Instant::now() + pause > give_up {
                return Err(ServiceError::Busy(
                    "a password check for this account is in flight",
                ));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_millis(100));
        }
    }

    /// Frees the lease; a store error only delays the next check until the lease expires.
    async fn release(self, ctx: &Context) {
        if let Err(e) = ctx.store.delete(&self.key).await {
            tracing::warn!(error = %e, "password check lease not released; it expires by itself");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        account::{create_account, testing},
        config::Settings,
        domain::{ContactIdentifier, DisplayName, Region},
    };

    fn password(p: &str) -> Password {
        Password::parse(p.to_owned()).unwrap()
    }

    fn identifier(input: &str) -> LoginIdentifier {
        LoginIdentifier::parse(input, Region::default()).unwrap()
    }

    /// A few failures lock, a short while: enough to see the schedule without many argon2 runs.
    fn settings() -> Settings {
        let mut settings = Settings::default();
        settings.lockout.max_failures = 3;
        settings.lockout.lock_forever_after = 6;
        settings
    }

    async fn outcome(ctx: &Context, who: &str, p: &str) -> LoginOutcome {
        authenticate(ctx, identifier(who), password(p), &testing::nobody())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_right_password_signs_in_and_a_run_of_wrong_ones_locks() {
        let t = testing::context(&settings()).await;
        let ctx = &t.ctx;
        let contact = ContactIdentifier::parse("asha@example.com", Region::default()).unwrap();
        let name = DisplayName::parse("Asha").unwrap();
        create_account(ctx, contact, name, password("correct horse"))
            .await
            .unwrap()
            .unwrap();

        let who = "asha@example.com";
        assert!(matches!(
            outcome(ctx, who, "correct horse").await,
            LoginOutcome::SignedIn(_)
        ));
        for _ in 0..2 {
            assert!(matches!(
                outcome(ctx, who, "wrong").await,
                LoginOutcome::InvalidCredentials
            ));
        }
        // The third failure in the run locks, and a lock answers "locked" whatever the password.
        assert!(matches!(
            outcome(ctx, who, "wrong").await,
            LoginOutcome::Locked
        ));
        assert!(matches!(
            outcome(ctx, who, "correct horse").await,
            LoginOutcome::Locked
        ));
        // The lock runs out; the right password signs in and ends the run.
        t.clock
            .advance(Duration::seconds(ctx.settings.lockout.first_lock_secs));
        assert!(matches!(
            outcome(ctx, who, "correct horse").await,
            LoginOutcome::SignedIn(_)
        ));
    }

    #[tokio::test]
    async fn an_identifier_without_an_account_locks_on_the_same_schedule() {
        let t = testing::context(&settings()).await;
        let who = "nobody@example.com";
        for _ in 0..2 {
            assert!(matches!(
                outcome(&t.ctx, who, "guess").await,
                LoginOutcome::InvalidCredentials
            ));
        }
        assert!(matches!(
            outcome(&t.ctx, who, "guess").await,
            LoginOutcome::Locked
        ));
        // Nothing in the store names what was typed.
        let digest = unknown_digest(&t.ctx.keys.unknown_identifier, &identifier(who));
        assert!(!digest.contains("nobody"));
    }
}
