//! Reading the audit log.

use super::Context;
use crate::{
    audit::Since,
    db::{
        DbError,
        models::audit::{self, AuditFilter, AuditRecord},
    },
    domain::AccountId,
};

/// The newest `limit` events, newest first: only `account`'s if given, only those since
/// `since` (resolved against the context's clock) if given.
pub async fn list(
    ctx: &Context,
    account: Option<AccountId>,
    since: Option<Since>,
    limit: u32,
) -> Result<Vec<AuditRecord>, DbError> {
    let filter = AuditFilter {
        account,
        since: since.map(|since| since.resolve(ctx.clock.now())),
        limit: i64::from(limit),
    };
    ctx.db.run(move |conn| audit::query(conn, &filter)).await
}
