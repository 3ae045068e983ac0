//! The append-only audit log: what happened to which account, through which app, from where.
//!
//! Callers build an [`AuditEvent`] and hand it to [`Audit::record`], which never fails the request:
//! an event the database refuses is logged as a warning and dropped. Events older than
//! `[audit] retention_days` are deleted by [`Audit::cleanup`], which the server runs hourly.
//!
//! In the server ([`Audit::queued`]) an event is stamped when it is recorded and written by a
//! writer task, in batches of up to [`BATCH`] per statement, off the request's path: a token
//! request no longer waits for its row. The queue is bounded ([`QUEUE_CAPACITY`]): when the
//! database falls behind, `record` waits for room (back-pressure) rather than dropping
//! anything. What reads the log back calls [`Audit::flush`] first, and so does the server on
//! its way out, so nothing queued is lost or missing from a page.

pub mod activity;
mod since;

use std::{net::IpAddr, sync::Arc};

use chrono::{DateTime, Duration, Utc};
use tokio::sync::{mpsc, oneshot};

pub use since::{Since, SinceError};

use crate::{
    clock::Clock,
    config::AuditSettings,
    db::{
        Db, DbError,
        models::audit::{self as rows, NewAuditRecord},
    },
    domain::{AccountId, Actor, ClientId, ClientInfo},
};

/// The longest `detail` kept; anything longer is cut. It is a label, not a document.
const DETAIL_MAX: usize = 1000;

/// What happened. Stored as [`AuditKind::as_str`]; never renamed once released, so old rows
/// stay readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditKind {
    Signup,
    LoginOk,
    LoginFailed,
    CodeSent,
    CodeVerified,
    CodeFailed,
    PasswordReset,
    Locked,
    Unlocked,
    /// A decision on the consent page; `Outcome::Refused` when the person said no.
    ConsentGiven,
    ConsentRevoked,
    /// The token endpoint issued tokens; `detail` is the grant type.
    TokenIssued,
    /// A client revoked a grant through one of its tokens (RFC 7009); `detail` is the kind of
    /// token presented.
    TokenRevoked,
    Logout,
    /// An operator's command; `detail` names it, such as `client remove <id>`.
    AdminAction,
    /// A rate or abuse limit refused a request; `detail` names the limit.
    LimitTripped,
    /// The person confirmed who they are for a sensitive change (account console); `detail`
    /// is how (`pwd`, `otp`).
    Reauthenticated,
    /// The display name or preferred language changed; `detail` names the field.
    ProfileChanged,
    /// The password was changed while signed in (not a reset).
    PasswordChanged,
    /// A phone number or email was added, replaced or removed; `detail` says which and what
    /// (`phone added`, `email changed`...), never the contact itself.
    ContactChanged,
    /// A session was ended from the account console (one, or every other).
    SessionEnded,
    /// The account was deleted; its other events were stripped of contacts and addresses.
    AccountDeleted,
    /// An authenticator app was confirmed as a second factor.
    AuthenticatorAdded,
    /// The authenticator app was removed.
    AuthenticatorRemoved,
    /// A new set of recovery codes was issued (the first, or a regeneration: `detail`).
    RecoveryCodesGenerated,
    /// A recovery code was used in place of the second factor.
    RecoveryCodeUsed,
    /// The second-factor step of a sign-in or step-up; `detail` is the method (`totp`,
    /// `recovery_code`); `Outcome::Failed` for a wrong code, `Refused` when locked.
    SecondFactor,
    /// "Remember this browser": the browser skips the second-factor prompt for a while.
    BrowserRemembered,
    /// Remembered browsers were forgotten; `detail` says why (`one`, `all`, `reset`...).
    BrowserForgotten,
    /// A passkey was added in the account console; `detail` is `hwk` (device-bound) or `swk`
    /// (may be synced), never the credential or its name.
    PasskeyAdded,
    /// A passkey was renamed.
    PasskeyRenamed,
    /// A passkey was removed.
    PasskeyRemoved,
    /// A sign-in (or confirmation) with a passkey; `detail` is `hwk` or `swk`.
    PasskeySignIn,
    /// A passkey assertion was refused; `detail` is the reason class (`unknown_credential`,
    /// `invalid`, `counter_regression`, `expired`, `locked`, `disabled`...), never the
    /// credential.
    PasskeySignInFailed,
}

