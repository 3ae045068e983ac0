//! Relying parties, as an operator manages them. The rules a registration follows live in
//! [`crate::oauth::registry`]; this adds the audit trail.

use super::Context;
use crate::{
    audit::AuditEvent,
    db::{
        DbError,
        models::client::{self, Client},
    },
    domain::{ClientId, ClientSecret},
    oauth::registry::{self, Registration, RegistrationError},
};

/// Registers a client; its secret (none for a public client) is returned this once and only
/// its digest is kept.
pub async fn add(
    ctx: &Context,
    registration: Registration,
) -> Result<(Client, Option<ClientSecret>), RegistrationError> {
    let (client, secret) = registry::register(&ctx.db, registration, ctx.clock.now()).await?;
    let added = AuditEvent::admin_action(format!("client add {}", client.id)).client(&client.id);
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
pub async fn remove(ctx: &Context, id: ClientId) -> Result<bool, DbError> {
    let removing = id.clone();
    if !ctx
        .db
        .run(move |conn| client::remove(conn, &removing))
        .await?
    {
        return Ok(false);
    }
    let removed = AuditEvent::admin_action(format!("client remove {id}")).client(&id);
    ctx.audit.record(removed).await;
    Ok(true)
}

/// Replaces a confidential client's secret; the old one stops working at once.
pub async fn rotate_secret(
    ctx: &Context,
    id: ClientId,
) -> Result<ClientSecret, RegistrationError> {
    let secret = registry::rotate_secret(&ctx.db, id.clone(), ctx.clock.now()).await?;
    let rotated = AuditEvent::admin_action(format!("client rotate-secret {id}")).client(&id);
    ctx.audit.record(rotated).await;
    Ok(secret)
}
