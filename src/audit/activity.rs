//! One account's recent activity, as its owner reads it on the account console: their own
//! events of the last [`ACTIVITY_DAYS`] days, newest first, a page at a time, each with the
//! catalog key of its plain-words phrase, the app it went through, the browser and the masked
//! address.

use chrono::{DateTime, Duration, Utc};

use super::{Audit, AuditKind, Outcome};
use crate::{
    db::{
        DbError,
        models::{audit as rows, client},
    },
    domain::{AccountId, BrowserSummary, mask_ip},
};

/// How far back the owner sees.
pub const ACTIVITY_DAYS: i64 = 90;
/// Events per page.
pub const PAGE_SIZE: i64 = 20;
/// The last page anyone may ask for: the offset stays bounded (1,000 events back; older
/// activity is for the operator's `oneid audit`).
pub const MAX_PAGE: u32 = 50;

/// Events left out of the owner's list: an app refreshing its tokens is recorded every time
/// it does (hourly, per app), which would bury the sign-ins and changes the list is for.
const NOT_LISTED: &[&str] = &["token_issued"];

/// A page number of the activity list: 1 to [`MAX_PAGE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageNumber(u32);

impl PageNumber {
    pub const FIRST: Self = Self(1);

    /// `None` for anything but a number from 1 to [`MAX_PAGE`].
    pub fn parse(raw: &str) -> Option<Self> {
        let n: u32 = raw.trim().parse().ok()?;
        (1..=MAX_PAGE).contains(&n).then_some(Self(n))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// One event as the owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityEntry {
    pub at: DateTime<Utc>,
    /// `None` for a kind this version does not know (written by a newer one).
    pub kind: Option<AuditKind>,
    pub outcome: Outcome,
    /// The app's name (its id when it has gone).
    pub app: Option<String>,
    pub browser: BrowserSummary,
    /// Masked (see [`mask_ip`]).
    pub address: Option<String>,
}

impl ActivityEntry {
    /// The catalog key of the phrase that says what happened.
    pub fn phrase_key(&self) -> &'static str {
        self.kind
            .map_or("activity-other", |kind| phrase_key(kind, self.outcome))
    }

    /// The catalog key of a "failed" or "refused" mark, when the phrase does not already say so.
    pub fn outcome_key(&self) -> Option<&'static str> {
        let says_it = matches!(
            self.kind,
            Some(AuditKind::LoginFailed | AuditKind::CodeFailed | AuditKind::ConsentGiven)
        );
        match self.outcome {
            Outcome::Ok => None,
            _ if says_it => None,
            Outcome::Failed => Some("activity-outcome-failed"),
            Outcome::Refused => Some("activity-outcome-refused"),
        }
    }
}

/// One page of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityPage {
    pub entries: Vec<ActivityEntry>,
    pub page: PageNumber,
    /// There is a next page (and it is not past [`MAX_PAGE`]).
    pub has_more: bool,
}

/// The plain-words phrase of every kind, by catalog key.
pub fn phrase_key(kind: AuditKind, outcome: Outcome) -> &'static str {
    match kind {
        AuditKind::Signup => "activity-signup",
        AuditKind::LoginOk => "activity-login-ok",
        AuditKind::LoginFailed => "activity-login-failed",
        AuditKind::CodeSent => "activity-code-sent",
        AuditKind::CodeVerified => "activity-code-verified",
        AuditKind::CodeFailed => "activity-code-failed",
        AuditKind::PasswordReset => "activity-password-reset",
        AuditKind::Locked => "activity-locked",
        AuditKind::Unlocked => "activity-unlocked",
        AuditKind::ConsentGiven if outcome == Outcome::Refused => "activity-consent-refused",
        AuditKind::ConsentGiven => "activity-consent-given",
        AuditKind::ConsentRevoked => "activity-consent-revoked",
        AuditKind::TokenIssued => "activity-token-issued",
        AuditKind::TokenRevoked => "activity-token-revoked",
        AuditKind::Logout => "activity-logout",
        AuditKind::AdminAction => "activity-admin-action",
        AuditKind::LimitTripped => "activity-limit-tripped",
        AuditKind::Reauthenticated => "activity-reauthenticated",
        AuditKind::ProfileChanged => "activity-profile-changed",
        AuditKind::PasswordChanged => "activity-password-changed",
        AuditKind::ContactChanged => "activity-contact-changed",
        AuditKind::SessionEnded => "activity-session-ended",
        AuditKind::AccountDeleted => "activity-account-deleted",
        AuditKind::AuthenticatorAdded => "activity-authenticator-added",
        AuditKind::AuthenticatorRemoved => "activity-authenticator-removed",
        AuditKind::RecoveryCodesGenerated => "activity-recovery-codes-generated",
        AuditKind::RecoveryCodeUsed => "activity-recovery-code-used",
        AuditKind::SecondFactor => "activity-second-factor",
        AuditKind::BrowserRemembered => "activity-browser-remembered",
        AuditKind::BrowserForgotten => "activity-browser-forgotten",
        AuditKind::PasskeyAdded => "activity-passkey-added",
        AuditKind::PasskeyRenamed => "activity-passkey-renamed",
        AuditKind::PasskeyRemoved => "activity-passkey-removed",
        AuditKind::PasskeySignIn => "activity-passkey-sign-in",
        AuditKind::PasskeySignInFailed => "activity-passkey-sign-in-failed",
    }
}

fn kind_of(stored: &str) -> Option<AuditKind> {
    AuditKind::ALL.into_iter().find(|k| k.as_str() == stored)
}

fn outcome_of(stored: &str) -> Outcome {
    match stored {
        "failed" => Outcome::Failed,
        "refused" => Outcome::Refused,
        _ => Outcome::Ok,
    }
}

