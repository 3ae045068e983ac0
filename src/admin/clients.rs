//! Relying parties, as an operator manages them. The rules a registration follows live in
//! [`crate::oauth::registry`]; this adds the audit trail.

use super::Context;
use crate::{
    audit::AuditEvent,
    db::{
        DbError,
        models::{
            client::{self, AdminConsent, Client},
            connected_app,
            grant::{self, TakenBackFromAll},
        },
    },
    domain::{Acr, Actor, ClientId, ClientSecret},
    oauth::registry::{self, Changes, Registration, RegistrationError},
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

/// Removes a client and everything people gave it: its grants (so its tokens), consents and
/// logout deliveries go with it by the foreign keys' cascade, its connected-app rows here, all
/// in one transaction. False when there was none.
pub async fn remove(ctx: &Context, by: &Actor, id: ClientId) -> Result<bool, DbError> {
    let removing = id.clone();
    let Some(removed) = ctx
        .db
        .run(move |conn| {
            conn.write_transaction(|conn| {
                let Some(found) = client::find(conn, &removing)? else {
                    return Ok(None);
                };
                connected_app::delete_for_client(conn, &removing)?;
                client::remove(conn, &removing)?;
                Ok(Some(found))
            })
        })
        .await?
    else {
        return Ok(false);
    };
    ctx.warm.invalidate_after_write().await;
    let event = AuditEvent::admin_action(format!("client remove {id}: {:?} → none", removed.name))
        .client(&id)
        .by(by);
    ctx.audit.record(event).await;
    Ok(true)
}

/// A page of clients by client ID after `after`: all of them, or those whose name starts
/// with `query` or whose client ID it is. At most `limit` (1 to 200).
pub async fn search(
    ctx: &Context,
    query: Option<String>,
    after: Option<String>,
    limit: u32,
) -> Result<Vec<Client>, DbError> {
    let limit = i64::from(limit.clamp(1, 201));
    ctx.db
        .run(move |conn| {
            let query = query.as_deref().map(str::trim).filter(|q| !q.is_empty());
            client::search(conn, query, after.as_deref(), limit)
        })
        .await
}

/// Edits a client by the rules of registration ([`registry::apply`]). Audited with each
/// changed field, before → after; an edit that changes nothing is not. Returns the client as
/// it now is.
pub async fn update(
    ctx: &Context,
    by: &Actor,
    id: ClientId,
    changes: Changes,
) -> Result<Client, RegistrationError> {
    let before = find(ctx, id.clone())
        .await?
        .ok_or(RegistrationError::NotFound)?;
    let after = registry::apply(&before, changes)?;
    let changed = describe_changes(&before, &after);
    if changed.is_empty() {
        return Ok(before);
    }
    save(ctx, &after).await?;
    let event = AuditEvent::admin_action(format!("client update {id}: {}", changed.join("; ")))
        .client(&id)
        .by(by);
    ctx.audit.record(event).await;
    Ok(after)
}

/// Each field that differs, as `field before → after`.
pub fn describe_changes(before: &Client, after: &Client) -> Vec<String> {
    fn list<T: std::fmt::Display>(items: &[T]) -> String {
        let items: Vec<String> = items.iter().map(ToString::to_string).collect();
        format!("[{}]", items.join(", "))
    }
    fn maybe<T: std::fmt::Display>(item: Option<&T>) -> String {
        item.map_or_else(|| "none".to_owned(), ToString::to_string)
    }
    let grants = |c: &Client| {
        let names: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
        format!("[{}]", names.join(", "))
    };
    let mut changed = Vec::new();
    let mut field = |name: &str, b: String, a: String| {
        if b != a {
            changed.push(format!("{name} {b} → {a}"));
        }
    };
    field(
        "name",
        format!("{:?}", before.name),
        format!("{:?}", after.name),
    );
    field(
        "logo_url",
        maybe(before.logo_url.as_ref()),
        maybe(after.logo_url.as_ref()),
    );
    field(
        "redirect_uris",
        list(&before.redirect_uris),
        list(&after.redirect_uris),
    );
    field(
        "post_logout_redirect_uris",
        list(&before.post_logout_redirect_uris),
        list(&after.post_logout_redirect_uris),
    );
    field(
        "backchannel_logout_uri",
        maybe(before.backchannel_logout_uri.as_ref()),
        maybe(after.backchannel_logout_uri.as_ref()),
    );
    field(
        "scopes",
        format!("{:?}", before.scopes.to_string()),
        format!("{:?}", after.scopes.to_string()),
    );
    field("grant_types", grants(before), grants(after));
    field(
        "id_token_alg",
        before.id_token_alg.as_str().to_owned(),
        after.id_token_alg.as_str().to_owned(),
    );
    let access_alg = |c: &Client| {
        c.access_token_alg
            .map_or("default", |a| a.as_str())
            .to_owned()
    };
    field("access_token_alg", access_alg(before), access_alg(after));
    changed
}

async fn save(ctx: &Context, client: &Client) -> Result<(), RegistrationError> {
    let stored = client.clone();
    let now = ctx.clock.now();
    if ctx
        .db
        .run(move |conn| client::update(conn, &stored, now))
        .await?
    {
        ctx.warm.invalidate_after_write().await;
        Ok(())
    } else {
        Err(RegistrationError::NotFound)
    }
}

/// Disables (or enables again) a client. While disabled its token requests are refused
/// (`unauthorized_client`), its access tokens are not accepted at UserInfo nor active at
/// introspection, and authorization requests for it show a page saying it is turned off.
/// False when it already was so (nothing audited).
pub async fn set_disabled(
    ctx: &Context,
    by: &Actor,
    id: ClientId,
    disabled: bool,
) -> Result<bool, RegistrationError> {
    let mut found = find(ctx, id.clone())
        .await?
        .ok_or(RegistrationError::NotFound)?;
    if found.is_disabled() == disabled {
        return Ok(false);
    }
    found.disabled_at = disabled.then(|| ctx.clock.now());
    save(ctx, &found).await?;
    let detail = if disabled {
        "enabled → disabled"
    } else {
        "disabled → enabled"
    };
    let event = AuditEvent::admin_action(format!("client {id} status: {detail}"))
        .client(&id)
        .by(by);
    ctx.audit.record(event).await;
    Ok(true)
}

/// Admin consent: `on` makes the client first-party, consent given by `by` on behalf of
/// every person (no consent screen); off takes it back (people are asked at their next
/// authorization). False when it already was so (nothing audited).
pub async fn set_first_party(
    ctx: &Context,
    by: &Actor,
    id: ClientId,
    on: bool,
) -> Result<bool, RegistrationError> {
    let mut found = find(ctx, id.clone())
        .await?
        .ok_or(RegistrationError::NotFound)?;
    if found.first_party == on {
        return Ok(false);
    }
    found.first_party = on;
    found.admin_consent = on.then(|| AdminConsent {
        by: by.clone(),
        at: ctx.clock.now(),
    });
    save(ctx, &found).await?;
    let detail = if on { "no → yes" } else { "yes → no" };
    let event = AuditEvent::admin_action(format!("client {id} first_party: {detail}"))
        .client(&id)
        .by(by);
    ctx.audit.record(event).await;
    Ok(true)
}

/// Sets the weakest sign-in the app accepts (`None`: any): a sign-in weaker than this is
/// stepped up before the app gets a code, and a person who has no method strong enough is told
/// how to add one (see `oauth::authorize`). Audited with the change; `false` when it was so
/// already.
pub async fn set_min_acr(
    ctx: &Context,
    by: &Actor,
    id: ClientId,
    min_acr: Option<Acr>,
) -> Result<bool, RegistrationError> {
    // Every sign-in is at least one-factor: that minimum is no minimum, and is stored as none.
    let min_acr = min_acr.filter(|&acr| acr != Acr::OneFactor);
    let mut found = find(ctx, id.clone())
        .await?
        .ok_or(RegistrationError::NotFound)?;
    if found.min_acr == min_acr {
        return Ok(false);
    }
    let name = |acr: Option<Acr>| acr.map_or("any", Acr::short);
    let detail = format!("{} → {}", name(found.min_acr), name(min_acr));
    found.min_acr = min_acr;
    save(ctx, &found).await?;
    let event = AuditEvent::admin_action(format!("client {id} min_acr: {detail}"))
        .client(&id)
        .by(by);
    ctx.audit.record(event).await;
    Ok(true)
}

/// How many people an app holds consent from, and how many accounts use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentSummary {
    pub consents: i64,
    pub connected_accounts: i64,
}