impl AuditKind {
    pub const ALL: [Self; 34] = [
        Self::Signup,
        Self::LoginOk,
        Self::LoginFailed,
        Self::CodeSent,
        Self::CodeVerified,
        Self::CodeFailed,
        Self::PasswordReset,
        Self::Locked,
        Self::Unlocked,
        Self::ConsentGiven,
        Self::ConsentRevoked,
        Self::TokenIssued,
        Self::TokenRevoked,
        Self::Logout,
        Self::AdminAction,
        Self::LimitTripped,
        Self::Reauthenticated,
        Self::ProfileChanged,
        Self::PasswordChanged,
        Self::ContactChanged,
        Self::SessionEnded,
        Self::AccountDeleted,
        Self::AuthenticatorAdded,
        Self::AuthenticatorRemoved,
        Self::RecoveryCodesGenerated,
        Self::RecoveryCodeUsed,
        Self::SecondFactor,
        Self::BrowserRemembered,
        Self::BrowserForgotten,
        Self::PasskeyAdded,
        Self::PasskeyRenamed,
        Self::PasskeyRemoved,
        Self::PasskeySignIn,
        Self::PasskeySignInFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::LoginOk => "login_ok",
            Self::LoginFailed => "login_failed",
            Self::CodeSent => "code_sent",
            Self::CodeVerified => "code_verified",
            Self::CodeFailed => "code_failed",
            Self::PasswordReset => "password_reset",
            Self::Locked => "locked",
            Self::Unlocked => "unlocked",
            Self::ConsentGiven => "consent_given",
            Self::ConsentRevoked => "consent_revoked",
            Self::TokenIssued => "token_issued",
            Self::TokenRevoked => "token_revoked",
            Self::Logout => "logout",
            Self::AdminAction => "admin_action",
            Self::LimitTripped => "limit_tripped",
            Self::Reauthenticated => "reauthenticated",
            Self::ProfileChanged => "profile_changed",
            Self::PasswordChanged => "password_changed",
            Self::ContactChanged => "contact_changed",
            Self::SessionEnded => "session_ended",
            Self::AccountDeleted => "account_deleted",
            Self::AuthenticatorAdded => "authenticator_added",
            Self::AuthenticatorRemoved => "authenticator_removed",
            Self::RecoveryCodesGenerated => "recovery_codes_generated",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::SecondFactor => "second_factor",
            Self::BrowserRemembered => "browser_remembered",
            Self::BrowserForgotten => "browser_forgotten",
            Self::PasskeyAdded => "passkey_added",
            Self::PasskeyRenamed => "passkey_renamed",
            Self::PasskeyRemoved => "passkey_removed",
            Self::PasskeySignIn => "passkey_sign_in",
            Self::PasskeySignInFailed => "passkey_sign_in_failed",
        }
    }
}

