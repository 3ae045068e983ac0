//! Relying parties, as an operator manages them. The rules a registration follows live in
//! [`crate::oauth::registry`]; this adds the audit trail.

use super::Context;
use crate::{
    audit::AuditEvent,
    db::{
        DbError,
        models::client::{self, AdminConsent, Client},
    },
    domain::{Actor, ClientId, ClientSecret},
    oauth::registry::{self, Registration, RegistrationError},
};

/// Registers a client; its secret (none for a public client) is returned this once and only
/// its digest is kept. A first-party registration records `by` as the administrator who gave
/// consent on everyone's behalf.
pub async fn add(
    ctx: &Context,
    by: &Actor,
    registration: Registration,
) -> Result<(Client, Option<ClientSecret>), RegistrationError> {
    let now = ctx.clock.now();
    let (mut client, secret) = registry::build(registration, now)?;
    if client.first_party {
        client.admin_consent = Some(AdminConsent {
            by: by.clone(),
            at: now,
        });
    }
    let stored = client.clone();
    ctx.db
        .run(move |conn| client::insert(conn, &stored))
        .await?;
    let added = AuditEvent::admin_action(format!("client add {}", client.id))
        .client(&client.id)
        .by(by);
    ctx.audit.record(added).await;
    Ok((client, secret))
}

/// Every client, oldest first.
pub async fn list(ctx: &Context) -> Result<Vec<Client>, DbError> {
    ctx.db.run(client::list).await
}

/// One client's registration, if there is such a client.
pub async fn find(ctx: &Context, id: ClientId) -> Result<Option<Client>, DbError> {
    ctx.db.run(move |conn| client::find(conn, &id)).await
}

/// Removes a client; false when there was none.
pub async fn remove(ctx: &Context, by: &Actor, id: ClientId) -> Result<bool, DbError> {
    let removing = id.clone();
    if !ctx
        .db
        .run(move |conn| client::remove(conn, &removing))
        .await?
    {
        return Ok(false);
    }
    let removed = AuditEvent::admin_action(format!("client remove {id}"))
        .client(&id)
        .by(by);
    ctx.audit.record(removed).await;
    Ok(true)
}

/// Replaces a confidential client's secret; the old one stops working at once.
pub async fn rotate_secret(
    ctx: &Context,
    by: &Actor,
    id: ClientId,
) -> Result<ClientSecret, RegistrationError> {
    let secret = registry::rotate_secret(&ctx.db, id.clone(), ctx.clock.now()).await?;
    let rotated = AuditEvent::admin_action(format!("client rotate-secret {id}"))
        .client(&id)
        .by(by);
    ctx.audit.record(rotated).await;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{clock::MockClock, config::Settings, db::models::audit::AuditFilter};

    async fn context() -> (tempfile::TempDir, Context) {
        let (dir, db) = crate::db::testing::temp_sqlite();
        let clock = Arc::new(MockClock::starting_now());
        let ctx = Context::new(db, clock, &Settings::default().audit);
        (dir, ctx)
    }

    async fn admin_actions(ctx: &Context) -> Vec<String> {
        let filter = AuditFilter {
            account: None,
            since: None,
            limit: 100,
        };
        let mut details: Vec<String> = ctx
            .db
            .run(move |conn| crate::db::models::audit::query(conn, &filter))
            .await
            .unwrap()
            .into_iter()
            .filter_map(|e| e.detail)
            .collect();
        details.reverse();
        details
    }

    #[tokio::test]
    async fn each_change_is_audited_once_and_a_missing_client_changes_nothing() {
        let (_dir, ctx) = context().await;
        let registration = Registration {
            id_token_alg: Some("ES256".into()),
            ..crate::oauth::registry::tests::registration()
        };
        let by = Actor::Operator;
        let (client, secret) = add(&ctx, &by, registration).await.unwrap();
        assert!(secret.is_some());
        let listed = list(&ctx).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id_token_alg, crate::domain::Algorithm::Es256);
        rotate_secret(&ctx, &by, client.id.clone()).await.unwrap();
        assert!(remove(&ctx, &by, client.id.clone()).await.unwrap());
        assert!(!remove(&ctx, &by, client.id.clone()).await.unwrap());
        assert!(find(&ctx, client.id.clone()).await.unwrap().is_none());
        let id = &client.id;
        assert_eq!(
            admin_actions(&ctx).await,
            [
                format!("client add {id}"),
                format!("client rotate-secret {id}"),
                format!("client remove {id}"),
            ]
        );
    }
}