/// The consent summary of a client; `None` when there is no such client.
pub async fn consent_summary(
    ctx: &Context,
    id: ClientId,
) -> Result<Option<ConsentSummary>, DbError> {
    ctx.db
        .run(move |conn| {
            if client::find(conn, &id)?.is_none() {
                return Ok(None);
            }
            Ok(Some(ConsentSummary {
                consents: grant::count_consents_for_client(conn, &id)?,
                connected_accounts: connected_app::count_for_client(conn, &id)?,
            }))
        })
        .await
}

/// Takes back every person's consent to a client, with their grants (access and refresh
/// tokens) and connected-app rows, in one transaction ([`grant::take_back_from_all`]): each
/// is asked again at their next authorization. Like the one-person version
/// (`account::apps::revoke`), the app gets a logout token for each session it took part in,
/// when it registered a back-channel logout URI. Audited with how many went.
pub async fn revoke_all_consents(
    ctx: &Context,
    by: &Actor,
    sessions: &crate::session::Context,
    id: ClientId,
) -> Result<TakenBackFromAll, RegistrationError> {
    let now = ctx.clock.now();
    let of = id.clone();
    let (client, taken, told) = ctx
        .db
        .run(move |conn| {
            let Some(client) = client::find(conn, &of)? else {
                return Ok(None);
            };
            let told = if client.backchannel_logout_uri.is_some() {
                grant::live_sessions_of_client(conn, &of, now)?
            } else {
                Vec::new()
            };
            let taken = grant::take_back_from_all(conn, &of, now)?;
            Ok(Some((client, taken, told)))
        })
        .await?
        .ok_or(RegistrationError::NotFound)?;
    ctx.warm.invalidate_after_write().await;
    let mut queued = 0;
    for (sub, sid) in &told {
        match sessions
            .backchannel
            .queue(std::slice::from_ref(&client), sid, sub, now)
            .await
        {
            Ok(n) => queued += n,
            Err(e) => {
                tracing::warn!(client_id = %id, error = %e, "logout token not queued after revoke-all");
            }
        }
    }
    let event = AuditEvent::admin_action(format!(
        "client {id} consents revoked: {} consents, {} grants → 0; {queued} logout tokens",
        taken.consents, taken.grants
    ))
    .client(&id)
    .by(by);
    ctx.audit.record(event).await;
    Ok(taken)
}

