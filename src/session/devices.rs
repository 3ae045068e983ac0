//! Sessions and devices, as the account's owner manages them (and, through the same
//! functions, an operator): every live sign-in of an account with where it came from and the
//! apps signed in through it, ending one of them, or every one but the current. Ending goes
//! through [`super::end`], so the apps of the ended sessions are told by back-channel logout.

use chrono::{DateTime, Utc};

use super::{Context, EndError, end};
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    db::{
        DbError,
        models::{
            second_factor,
            session::{self as rows, EndReason},
        },
    },
    domain::{AccountId, BrowserSummary, ClientInfo, mask_ip},
    i18n::Lang,
};

/// The most sessions listed: an account has a handful; a list this long is already odd.
pub const LIST_MAX: i64 = 50;
/// The longest session id accepted from a form (ours are 22 characters).
pub const SID_MAX: usize = 64;

/// One live sign-in of the account, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSession {
    /// The OIDC session id: names the session in the "sign out" form. Only ever shown to the
    /// account it belongs to.
    pub sid: String,
    pub browser: BrowserSummary,
    /// Masked (see [`mask_ip`]).
    pub address: Option<String>,
    pub signed_in_at: DateTime<Utc>,
    pub last_active_at: DateTime<Utc>,
    /// The names of the apps signed in through this session, in order.
    pub apps: Vec<String>,
    /// The session of the browser asking.
    pub current: bool,
}

/// What became of a request to end one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Ended,
    /// No live session of this account has that id (unknown, ended, or another account's):
    /// nothing changed.
    NotFound,
}

/// The account's live sessions: `current` (the asking browser's `sid`, if any) first, then the
/// most recently active.
pub async fn list(
    ctx: &Context,
    account: AccountId,
    current: Option<&str>,
) -> Result<Vec<DeviceSession>, DbError> {
    let now = ctx.clock.now();
    let (details, apps) = ctx
        .db
        .run(move |conn| {
            let details = rows::live_details(conn, account, now, LIST_MAX)?;
            let sids: Vec<String> = details.iter().map(|d| d.sid.clone()).collect();
            let apps = rows::apps_of(conn, account, &sids, now)?;
            Ok((details, apps))
        })
        .await?;
    let mut sessions: Vec<DeviceSession> = details
        .into_iter()
        .map(|d| DeviceSession {
            browser: BrowserSummary::parse(d.user_agent.as_deref()),
            address: d.ip.as_deref().and_then(|ip| ip.parse().ok()).map(mask_ip),
            signed_in_at: d.created_at,
            last_active_at: d.last_active_at.unwrap_or(d.created_at),
            apps: apps
                .iter()
                .filter(|(sid, _)| *sid == d.sid)
                .map(|(_, name)| name.clone())
                .collect(),
            current: current == Some(d.sid.as_str()),
            sid: d.sid,
        })
        .collect();
    sessions.sort_by(|a, b| {
        b.current
            .cmp(&a.current)
            .then(b.last_active_at.cmp(&a.last_active_at))
    });
    Ok(sessions)
}

/// Ends the session `sid` of `account`, asked for by `from`: its browser is signed out (within
/// a minute, see [`super::registry::RECHECK_AFTER`]) and its apps are told. Another account's
/// session, or one not live, is [`Ended::NotFound`] and left alone.
pub async fn end_one(
    ctx: &Context,
    account: AccountId,
    sid: &str,
    from: &ClientInfo,
) -> Result<Ended, EndError> {
    if sid.is_empty() || sid.len() > SID_MAX {
        return Ok(Ended::NotFound);
    }
    let now = ctx.clock.now();
    let looked_up = sid.to_owned();
    let live = ctx
        .db
        .run(move |conn| rows::is_live_for(conn, &looked_up, account, now))
        .await?;
    if !live {
        return Ok(Ended::NotFound);
    }
    end(ctx, sid, account, EndReason::SignedOutElsewhere, from).await?;
    ctx.audit
        .record(
            AuditEvent::new(AuditKind::SessionEnded, Outcome::Ok)
                .account(account)
                .from(from)
                .detail("one session"),
        )
        .await;
    tracing::info!(account_id = %account, "a session ended from the account's list");
    Ok(Ended::Ended)
}