impl AuditKind {
    /// Whether an event of this kind keeps its `detail` when its account is deleted: true for
    /// the kinds whose detail is a fixed label OneID writes (a code's purpose, a scope list, a
    /// grant type, a limit's name, an operator's command, a lock's end, how the person
    /// confirmed), false for those whose detail is about the person's contacts, profile or
    /// devices. A new kind must choose here (the match has no catch-all).
    pub fn detail_survives_deletion(self) -> bool {
        match self {
            Self::Signup
            | Self::LoginOk
            | Self::LoginFailed
            | Self::CodeSent
            | Self::CodeVerified
            | Self::CodeFailed
            | Self::PasswordReset
            | Self::Locked
            | Self::Unlocked
            | Self::ConsentGiven
            | Self::ConsentRevoked
            | Self::TokenIssued
            | Self::TokenRevoked
            | Self::Logout
            | Self::AdminAction
            | Self::LimitTripped
            | Self::Reauthenticated
            | Self::PasswordChanged
            | Self::AccountDeleted
            | Self::AuthenticatorAdded
            | Self::AuthenticatorRemoved
            | Self::RecoveryCodesGenerated
            | Self::RecoveryCodeUsed
            | Self::SecondFactor
            | Self::BrowserRemembered
            | Self::BrowserForgotten
            | Self::PasskeyAdded
            | Self::PasskeyRenamed
            | Self::PasskeyRemoved
            | Self::PasskeySignIn
            | Self::PasskeySignInFailed => true,
            Self::ProfileChanged | Self::ContactChanged | Self::SessionEnded => false,
        }
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Ok,
    /// The person or client got something wrong (a wrong password, a wrong code).
    Failed,
    /// OneID or the person said no (a limit, a locked account, consent denied).
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Refused => "refused",
        }
    }
}

/// One entry of the audit log, built with [`AuditEvent::new`] and the builder methods.
///
/// `detail` is a short, machine-written label: the purpose of a code (`reset`), a scope list,
/// a grant type, a limit's name, an operator's command. It must **never** hold a password, a
/// verification or authorization code, a token, a cookie or a client secret: the log is kept
/// for a year and read by operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub kind: AuditKind,
    pub outcome: Outcome,
    pub account: Option<AccountId>,
    pub client: Option<ClientId>,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
    /// Who did it, for an administrative act.
    pub actor: Option<Actor>,
}

impl AuditEvent {
    pub fn new(kind: AuditKind, outcome: Outcome) -> Self {
        Self {
            kind,
            outcome,
            account: None,
            client: None,
            ip: None,
            user_agent: None,
            detail: None,
            actor: None,
        }
    }

    /// An operator's command that succeeded, named by `command` (`client add <id>`).
    pub fn admin_action(command: impl Into<String>) -> Self {
        Self::new(AuditKind::AdminAction, Outcome::Ok).detail(command)
    }

    /// Who did it (an administrator, an admin API client, the command line).
    #[must_use]
    pub fn by(mut self, actor: &Actor) -> Self {
        self.actor = Some(actor.clone());
        self
    }

    /// The account it concerns.
    #[must_use]
    pub fn account(mut self, id: AccountId) -> Self {
        self.account = Some(id);
        self
    }

    /// The relying party it went through.
    #[must_use]
    pub fn client(mut self, id: &ClientId) -> Self {
        self.client = Some(id.clone());
        self
    }

    /// Where the request came from (address and user agent).
    #[must_use]
    pub fn from(mut self, who: &ClientInfo) -> Self {
        self.ip = who.ip;
        self.user_agent.clone_from(&who.user_agent);
        self
    }

    /// A short label; never a secret (see the type's documentation). Cut at 1,000 characters (an admin change names what changed, before and after).
    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        let detail: String = detail.into();
        self.detail = Some(if detail.chars().count() > DETAIL_MAX {
            detail.chars().take(DETAIL_MAX).collect()
        } else {
            detail
        });
        self
    }

    fn to_row(&self, at: DateTime<Utc>) -> NewAuditRecord<'_> {
        NewAuditRecord {
            at: at.naive_utc(),
            kind: self.kind.as_str(),
            account_id: self.account.map(AccountId::get),
            client_id: self.client.as_ref().map(ClientId::as_str),
            ip: self.ip.map(|ip| ip.to_string()),
            user_agent: self.user_agent.as_deref(),
            outcome: self.outcome.as_str(),
            detail: self.detail.as_deref(),
            actor: self.actor.as_ref().map(Actor::to_stored),
        }
    }
}

