//! What an operator looks at first: how many accounts there are by status, and what happened
//! in the last 24 hours (sign-ins, failures, codes sent by channel, limits tripped), and the
//! back-channel logout deliveries still pending or given up.
//!
//! Each number is one indexed count: accounts through the index on `status`; the last 24
//! hours of one kind as a range of the `(kind, id)` index from the id of the first event of
//! the window, found once through the index on `at`.

use chrono::Duration;
use diesel::prelude::*;

use super::Context;
use crate::{
    audit::AuditKind,
    db::{
        DbConn, DbError,
        models::{account::AccountStatus, audit, backchannel},
        schema::accounts,
    },
};

/// How far back the "recent" numbers look.
pub const WINDOW: Duration = Duration::hours(24);

/// The overview's numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Overview {
    /// Accounts that are not deleted.
    pub accounts: i64,
    pub accounts_active: i64,
    pub accounts_locked: i64,
    pub accounts_disabled: i64,
    pub accounts_deleted: i64,
    /// Successful sign-ins in the last 24 hours.
    pub sign_ins_24h: i64,
    /// Failed sign-ins in the last 24 hours.
    pub failed_sign_ins_24h: i64,
    /// Codes sent by SMS in the last 24 hours.
    pub codes_sms_24h: i64,
    /// Codes sent by email in the last 24 hours.
    pub codes_email_24h: i64,
    /// Requests a rate or abuse limit refused in the last 24 hours.
    pub limits_tripped_24h: i64,
    /// Back-channel logout deliveries not yet made.
    pub backchannel_pending: i64,
    /// Back-channel logout deliveries given up after every retry.
    pub backchannel_abandoned: i64,
}

fn count_status(conn: &mut DbConn, status: AccountStatus) -> Result<i64, DbError> {
    Ok(accounts::table
        .filter(accounts::status.eq(status.as_str()))
        .count()
        .get_result(conn)?)
}

/// The numbers now.
pub async fn overview(ctx: &Context) -> Result<Overview, DbError> {
    let since = ctx.clock.now() - WINDOW;
    ctx.audit.flush().await;
    ctx.db
        .run(move |conn| {
            let active = count_status(conn, AccountStatus::Active)?;
            let locked = count_status(conn, AccountStatus::Locked)?;
            let disabled = count_status(conn, AccountStatus::Disabled)?;
            let deleted = count_status(conn, AccountStatus::Deleted)?;
            let mut o = Overview {
                accounts: active + locked + disabled,
                accounts_active: active,
                accounts_locked: locked,
                accounts_disabled: disabled,
                accounts_deleted: deleted,
                ..Overview::default()
            };
            if let Some(from) = audit::first_id_at_or_after(conn, since)? {
                let mut count = |kind: AuditKind, suffix: Option<&str>| {
                    audit::count_kind_from(conn, kind.as_str(), from, suffix)
                };
                o.sign_ins_24h = count(AuditKind::LoginOk, None)?;
                o.failed_sign_ins_24h = count(AuditKind::LoginFailed, None)?;
                o.codes_sms_24h = count(AuditKind::CodeSent, Some(" sms"))?;
                o.codes_email_24h = count(AuditKind::CodeSent, Some(" email"))?;
                o.limits_tripped_24h = count(AuditKind::LimitTripped, None)?;
            }
            let (pending, _, abandoned) = backchannel::counts(conn)?;
            o.backchannel_pending = pending;
            o.backchannel_abandoned = abandoned;
            Ok(o)
        })
        .await
}