/// Ends every session of `account` but `keep` (the asking browser's), telling their apps.
/// Returns how many ended.
pub async fn end_others(
    ctx: &Context,
    account: AccountId,
    keep: &str,
    from: &ClientInfo,
) -> Result<usize, EndError> {
    let live = ctx
        .db
        .run(move |conn| rows::live_for_account(conn, account))
        .await?;
    let mut ended = 0;
    for session in live.iter().filter(|s| s.sid != keep) {
        if end(
            ctx,
            &session.sid,
            account,
            EndReason::SignedOutElsewhere,
            from,
        )
        .await?
        {
            ended += 1;
        }
    }
    ctx.audit
        .record(
            AuditEvent::new(AuditKind::SessionEnded, Outcome::Ok)
                .account(account)
                .from(from)
                .detail(format!("every other session ({ended})")),
        )
        .await;
    tracing::info!(account_id = %account, sessions = ended, "other sessions ended");
    // Whoever had a session elsewhere may have had that browser remembered too: "sign out
    // everywhere else" takes that away as well (this browser is remembered again at its next
    // sign-in, if the person ticks the box).
    forget_all_remembered(ctx, account, "signed out everywhere else", Some(from)).await?;
    Ok(ended)
}

/// A browser remembered for the second factor (see `account::second_factor::remembered`), as
/// its owner sees it in Sessions and devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RememberedBrowser {
    /// Names the row in the "forget" form; only ever shown to its account.
    pub id: String,
    pub browser: BrowserSummary,
    /// Masked when stored.
    pub address: Option<String>,
    pub remembered_at: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// The longest remembered-browser id accepted from a form (ours are 16 characters).
pub const REMEMBERED_ID_MAX: usize = 32;

/// The account's remembered browsers still in force, newest first.
pub async fn remembered(
    ctx: &Context,
    account: AccountId,
) -> Result<Vec<RememberedBrowser>, DbError> {
    let now = ctx.clock.now();
    let rows = ctx
        .db
        .run(move |conn| second_factor::list_remembered(conn, account, now))
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| RememberedBrowser {
            browser: BrowserSummary::parse(row.user_agent.as_deref()),
            address: row.ip,
            remembered_at: row.created_at.and_utc(),
            until: row.expires_at.and_utc(),
            id: row.id,
        })
        .collect())
}

/// Forgets one remembered browser of the account: its next sign-in asks for the second
/// factor again.
pub async fn forget_remembered(
    ctx: &Context,
    account: AccountId,
    id: &str,
    from: &ClientInfo,
) -> Result<Ended, DbError> {
    if id.is_empty() || id.len() > REMEMBERED_ID_MAX {
        return Ok(Ended::NotFound);
    }
    let (owned, now) = (id.to_owned(), ctx.clock.now());
    let forgotten = ctx
        .db
        .run(move |conn| second_factor::forget_remembered(conn, account, &owned, now))
        .await?;
    if !forgotten {
        return Ok(Ended::NotFound);
    }
    ctx.audit
        .record(
            AuditEvent::new(AuditKind::BrowserForgotten, Outcome::Ok)
                .account(account)
                .from(from)
                .detail("one"),
        )
        .await;
    Ok(Ended::Ended)
}

/// Forgets every remembered browser of the account (`why`, for the audit log: a password
/// reset, a removed second factor, "sign out everywhere else"). Returns how many were.
pub async fn forget_all_remembered(
    ctx: &Context,
    account: AccountId,
    why: &'static str,
    from: Option<&ClientInfo>,
) -> Result<usize, DbError> {
    let now = ctx.clock.now();
    let forgotten = ctx
        .db
        .run(move |conn| second_factor::forget_all_remembered(conn, account, now))
        .await?;
    if forgotten > 0 {
        let event = AuditEvent::new(AuditKind::BrowserForgotten, Outcome::Ok)
            .account(account)
            .detail(format!("{why} ({forgotten})"));
        ctx.audit
            .record(match from {
                Some(from) => event.from(from),
                None => event,
            })
            .await;
    }
    Ok(forgotten)
}