/// Replaces a confidential client's secret; the old one stops working at once.
pub async fn rotate_secret(
    ctx: &Context,
    by: &Actor,
    id: ClientId,
) -> Result<ClientSecret, RegistrationError> {
    let secret = registry::rotate_secret(&ctx.db, id.clone(), ctx.clock.now()).await?;
    ctx.warm.invalidate_after_write().await;
    let rotated = AuditEvent::admin_action(format!("client rotate-secret {id}"))
        .client(&id)
        .by(by);
    ctx.audit.record(rotated).await;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{admin::testing::context, db::models::audit::AuditFilter};

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
                format!("client remove {id}: \"Cloud\" → none"),
            ]
        );
    }

    #[tokio::test]
    async fn an_edit_or_a_switch_that_changes_nothing_is_not_audited() {
        let (_dir, ctx) = context().await;
        let by = Actor::Operator;
        let (client, _) = add(&ctx, &by, crate::oauth::registry::tests::registration())
            .await
            .unwrap();
        let id = client.id.clone();
        let same = Changes {
            name: Some(client.name.clone()),
            ..Changes::default()
        };
        update(&ctx, &by, id.clone(), same).await.unwrap();
        assert!(
            set_first_party(&ctx, &by, id.clone(), true)
                .await
                .is_ok_and(|c| !c)
        );
        assert!(
            set_disabled(&ctx, &by, id.clone(), false)
                .await
                .is_ok_and(|c| !c)
        );
        assert!(set_disabled(&ctx, &by, id.clone(), true).await.unwrap());
        assert!(find(&ctx, id.clone()).await.unwrap().unwrap().is_disabled());
        assert!(set_disabled(&ctx, &by, id.clone(), false).await.unwrap());
        assert!(!find(&ctx, id.clone()).await.unwrap().unwrap().is_disabled());
        let missing = ClientId::generate();
        assert!(matches!(
            set_disabled(&ctx, &by, missing.clone(), true).await,
            Err(RegistrationError::NotFound)
        ));
        assert!(consent_summary(&ctx, missing).await.unwrap().is_none());
        assert_eq!(
            admin_actions(&ctx).await,
            [
                format!("client add {id}"),
                format!("client {id} status: enabled → disabled"),
                format!("client {id} status: disabled → enabled"),
            ]
        );
    }
}
