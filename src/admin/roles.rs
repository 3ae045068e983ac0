//! Who administers: granting and revoking the `admin` role.

use super::Context;
use crate::{
    audit::AuditEvent,
    db::{
        DbError,
        models::account::{self, Account, RevokeRoleError},
    },
    domain::{AccountId, Actor, Role},
};

#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error("no account {0}")]
    NotFound(AccountId),
    /// Only the command line may leave OneID without an administrator (it is also how one is
    /// made again): the consoles and the API never can.
    #[error("{0} is the last administrator; grant the role to someone else first")]
    LastAdmin(AccountId),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Makes the account an administrator. False when it already was one.
pub async fn grant(ctx: &Context, by: &Actor, id: AccountId) -> Result<bool, RoleError> {
    let granted = ctx
        .db
        .run(move |conn| account::grant_role(conn, id, Role::Admin))
        .await?;
    if !granted {
        check_exists(ctx, id).await?;
        return Ok(false);
    }
    let event = AuditEvent::admin_action("role: none → admin")
        .account(id)
        .by(by);
    ctx.audit.record(event).await;
    Ok(true)
}

/// Takes the role away. False when the account was not an administrator. Refused for the last
/// administrator unless the operator does it from the command line.
pub async fn revoke(ctx: &Context, by: &Actor, id: AccountId) -> Result<bool, RoleError> {
    let keep_one = *by != Actor::Operator;
    let revoked = ctx
        .db
        .run(move |conn| Ok(account::revoke_admin(conn, id, keep_one)))
        .await?;
    let revoked = match revoked {
        Ok(revoked) => revoked,
        Err(RevokeRoleError::LastAdmin) => return Err(RoleError::LastAdmin(id)),
        Err(RevokeRoleError::Db(e)) => return Err(e.into()),
    };
    if !revoked {
        check_exists(ctx, id).await?;
        return Ok(false);
    }
    let event = AuditEvent::admin_action("role: admin → none")
        .account(id)
        .by(by);
    ctx.audit.record(event).await;
    Ok(true)
}

/// Every administrator, oldest account first.
pub async fn list(ctx: &Context) -> Result<Vec<Account>, DbError> {
    ctx.db
        .run(|conn| account::with_role(conn, Role::Admin))
        .await
}

async fn check_exists(ctx: &Context, id: AccountId) -> Result<(), RoleError> {
    match ctx
        .db
        .run(move |conn| account::find_by_id(conn, id))
        .await?
    {
        Some(found) if found.status != account::AccountStatus::Deleted => Ok(()),
        _ => Err(RoleError::NotFound(id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::testing::context;

    #[tokio::test]
    async fn the_last_admin_stays_unless_the_operator_removes_them() {
        let (_dir, ctx) = context().await;
        let first = crate::admin::testing::account(&ctx, "+919876543210").await;
        let second = crate::admin::testing::account(&ctx, "+919876543211").await;
        let console = Actor::Admin(first);
        assert!(grant(&ctx, &Actor::Operator, first).await.unwrap());
        assert!(!grant(&ctx, &Actor::Operator, first).await.unwrap());
        assert!(matches!(
            revoke(&ctx, &console, first).await,
            Err(RoleError::LastAdmin(id)) if id == first
        ));
        assert_eq!(
            list(&ctx).await.unwrap().len(),
            1,
            "refusal changed nothing"
        );
        assert!(grant(&ctx, &console, second).await.unwrap());
        assert!(revoke(&ctx, &console, first).await.unwrap());
        assert!(!revoke(&ctx, &console, first).await.unwrap());
        assert!(revoke(&ctx, &Actor::Operator, second).await.unwrap());
        assert!(list(&ctx).await.unwrap().is_empty());
        let missing = AccountId::from_stored(100_000_001);
        assert!(matches!(
            grant(&ctx, &Actor::Operator, missing).await,
            Err(RoleError::NotFound(_))
        ));
    }
}
