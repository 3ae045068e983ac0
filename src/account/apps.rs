//! Connected apps: the apps an account has signed in to or allowed, and taking an app's access
//! back. The person sees each app's name and logo, what it may see, when it was first and last
//! used, and whether it can still act while they are away (offline access); the admin console
//! calls the same functions with the account it is looking at.
//!
//! Revoking ([`revoke`]) does, in order:
//! 1. `check_revocable`: the app is one the account is connected to (else nothing changes), and
//!    not first-party: an administrator made those part of OneID for everyone, so the person
//!    signs out of them or deletes the account instead;
//! 2. in one transaction: the consent is deleted (the next authorization asks again, OIDC Core
//!    §3.1.2.4), every grant of the account to the app is revoked (its access tokens fail
//!    introspection and UserInfo, its refresh tokens `invalid_grant`), and the app leaves the
//!    list;
//! 3. the app alone gets a logout token for each OneID session its grants were minted under
//!    (Back-Channel Logout 1.0 §2.1; the sessions themselves go on, for the other apps);
//! 4. `consent_revoked` is audited.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use url::Url;

use super::{Context, ServiceError};
use crate::{
    audit::{AuditEvent, AuditKind, Outcome},
    db::{
        DbError,
        models::{
            account,
            client::{self, Client},
            connected_app,
            grant::{self, Holding},
        },
    },
    domain::{AccountId, ClientId, ClientInfo, Scopes},
};

/// One app as the account console lists it.
#[derive(Debug, Clone)]
pub struct AppSummary {
    pub client_id: ClientId,
    pub name: String,
    /// The registered logo, if any (https only, checked at registration).
    pub logo_url: Option<Url>,
    /// What it may see: what the person allowed (and holds in live grants); for a first-party
    /// app, everything it is registered for, which it may ask for without asking the person.
    pub scopes: Scopes,
    pub first_used_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// A live grant with an unspent refresh token: it can act while the person is away.
    pub offline_access: bool,
    pub first_party: bool,
}

/// The apps `account` uses, most recently used first.
pub async fn list(ctx: &Context, account: AccountId) -> Result<Vec<AppSummary>, ServiceError> {
    let now = ctx.clock.now();
    let apps = ctx
        .db
        .run(move |conn| {
            let used = connected_app::for_account(conn, account)?;
            let consents = grant::consents_of(conn, account)?;
            let mut holdings = grant::holdings_of(conn, account, now)?;
            // An app consented to but with no row (consent given before rows were kept) is
            // listed too, as first and last used when the consent was given.
            let mut seen: BTreeMap<String, (DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
            let mut order = Vec::new();
            for app in used {
                order.push(app.client_id.clone());
                seen.insert(
                    app.client_id.to_string(),
                    (app.first_used_at, app.last_used_at),
                );
            }
            let mut consented: BTreeMap<String, Scopes> = BTreeMap::new();
            for consent in consents {
                if !seen.contains_key(consent.client_id.as_str()) {
                    seen.insert(
                        consent.client_id.to_string(),
                        (consent.granted_at, consent.granted_at),
                    );
                    order.push(consent.client_id.clone());
                }
                consented.insert(consent.client_id.to_string(), consent.scope);
            }
            let mut apps = Vec::new();
            for id in order {
                // An app an operator has since removed is no longer anywhere to go.
                let Some(client) = client::find(conn, &id)? else {
                    continue;
                };
                let (first_used_at, last_used_at) = seen[id.as_str()];
                let holding = holdings.remove(id.as_str()).unwrap_or_default();
                let allowed = consented.remove(id.as_str()).unwrap_or_default();
                apps.push(summary(
                    client,
                    &allowed,
                    holding,
                    first_used_at,
                    last_used_at,
                ));
            }
            Ok(apps)
        })
        .await?;
    let mut apps = apps;
    // Consented apps without a row were added after the rows: most recently used first.
    apps.sort_by_key(|a| std::cmp::Reverse(a.last_used_at));
    Ok(apps)
}

fn summary(
    client: Client,
    allowed: &Scopes,
    holding: Holding,
    first_used_at: DateTime<Utc>,
    last_used_at: DateTime<Utc>,
) -> AppSummary {
    let scopes = if client.first_party {
        client.scopes.clone()
    } else {
        allowed.union(&holding.scope)
    };
    AppSummary {
        client_id: client.id,
        name: client.name,
        logo_url: client.logo_url,
        scopes,
        first_used_at,
        last_used_at,
        offline_access: holding.offline,
        first_party: client.first_party,
    }
}

/// Why an app's access was not taken back. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeRefused {
    /// Not an app this account is connected to (unknown, another person's, revoked already).
    NotConnected,
    /// A first-party app: an administrator made it part of OneID for everyone.
    FirstParty,
}