/// How many recorded events may wait for the writer before `record` waits for room.
pub const QUEUE_CAPACITY: usize = 4096;
/// The most events the writer puts in one statement.
pub const BATCH: usize = 256;
/// How long the writer waits for more events after the first of a batch: an event reaches the
/// database, and a flush returns, at most this much later than without the wait.
const GATHER: std::time::Duration = std::time::Duration::from_millis(5);

/// What waits for the writer task, in the order it was recorded.
enum Queued {
    Event(DateTime<Utc>, AuditEvent),
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

/// Where events are written: the database, the clock that stamps them, and how long they are
/// kept. Cheap to clone.
#[derive(Clone)]
pub struct Audit {
    db: Db,
    clock: Arc<dyn Clock>,
    retention_days: u32,
    /// The writer task's queue (the server); `None`: each event is written before `record`
    /// returns (the command line, whose process exits right after, and unit tests).
    queue: Option<mpsc::Sender<Queued>>,
}

impl Audit {
    /// Writes each event as it is recorded.
    pub fn new(db: Db, clock: Arc<dyn Clock>, settings: &AuditSettings) -> Self {
        Self {
            db,
            clock,
            retention_days: settings.retention_days,
            queue: None,
        }
    }

    /// Writes events from a writer task on the current runtime, in batches (see the module's
    /// documentation). Must be called within a tokio runtime.
    pub fn queued(db: Db, clock: Arc<dyn Clock>, settings: &AuditSettings) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(write_queued(db.clone(), waiting));
        Self {
            queue: Some(queue),
            ..Self::new(db, clock, settings)
        }
    }

    /// Appends `event` at the clock's time. Never fails: a database error is logged as a
    /// warning (with the event's kind) and the event is dropped, so the log never stands
    /// between a person and what they came to do. With a writer task, returns once the event
    /// is queued, waiting only when the queue is full.
    pub async fn record(&self, event: AuditEvent) {
        let at = self.clock.now();
        let event = match &self.queue {
            Some(queue) => match queue.send(Queued::Event(at, event)).await {
                Ok(()) => return,
                // The writer is gone (its runtime is shutting down): written here instead.
                Err(mpsc::error::SendError(Queued::Event(_, event))) => event,
                Err(mpsc::error::SendError(Queued::Flush(_))) => return,
            },
            None => event,
        };
        record_at(&self.db, at, event).await;
    }

    /// Returns once every event recorded before the call is in the database: before the log
    /// is read back, and before the server exits.
    pub async fn flush(&self) {
        if let Some(queue) = &self.queue {
            let (done, written) = oneshot::channel();
            if queue.send(Queued::Flush(done)).await.is_ok() {
                // An error: the writer stopped, and with it whatever it had.
                let _ = written.await;
            }
        }
    }

    /// Deletes the events older than `[audit] retention_days` (none when it is 0); returns how
    /// many went. Safe to run from every instance at once.
    pub async fn cleanup(&self) -> Result<usize, DbError> {
        // What is still queued was stamped before now: it goes through the same cut.
        self.flush().await;
        let Some(cutoff) = retention_cutoff(self.retention_days, self.clock.now()) else {
            return Ok(0);
        };
        self.db
            .run(move |conn| rows::delete_older_than(conn, cutoff))
            .await
    }
}