impl Audit {
    /// Page `page` of `account`'s own events of the last [`ACTIVITY_DAYS`] days, newest first.
    pub async fn activity(
        &self,
        account: AccountId,
        page: PageNumber,
    ) -> Result<ActivityPage, DbError> {
        let since = self.clock.now() - Duration::days(ACTIVITY_DAYS);
        let offset = i64::from(page.get() - 1) * PAGE_SIZE;
        self.flush().await;
        let (records, names) = self
            .db
            .run(move |conn| {
                // One more than a page: whether there is a next one.
                let records = rows::page_for_account(
                    conn,
                    account,
                    since,
                    NOT_LISTED,
                    offset,
                    PAGE_SIZE + 1,
                )?;
                let mut ids: Vec<&str> = records
                    .iter()
                    .filter_map(|r| r.client_id.as_deref())
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                let mut names = Vec::with_capacity(ids.len());
                for id in ids {
                    let name = client::find_by_raw_id(conn, id)?.map(|c| c.name);
                    names.push((id.to_owned(), name));
                }
                Ok((records, names))
            })
            .await?;
        let has_more = records.len() as i64 > PAGE_SIZE && page.get() < MAX_PAGE;
        let entries = records
            .into_iter()
            .take(PAGE_SIZE as usize)
            .map(|r| ActivityEntry {
                at: r.at,
                kind: kind_of(&r.kind),
                outcome: outcome_of(&r.outcome),
                app: r.client_id.map(|id| {
                    names
                        .iter()
                        .find(|(known, _)| *known == id)
                        .and_then(|(_, name)| name.clone())
                        .unwrap_or(id)
                }),
                browser: BrowserSummary::parse(r.user_agent.as_deref()),
                address: r.ip.as_deref().and_then(|ip| ip.parse().ok()).map(mask_ip),
            })
            .collect();
        Ok(ActivityPage {
            entries,
            page,
            has_more,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{audit::AuditEvent, clock::MockClock, config::AuditSettings, domain::ClientInfo};

    #[test]
    fn page_numbers_are_bounded() {
        assert_eq!(PageNumber::parse("1"), Some(PageNumber::FIRST));
        assert_eq!(PageNumber::parse("50").map(PageNumber::get), Some(50));
        for bad in ["0", "51", "-1", "", "x", "99999999999999999999", "1.5"] {
            assert_eq!(PageNumber::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_kind_has_a_phrase_in_both_languages() {
        use crate::i18n::Lang;
        let outcomes = [Outcome::Ok, Outcome::Failed, Outcome::Refused];
        for kind in AuditKind::ALL {
            for outcome in outcomes {
                let key = phrase_key(kind, outcome);
                for lang in Lang::ALL {
                    let text = lang.t(key);
                    assert!(!text.is_empty() && text != key, "{key} in {lang:?}");
                }
            }
        }
        for key in [
            "activity-other",
            "activity-outcome-failed",
            "activity-outcome-refused",
        ] {
            assert_ne!(Lang::Hi.t(key), key);
        }
    }

    #[tokio::test]
    async fn an_account_reads_its_own_events_of_90_days_a_page_at_a_time() {
        let clock = MockClock::starting_now();
        let (_dir, db) = crate::db::testing::temp_sqlite();
        let audit = Audit::new(
            db.clone(),
            Arc::new(clock.clone()),
            &AuditSettings { retention_days: 0 },
        );
        let (asha, ravi) = (
            AccountId::from_stored(123_456_789),
            AccountId::from_stored(987_654_321),
        );
        let who = ClientInfo {
            ip: Some("203.0.113.7".parse().unwrap()),
            user_agent: Some(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Firefox/121.0".into(),
            ),
        };
        audit
            .record(AuditEvent::new(AuditKind::Signup, Outcome::Ok).account(asha))
            .await;
        clock.advance(Duration::days(ACTIVITY_DAYS) + Duration::seconds(1));
        for _ in 0..PAGE_SIZE {
            audit
                .record(
                    AuditEvent::new(AuditKind::LoginOk, Outcome::Ok)
                        .account(asha)
                        .from(&who),
                )
                .await;
        }
        audit
            .record(AuditEvent::new(AuditKind::TokenIssued, Outcome::Ok).account(asha))
            .await;
        audit
            .record(AuditEvent::new(AuditKind::LoginFailed, Outcome::Failed).account(ravi))
            .await;
        audit
            .record(AuditEvent::new(AuditKind::CodeSent, Outcome::Refused).account(asha))
            .await;

        let first = audit.activity(asha, PageNumber::FIRST).await.unwrap();
        assert_eq!(first.entries.len(), PAGE_SIZE as usize);
        assert!(first.has_more);
        let newest = &first.entries[0];
        assert_eq!(newest.kind, Some(AuditKind::CodeSent));
        assert_eq!(newest.outcome_key(), Some("activity-outcome-refused"));
        let login = &first.entries[1];
        assert_eq!(login.phrase_key(), "activity-login-ok");
        assert_eq!(login.address.as_deref(), Some("203.0.x.x"));
        assert_eq!(login.browser.browser.as_deref(), Some("Firefox"));

        let second = audit
            .activity(asha, PageNumber::parse("2").unwrap())
            .await
            .unwrap();
        assert_eq!(second.entries.len(), 1, "the sign-up is past 90 days");
        assert!(!second.has_more);
        assert!(
            first
                .entries
                .iter()
                .chain(&second.entries)
                .all(|e| !matches!(
                    e.kind,
                    Some(AuditKind::LoginFailed | AuditKind::TokenIssued)
                )),
            "neither Ravi's events nor token refreshes"
        );
    }
}