/// "Chrome on Android", in `lang`, for pages and notices.
pub fn describe_browser(summary: &BrowserSummary, lang: Lang) -> String {
    match (&summary.browser, &summary.os) {
        (Some(browser), Some(os)) => lang.t_args(
            "device-browser-on",
            &[("browser", browser.clone()), ("name", os.clone())],
        ),
        (Some(browser), None) => browser.clone(),
        (None, Some(os)) => lang.t_args("device-some-browser-on", &[("name", os.clone())]),
        (None, None) => lang.t("device-unknown"),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::{
        config::Settings,
        session::testing::{self, account, has_ended},
    };

    async fn record(ctx: &Context, sid: &'static str, account: AccountId, ip: &str) {
        let now = ctx.clock.now();
        let seen = rows::SeenFrom {
            user_agent: Some(
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/120.0.0.0 Mobile Safari/537.36"
                    .into(),
            ),
            ip: Some(ip.into()),
            device: None,
        };
        ctx.db
            .run(move |conn| {
                rows::record(conn, sid, account, now, now + Duration::days(1))?;
                rows::describe(conn, sid, &seen, now)
            })
            .await
            .unwrap();
    }

    async fn ended_events(ctx: &Context, account: AccountId) -> Vec<Option<String>> {
        testing::audit_details(ctx, Some(account), "session_ended").await
    }

    #[tokio::test]
    async fn the_list_is_the_accounts_live_sessions_with_the_current_one_first() {
        let t = testing::context(&Settings::default()).await;
        let ctx = &t.ctx;
        let asha = account(ctx, "asha@example.com").await;
        let ravi = account(ctx, "ravi@example.com").await;
        record(ctx, "asha-phone", asha, "203.0.113.7").await;
        t.clock.advance(Duration::minutes(5));
        record(ctx, "asha-laptop", asha, "2001:db8:85a3::1").await;
        record(ctx, "ravi-phone", ravi, "198.51.100.1").await;

        let listed = list(ctx, asha, Some("asha-phone")).await.unwrap();
        let sids: Vec<&str> = listed.iter().map(|s| s.sid.as_str()).collect();
        assert_eq!(sids, ["asha-phone", "asha-laptop"]);
        assert!(listed[0].current && !listed[1].current);
        assert_eq!(listed[0].address.as_deref(), Some("203.0.x.x"));
        assert_eq!(listed[1].address.as_deref(), Some("2001:db8:85a3::/48"));
        assert_eq!(listed[0].browser.browser.as_deref(), Some("Chrome"));
        assert_eq!(
            describe_browser(&listed[0].browser, Lang::En),
            "Chrome on Android"
        );
        assert!(listed[0].apps.is_empty());
    }

    #[tokio::test]
    async fn ending_one_needs_a_live_session_of_the_account_and_end_others_keeps_the_current() {
        let t = testing::context(&Settings::default()).await;
        let ctx = &t.ctx;
        let who = ClientInfo::default();
        let asha = account(ctx, "asha@example.com").await;
        let ravi = account(ctx, "ravi@example.com").await;
        for sid in ["asha-1", "asha-2", "asha-3"] {
            record(ctx, sid, asha, "203.0.113.7").await;
        }
        record(ctx, "ravi-1", ravi, "198.51.100.1").await;

        for foreign in ["ravi-1", "nope", "", &"x".repeat(SID_MAX + 1)] {
            let refused = end_one(ctx, asha, foreign, &who).await.unwrap();
            assert_eq!(refused, Ended::NotFound, "{foreign}");
        }
        assert!(
            !has_ended(ctx, "ravi-1").await,
            "Ravi's session is untouched"
        );
        assert!(ended_events(ctx, asha).await.is_empty(), "nothing happened");

        assert_eq!(
            end_one(ctx, asha, "asha-2", &who).await.unwrap(),
            Ended::Ended
        );
        assert!(has_ended(ctx, "asha-2").await);
        assert_eq!(
            end_one(ctx, asha, "asha-2", &who).await.unwrap(),
            Ended::NotFound,
            "ended already"
        );

        assert_eq!(end_others(ctx, asha, "asha-1", &who).await.unwrap(), 1);
        assert!(has_ended(ctx, "asha-3").await && !has_ended(ctx, "asha-1").await);
        assert!(!has_ended(ctx, "ravi-1").await);
        assert_eq!(
            ended_events(ctx, asha).await,
            [
                Some("every other session (1)".into()),
                Some("one session".into())
            ]
        );
    }
}