/// The writer task: takes what is queued, up to [`BATCH`] at a time, writes the events in one
/// statement, then answers the flushes that were queued behind them. Ends when every
/// [`Audit`] holding the queue is gone.
///
/// Under load it gathers: after the first event it waits [`GATHER`] for more (unless a flush
/// is waiting or the batch is full), so that a busy server pays one wake-up, one hop to the
/// blocking pool and one statement per [`GATHER`] rather than per event.
async fn write_queued(db: Db, mut waiting: mpsc::Receiver<Queued>) {
    let mut taken = Vec::with_capacity(BATCH);
    while waiting.recv_many(&mut taken, BATCH).await > 0 {
        if taken.len() < BATCH && !taken.iter().any(|q| matches!(q, Queued::Flush(_))) {
            tokio::time::sleep(GATHER).await;
            while taken.len() < BATCH
                && let Ok(queued) = waiting.try_recv()
            {
                taken.push(queued);
            }
        }
        let mut events = Vec::with_capacity(taken.len());
        let mut flushes = Vec::new();
        for queued in taken.drain(..) {
            match queued {
                Queued::Event(at, event) => events.push((at, event)),
                Queued::Flush(done) => flushes.push(done),
            }
        }
        if !events.is_empty() {
            write_batch(&db, events).await;
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// Writes `events` with one multi-row statement (a row costs its index entries, not a statement
/// of its own); if the database refuses it, one by one, so that one bad event costs only itself
/// (logged and dropped, as [`Audit::record`] says).
async fn write_batch(db: &Db, events: Vec<(DateTime<Utc>, AuditEvent)>) {
    let count = events.len();
    let written = db
        .run(move |conn| {
            // One statement is all or nothing by itself: no transaction around it.
            let batch: Vec<_> = events.iter().map(|(at, event)| event.to_row(*at)).collect();
            let together = rows::insert_all(conn, &batch);
            if together.is_ok() {
                return Ok(Vec::new());
            }
            Ok(events
                .iter()
                .filter(|(at, event)| rows::insert(conn, &event.to_row(*at)).is_err())
                .map(|(_, event)| event.kind)
                .collect())
        })
        .await;
    match written {
        Ok(dropped) => {
            for kind in dropped {
                tracing::warn!(kind = kind.as_str(), "audit event dropped");
            }
        }
        Err(e) => tracing::warn!(events = count, error = %e, "audit events dropped"),
    }
}

/// Appends `event` at `at`.
async fn record_at(db: &Db, at: DateTime<Utc>, event: AuditEvent) {
    let kind = event.kind;
    let written = db
        .run(move |conn| rows::insert(conn, &event.to_row(at)))
        .await;
    if let Err(e) = written {
        tracing::warn!(kind = kind.as_str(), error = %e, "audit event dropped");
    }
}

/// The instant before which events are deleted; `None` keeps everything.
fn retention_cutoff(retention_days: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if retention_days == 0 {
        return None;
    }
    now.checked_sub_signed(Duration::days(i64::from(retention_days)))
}

#[cfg(test)]
#[expect(
    clippy::result_large_err,
    reason = "figment::Jail's closures return figment::Error"
)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{
        clock::MockClock,
        config::{FlagOverrides, Settings},
        db::models::audit::{AuditFilter, AuditRecord, query},
    };

    #[test]
    fn kinds_are_stored_in_snake_case() {
        assert_eq!(AuditKind::LoginFailed.as_str(), "login_failed");
        assert_eq!(AuditKind::TokenIssued.as_str(), "token_issued");
        for kind in AuditKind::ALL {
            let stored = kind.as_str();
            assert!(
                !stored.is_empty() && stored.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{stored}"
            );
            let expected: String = format!("{kind:?}")
                .chars()
                .enumerate()
                .flat_map(|(i, c)| {
                    let sep = (i > 0 && c.is_ascii_uppercase()).then_some('_');
                    sep.into_iter()
                        .chain(std::iter::once(c.to_ascii_lowercase()))
                })
                .collect();
            assert_eq!(stored, expected);
        }
        let outcomes = [Outcome::Ok, Outcome::Failed, Outcome::Refused].map(Outcome::as_str);
        assert_eq!(outcomes, ["ok", "failed", "refused"]);
    }

    #[test]
    fn the_builder_fills_every_field_and_cuts_long_details() {
        let client = ClientId::parse("forum").unwrap();
        let who = ClientInfo {
            ip: Some("203.0.113.7".parse().unwrap()),
            user_agent: Some("Mozilla/5.0".into()),
        };
        let event = AuditEvent::new(AuditKind::ConsentGiven, Outcome::Ok)
            .account(AccountId::from_stored(123_456_789))
            .client(&client)
            .from(&who)
            .detail("openid profile");
        assert_eq!(
            event,
            AuditEvent {
                kind: AuditKind::ConsentGiven,
                outcome: Outcome::Ok,
                account: Some(AccountId::from_stored(123_456_789)),
                client: Some(client),
                ip: who.ip,
                user_agent: who.user_agent.clone(),
                detail: Some("openid profile".into()),
                actor: None,
            }
        );
        let long = AuditEvent::admin_action("é".repeat(DETAIL_MAX + 300));
        assert_eq!(long.kind, AuditKind::AdminAction);
        assert_eq!(long.detail.unwrap().chars().count(), DETAIL_MAX);
    }

    #[test]
    fn retention_zero_keeps_everything() {
        let now = Utc::now();
        assert_eq!(retention_cutoff(0, now), None);
        assert_eq!(retention_cutoff(365, now), Some(now - Duration::days(365)));
        assert_eq!(
            retention_cutoff(36_500, now),
            Some(now - Duration::days(36_500))
        );
    }

    #[test]
    fn retention_is_a_setting_with_its_variable() {
        figment::Jail::expect_with(|jail| {
            assert_eq!(
                Settings::load(None, &FlagOverrides::default())
                    .unwrap()
                    .audit
                    .retention_days,
                365
            );
            jail.set_env("ONEID_AUDIT__RETENTION_DAYS", "0");
            let settings = Settings::load(None, &FlagOverrides::default()).unwrap();
            assert_eq!(settings.audit.retention_days, 0);
            jail.set_env("ONEID_AUDIT__RETENTION_DAYS", "99999");
            let err = Settings::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("ONEID_AUDIT__RETENTION_DAYS"), "{err}");
            Ok(())
        });
    }

    /// An audit log over a fresh SQLite database; the returned `Db` reads it back.
    fn audit_with(retention_days: u32, clock: &MockClock) -> (tempfile::TempDir, Db, Audit) {
        let (dir, db) = crate::db::testing::temp_sqlite();
        let audit = Audit::new(
            db.clone(),
            Arc::new(clock.clone()),
            &AuditSettings { retention_days },
        );
        (dir, db, audit)
    }

    /// Every row of the log, newest first.
    async fn all_rows(db: &Db) -> Vec<AuditRecord> {
        db.run(|conn| {
            query(
                conn,
                &AuditFilter {
                    account: None,
                    since: None,
                    limit: 100,
                },
            )
        })
        .await
        .unwrap()
    }

    async fn kinds(db: &Db) -> Vec<String> {
        all_rows(db).await.into_iter().map(|r| r.kind).collect()
    }

    #[tokio::test]
    async fn cleanup_deletes_what_the_clock_says_is_past_retention() {
        let clock = MockClock::starting_now();
        let (_dir, db, audit) = audit_with(30, &clock);
        audit
            .record(AuditEvent::new(AuditKind::LoginOk, Outcome::Ok))
            .await;
        clock.advance(Duration::days(20));
        audit
            .record(AuditEvent::new(AuditKind::Logout, Outcome::Ok))
            .await;

        clock.advance(Duration::days(9));
        assert_eq!(audit.cleanup().await.unwrap(), 0, "29 days old: kept");
        clock.advance(Duration::days(1) + Duration::seconds(1));
        assert_eq!(audit.cleanup().await.unwrap(), 1);
        assert_eq!(kinds(&db).await, ["logout"]);
        assert_eq!(audit.cleanup().await.unwrap(), 0, "nothing left to do");
        clock.advance(Duration::days(20));
        assert_eq!(audit.cleanup().await.unwrap(), 1);
        assert!(kinds(&db).await.is_empty());
    }

    #[tokio::test]
    async fn cleanup_keeps_everything_when_retention_is_zero() {
        let clock = MockClock::starting_now();
        let (_dir, db, audit) = audit_with(0, &clock);
        audit.record(AuditEvent::admin_action("keys rotate")).await;
        clock.advance(Duration::days(100 * 365));
        assert_eq!(audit.cleanup().await.unwrap(), 0);
        assert_eq!(kinds(&db).await, ["admin_action"]);
    }

    /// The writer's batch goes out as one statement; when the database refuses it, the events
    /// are written one by one and only the refused one is lost. Every field round-trips,
    /// missing ones as NULL, in the order recorded.
    #[tokio::test]
    async fn a_batch_is_written_in_order_and_one_refused_event_costs_only_itself() {
        let clock = MockClock::starting_now();
        let (_dir, db) = crate::db::testing::temp_sqlite();
        db.run(|conn| {
            use diesel::connection::SimpleConnection;
            Ok(conn.batch_execute(
                "CREATE TRIGGER poison BEFORE INSERT ON audit_events WHEN NEW.detail = 'poison' \
                 BEGIN SELECT RAISE(ABORT, 'poison'); END",
            )?)
        })
        .await
        .unwrap();
        let audit = Audit::queued(
            db.clone(),
            Arc::new(clock.clone()),
            &AuditSettings { retention_days: 0 },
        );
        let who = ClientInfo {
            ip: Some("2001:db8::7".parse().unwrap()),
            user_agent: Some("Mozilla/5.0".into()),
        };
        let full = AuditEvent::new(AuditKind::TokenIssued, Outcome::Ok)
            .account(AccountId::from_stored(42))
            .client(&ClientId::parse("talk").unwrap())
            .from(&who)
            .detail("client_credentials")
            .by(&Actor::Operator);
        let bare = AuditEvent::new(AuditKind::Logout, Outcome::Refused);
        let poison = AuditEvent::new(AuditKind::LoginFailed, Outcome::Failed).detail("poison");

        // Queued back to back, so that the writer takes them together.
        for event in [full.clone(), poison.clone(), bare.clone()] {
            audit.record(event).await;
        }
        audit.flush().await;
        let mut written = all_rows(&db).await;
        written.reverse();
        assert_eq!(written.len(), 2, "{written:?}");
        let (first, second) = (&written[0], &written[1]);
        assert!(first.id < second.id, "written in the order recorded");
        assert_eq!(
            (first.kind.as_str(), first.outcome.as_str()),
            ("token_issued", "ok")
        );
        assert_eq!(first.account_id, Some(AccountId::from_stored(42)));
        assert_eq!(first.client_id.as_deref(), Some("talk"));
        assert_eq!(first.ip.as_deref(), Some("2001:db8::7"));
        assert_eq!(first.user_agent.as_deref(), Some("Mozilla/5.0"));
        assert_eq!(first.detail.as_deref(), Some("client_credentials"));
        assert_eq!(first.actor, Some(Actor::Operator.to_stored()));
        assert_eq!(
            (second.kind.as_str(), second.outcome.as_str()),
            ("logout", "refused")
        );
        let missing = (
            &second.account_id,
            &second.client_id,
            &second.ip,
            &second.user_agent,
            &second.detail,
            &second.actor,
        );
        assert_eq!(missing, (&None, &None, &None, &None, &None, &None));
    }

    #[tokio::test]
    async fn a_database_error_drops_the_event_without_failing() {
        let clock = MockClock::starting_now();
        let (_dir, db, audit) = audit_with(30, &clock);
        db.run(|conn| {
            use diesel::connection::SimpleConnection;
            Ok(conn.batch_execute("DROP TABLE audit_events")?)
        })
        .await
        .unwrap();
        // Returns (after a warning) instead of panicking or erroring.
        audit
            .record(AuditEvent::new(AuditKind::LoginOk, Outcome::Ok))
            .await;
        assert!(audit.cleanup().await.is_err());
    }
}