/// What a revocation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    pub name: String,
    /// Grants revoked.
    pub grants: usize,
    /// Logout tokens queued for the app.
    pub logout_tokens: usize,
}

/// Takes back everything `account` gave `client` (see the module documentation), asked for
/// from `from`.
pub async fn revoke(
    ctx: &Context,
    account: AccountId,
    client: &ClientId,
    from: &ClientInfo,
) -> Result<Result<Revoked, RevokeRefused>, ServiceError> {
    take_back(ctx, account, client, from, false).await
}

/// [`revoke`] as an administrator does it: a first-party app's grants are taken back too
/// (there is no consent to delete; the person's next authorization of it asks nothing, as
/// before). Used by `admin::users` for "revoke one app" and "revoke every app".
pub async fn revoke_by_admin(
    ctx: &Context,
    account: AccountId,
    client: &ClientId,
    from: &ClientInfo,
) -> Result<Result<Revoked, RevokeRefused>, ServiceError> {
    take_back(ctx, account, client, from, true).await
}

async fn take_back(
    ctx: &Context,
    account: AccountId,
    client: &ClientId,
    from: &ClientInfo,
    first_party_too: bool,
) -> Result<Result<Revoked, RevokeRefused>, ServiceError> {
    let now = ctx.clock.now();
    let id = client.clone();
    let done = ctx
        .db
        .run(move |conn| {
            let Some(client) = check_revocable(conn, account, &id, first_party_too)? else {
                return Ok(Err(RevokeRefused::NotConnected));
            };
            let client = match client {
                Ok(client) => client,
                Err(refused) => return Ok(Err(refused)),
            };
            let sub = account::find_by_id(conn, account)?.map(|a| a.sub.to_string());
            let revoked = grant::take_back_from_client(conn, account, &id, now)?;
            Ok(match (revoked, sub) {
                (Some(grants), Some(sub)) => Ok((client, sub, grants)),
                _ => Err(RevokeRefused::NotConnected),
            })
        })
        .await?;
    let (client, sub, grants) = match done {
        Ok(done) => done,
        Err(refused) => return Ok(Err(refused)),
    };
    let logout_tokens = tell_app(ctx, &client, &sub, &grants.sids, now).await;
    tracing::info!(
        account_id = %account,
        client_id = %client.id,
        grants = grants.grants,
        logout_tokens,
        "connected app revoked"
    );
    let event = AuditEvent::new(AuditKind::ConsentRevoked, Outcome::Ok)
        .account(account)
        .client(&client.id)
        .from(from);
    ctx.audit.record(event).await;
    Ok(Ok(Revoked {
        name: client.name,
        grants: grants.grants,
        logout_tokens,
    }))
}

/// Step 1: the client exists, the account is connected to it (a row, a consent or a live
/// grant), and it is not first-party. `None`: not connected.
fn check_revocable(
    conn: &mut crate::db::DbConn,
    account: AccountId,
    id: &ClientId,
    first_party_too: bool,
) -> Result<Option<Result<Client, RevokeRefused>>, DbError> {
    let Some(client) = client::find(conn, id)? else {
        return Ok(None);
    };
    if !client.first_party || first_party_too {
        // Whether anything is there is decided by what the transaction finds to take back.
        return Ok(Some(Ok(client)));
    }
    Ok(connected_app::exists(conn, account, id)?.then_some(Err(RevokeRefused::FirstParty)))
}

/// Step 3: a logout token to the app for each session it took part in. The revocation stands
/// whatever happens here (the grants are gone); a failure to queue is logged.
async fn tell_app(
    ctx: &Context,
    client: &Client,
    sub: &str,
    sids: &[String],
    now: DateTime<Utc>,
) -> usize {
    let mut queued = 0;
    for sid in sids {
        match ctx
            .session
            .backchannel
            .queue(std::slice::from_ref(client), sid, sub, now)
            .await
        {
            Ok(n) => queued += n,
            Err(e) => {
                tracing::warn!(client_id = %client.id, error = %e, "logout token not queued after revocation");
            }
        }
    }
    queued
}
