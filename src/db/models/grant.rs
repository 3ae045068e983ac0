//! The `grants`, `refresh_tokens` and `consents` tables.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{
    pg::Pg,
    prelude::*,
    query_builder::{AstPass, QueryFragment},
    sql_types::{BigInt, Nullable, Text, Timestamp},
};

use crate::{
    db::{
        DbConn, DbError,
        models::{account, connected_app, session},
        purge::finished_ids,
        schema::{consents, grants, refresh_tokens},
    },
    domain::{AccountId, ClientId, ScopeToken, Scopes},
};

/// One authorization: the family every token issued from it belongs to.
#[derive(Debug, Clone)]
pub struct Grant {
    pub id: String,
    pub client_id: ClientId,
    /// `None` for client_credentials (no person involved).
    pub account_id: Option<AccountId>,
    pub scope: Scopes,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The OIDC session it was minted under; `None` for client_credentials.
    pub sid: Option<String>,
}

impl Grant {
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }

    /// The session this grant lives and dies with: its `sid`, unless the person asked for
    /// `offline_access`, which OIDC Core §11 defines as access that outlives the session.
    pub fn bound_session(&self) -> Option<&str> {
        if self.scope.contains(ScopeToken::OfflineAccess) {
            None
        } else {
            self.sid.as_deref()
        }
    }
}

/// Why a code or a grant that is neither revoked nor expired may give nothing more: the
/// sign-in it came from no longer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outlived {
    /// The OneID session it was bound to has ended (sign-out, expiry, operator, reset).
    SessionEnded,
    /// The account's password was replaced after the sign-in (or grant) it came from.
    PasswordChanged,
}

/// Whether the sign-in behind a code or grant still stands: the session `sid` (when the code
/// or grant is bound to one) has not ended, and the password has not changed after `since`
/// (the sign-in's `auth_time` for a code, the grant's creation for a refresh token).
pub fn outlived(
    conn: &mut DbConn,
    account: AccountId,
    sid: Option<&str>,
    since: DateTime<Utc>,
) -> Result<Option<Outlived>, DbError> {
    if let Some(sid) = sid
        && session::has_ended(conn, sid)?
    {
        return Ok(Some(Outlived::SessionEnded));
    }
    let changed = account::password_changed_at(conn, account)?;
    Ok(password_outlived(changed, since))
}

/// Strictly later: the reset flow signs the person in at the very moment it sets the
/// password, and that fresh sign-in must count.
fn password_outlived(changed: Option<DateTime<Utc>>, since: DateTime<Utc>) -> Option<Outlived> {
    changed
        .is_some_and(|changed| changed > since)
        .then_some(Outlived::PasswordChanged)
}

/// What redeeming an authorization code must know of the sign-in behind it, read in one round
/// trip with its account ([`code_standing`]): whether its session ended, when the password
/// last changed, and since when the account has used the client without a break (the
/// connected-app row's `first_used_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeStanding {
    session_ended: bool,
    password_changed_at: Option<DateTime<Utc>>,
    /// The connected-app row's `first_used_at`; `None` when the app is not connected.
    pub app_used_since: Option<DateTime<Utc>>,
}

impl CodeStanding {
    /// [`outlived`]'s answer for a sign-in at `since`, in the session this was read for.
    pub fn outlived(&self, since: DateTime<Utc>) -> Option<Outlived> {
        if self.session_ended {
            return Some(Outlived::SessionEnded);
        }
        password_outlived(self.password_changed_at, since)
    }
}

/// Reads `account` with the [`CodeStanding`] of its sign-in in session `sid`, for `client`:
/// one statement, the account's row left-joined to its session's and its connected app's by
/// their keys (a missing session or connected-app row reads as NULL, as the separate look-ups
/// read it as nothing). `None` when the account is gone. Joins rather than scalar subqueries,
/// which diesel writes with a bound `LIMIT` that makes SQLite compile the statement on every
/// run (see [`super`]). The code exchange takes the ID token's claims from this account, so
/// that redeeming a code reads the database once before it writes the grant.
pub fn code_standing(
    conn: &mut DbConn,
    account: AccountId,
    sid: &str,
    client: &ClientId,
) -> Result<Option<(account::Account, CodeStanding)>, DbError> {
    use crate::db::schema::{accounts, connected_apps, sessions};
    /// The account's row, its password's change, the session's end, the app's first use.
    type StandingRow = (
        account::AccountRow,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
    );
    let row: Option<StandingRow> = accounts::table
        // Owned binds: diesel's joins do not take a bind that borrows (its `ON` must be 'static).
        .left_join(sessions::table.on(sessions::sid.eq(sid.to_owned())))
        .left_join(
            connected_apps::table.on(connected_apps::account_id
                .eq(accounts::account_id)
                .and(connected_apps::client_id.eq(client.as_str().to_owned()))),
        )
        .filter(accounts::account_id.eq(account.get()))
        .select((
            account::AccountRow::as_select(),
            accounts::password_changed_at,
            sessions::ended_at.nullable(),
            connected_apps::first_used_at.nullable(),
        ))
        .get_result(conn)
        .optional()?;
    let Some((row, changed, ended, used)) = row else {
        return Ok(None);
    };
    let standing = CodeStanding {
        session_ended: ended.is_some(),
        password_changed_at: changed.map(|t| t.and_utc()),
        app_used_since: used.map(|t| t.and_utc()),
    };
    Ok(Some((account::Account::try_from(row)?, standing)))
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = grants)]
struct GrantRow {
    grant_id: String,
    client_id: String,
    account_id: Option<i64>,
    scope: String,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    revoked_at: Option<NaiveDateTime>,
    sid: Option<String>,
}

impl GrantRow {
    fn into_grant(self) -> Result<Grant, DbError> {
        let corrupt = || {
            DbError::Query(diesel::result::Error::DeserializationError(
                format!("grant {}", self.grant_id).into(),
            ))
        };
        Ok(Grant {
            client_id: ClientId::parse(&self.client_id).ok_or_else(corrupt)?,
            id: self.grant_id,
            account_id: self.account_id.map(AccountId::from_stored),
            scope: Scopes::parse_lenient(&self.scope),
            created_at: self.created_at.and_utc(),
            expires_at: self.expires_at.and_utc(),
            revoked_at: self.revoked_at.map(|t| t.and_utc()),
            sid: self.sid,
        })
    }
}

pub fn insert(conn: &mut DbConn, grant: &Grant) -> Result<(), DbError> {
    let row = GrantRow {
        grant_id: grant.id.clone(),
        client_id: grant.client_id.to_string(),
        account_id: grant.account_id.map(AccountId::get),
        scope: grant.scope.to_string(),
        created_at: grant.created_at.naive_utc(),
        expires_at: grant.expires_at.naive_utc(),
        revoked_at: None,
        sid: grant.sid.clone(),
    };
    diesel::insert_into(grants::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Writes `grant` and, when there is one, its first refresh token (the SHA-256 `refresh` of
/// it). On PostgreSQL the two rows are one statement ([`GrantWithRefreshToken`]): one round
/// trip and one commit, where two statements cost two of each on every code exchange. SQLite
/// runs in-process, where a statement is no round trip and a transaction measured no faster
/// than two autocommits (bench/RESULTS.md, the ninth run), so it takes them one by one; a grant
/// left without its refresh token there holds no token and is purged at its expiry.
pub fn insert_with_refresh_token(
    conn: &mut DbConn,
    grant: &Grant,
    refresh: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    match (conn, refresh) {
        (DbConn::Postgres(conn), Some(token_sha256)) => {
            GrantWithRefreshToken {
                grant,
                account_id: grant.account_id.map(AccountId::get),
                scope: grant.scope.to_string(),
                created_at: grant.created_at.naive_utc(),
                expires_at: grant.expires_at.naive_utc(),
                token_sha256,
                now: now.naive_utc(),
            }
            .execute(conn)?;
        }
        (conn, refresh) => {
            insert(conn, grant)?;
            if let Some(token_sha256) = refresh {
                insert_refresh_token(conn, token_sha256, &grant.id, now)?;
            }
        }
    }
    Ok(())
}

/// A grant and its first refresh token in one PostgreSQL statement: the grant's `INSERT` as a
/// data-modifying `WITH` (PostgreSQL docs, "Data-Modifying Statements in WITH"). The refresh
/// token's foreign key is checked at the end of the statement, when the grant's row is there.
/// A `fixed_statement`: each connection prepares it once.
struct GrantWithRefreshToken<'a> {
    grant: &'a Grant,
    account_id: Option<i64>,
    scope: String,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    token_sha256: &'a str,
    now: NaiveDateTime,
}

fixed_statement!(GrantWithRefreshToken);

impl QueryFragment<Pg> for GrantWithRefreshToken<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "WITH granted AS (INSERT INTO grants \
             (grant_id, client_id, account_id, scope, created_at, expires_at, sid) VALUES (",
        );
        out.push_bind_param::<Text, _>(&self.grant.id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(self.grant.client_id.as_str())?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<BigInt>, _>(&self.account_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.scope)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.created_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.expires_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&self.grant.sid)?;
        out.push_sql(")) INSERT INTO refresh_tokens (token_sha256, grant_id, created_at) VALUES (");
        out.push_bind_param::<Text, _>(self.token_sha256)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.grant.id)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(")");
        Ok(())
    }
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<Grant>, DbError> {
    grants::table
        .find(id)
        .select(GrantRow::as_select())
        .get_result(conn)
        .optional()?
        .map(GrantRow::into_grant)
        .transpose()
}

/// The newest live client-credentials grant (no account) of `client` for exactly `scope` that
/// stays unexpired until at least `until`: what a client-credentials token can join instead of
/// writing a grant of its own (see `oauth::grant::client_credentials::issue_tokens`).
pub fn live_service_grant(
    conn: &mut DbConn,
    client: &ClientId,
    scope: &Scopes,
    until: DateTime<Utc>,
) -> Result<Option<Grant>, DbError> {
    grants::table
        .filter(grants::client_id.eq(client.as_str()))
        .filter(grants::sid.is_null())
        .filter(grants::account_id.is_null())
        .filter(grants::scope.eq(scope.to_string()))
        .filter(grants::revoked_at.is_null())
        .filter(grants::expires_at.gt(until.naive_utc()))
        .order(grants::created_at.desc())
        .select(GrantRow::as_select())
        .first(conn)
        .optional()?
        .map(GrantRow::into_grant)
        .transpose()
}

/// Revokes one grant (and so every token issued from it). True when it was live.
pub fn revoke(conn: &mut DbConn, id: &str, now: DateTime<Utc>) -> Result<bool, DbError> {
    let changed = diesel::update(grants::table.find(id).filter(grants::revoked_at.is_null()))
        .set(grants::revoked_at.eq(now.naive_utc()))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Revokes every live grant of an account (sign-out everywhere, password reset).
pub fn revoke_all_for_account(
    conn: &mut DbConn,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<usize, DbError> {
    Ok(diesel::update(
        grants::table
            .filter(grants::account_id.eq(account.get()))
            .filter(grants::revoked_at.is_null()),
    )
    .set(grants::revoked_at.eq(now.naive_utc()))
    .execute(conn)?)
}

/// Revokes every live grant of an account except those made in the session `sid` (a password
/// changed while signed in: the other devices' grants go, this one's stay).
pub fn revoke_all_for_account_except_session(
    conn: &mut DbConn,
    account: AccountId,
    sid: &str,
    now: DateTime<Utc>,
) -> Result<usize, DbError> {
    Ok(diesel::update(
        grants::table
            .filter(grants::account_id.eq(account.get()))
            .filter(grants::revoked_at.is_null())
            .filter(grants::sid.is_null().or(grants::sid.ne(sid))),
    )
    .set(grants::revoked_at.eq(now.naive_utc()))
    .execute(conn)?)
}

pub fn insert_refresh_token(
    conn: &mut DbConn,
    token_sha256: &str,
    grant_id: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_sha256.eq(token_sha256),
            refresh_tokens::grant_id.eq(grant_id),
            refresh_tokens::created_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// What presenting a refresh token found.
#[derive(Debug)]
pub enum RefreshUse {
    /// First use: the token is now spent; here is its grant.
    Fresh(Grant),
    /// The token was already used once: someone is replaying it.
    Reused(Grant),
    Unknown,
}

/// Spends a refresh token: one conditional UPDATE, so of two concurrent uses exactly one wins.
pub fn use_refresh_token(
    conn: &mut DbConn,
    token_sha256: &str,
    now: DateTime<Utc>,
) -> Result<RefreshUse, DbError> {
    let spent = diesel::update(
        refresh_tokens::table
            .find(token_sha256)
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(now.naive_utc()))
    .execute(conn)?;
    let grant_id: Option<String> = refresh_tokens::table
        .find(token_sha256)
        .select(refresh_tokens::grant_id)
        .get_result(conn)
        .optional()?;
    let Some(grant) = grant_id.map(|id| find(conn, &id)).transpose()?.flatten() else {
        return Ok(RefreshUse::Unknown);
    };
    Ok(if spent == 1 {
        RefreshUse::Fresh(grant)
    } else {
        RefreshUse::Reused(grant)
    })
}

/// The grant a refresh token belongs to, without spending it (introspection, revocation).
pub fn grant_of_refresh_token(
    conn: &mut DbConn,
    token_sha256: &str,
) -> Result<Option<(Grant, bool)>, DbError> {
    let row: Option<(String, Option<NaiveDateTime>)> = refresh_tokens::table
        .find(token_sha256)
        .select((refresh_tokens::grant_id, refresh_tokens::used_at))
        .get_result(conn)
        .optional()?;
    let Some((grant_id, used_at)) = row else {
        return Ok(None);
    };
    Ok(find(conn, &grant_id)?.map(|g| (g, used_at.is_some())))
}

/// The scopes an account has consented to for a client.
pub fn consent(
    conn: &mut DbConn,
    account: AccountId,
    client: &ClientId,
) -> Result<Option<Scopes>, DbError> {
    let scope: Option<String> = consents::table
        .find((account.get(), client.as_str()))
        .select(consents::scope)
        .get_result(conn)
        .optional()?;
    Ok(scope.map(|s| Scopes::parse_lenient(&s)))
}

/// Forgets every consent the account gave (its deletion): each app would ask again.
pub fn delete_consents_of(conn: &mut DbConn, account: AccountId) -> Result<usize, DbError> {
    Ok(
        diesel::delete(consents::table.filter(consents::account_id.eq(account.get())))
            .execute(conn)?,
    )
}

/// Records consent to `scope` (replacing earlier consent), in one transaction.
pub fn save_consent(
    conn: &mut DbConn,
    account: AccountId,
    client: &ClientId,
    scope: &Scopes,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    conn.write_transaction(|conn| {
        diesel::delete(consents::table.find((account.get(), client.as_str()))).execute(conn)?;
        diesel::insert_into(consents::table)
            .values((
                consents::account_id.eq(account.get()),
                consents::client_id.eq(client.as_str()),
                consents::scope.eq(scope.to_string()),
                consents::granted_at.eq(now.naive_utc()),
            ))
            .execute(conn)?;
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(())
}

/// Forgets the consent an account gave a client. True when there was one.
pub fn delete_consent(
    conn: &mut DbConn,
    account: AccountId,
    client: &ClientId,
) -> Result<bool, DbError> {
    Ok(diesel::delete(consents::table.find((account.get(), client.as_str()))).execute(conn)? == 1)
}

/// Every consent an account has given: the client and the scopes.
pub fn consents_of(conn: &mut DbConn, account: AccountId) -> Result<Vec<Consent>, DbError> {
    let rows: Vec<(String, String, NaiveDateTime)> = consents::table
        .filter(consents::account_id.eq(account.get()))
        .select((consents::client_id, consents::scope, consents::granted_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(client, scope, granted_at)| {
            Some(Consent {
                client_id: ClientId::parse(&client)?,
                scope: Scopes::parse_lenient(&scope),
                granted_at: granted_at.and_utc(),
            })
        })
        .collect())
}

/// A consent row: what an account allowed a client, and when.
#[derive(Debug, Clone)]
pub struct Consent {
    pub client_id: ClientId,
    pub scope: Scopes,
    pub granted_at: DateTime<Utc>,
}

/// What an account's grants to one client hold now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holding {
    /// The scopes of its live grants, together.
    pub scope: Scopes,
    /// A live grant has a refresh token not yet spent: the app can act when the person is away.
    pub offline: bool,
}

/// The live grants of `account` to each client, with whether any holds an unspent refresh
/// token, keyed by client id.
pub fn holdings_of(
    conn: &mut DbConn,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<std::collections::BTreeMap<String, Holding>, DbError> {
    let live: Vec<(String, String, String)> = grants::table
        .filter(grants::account_id.eq(account.get()))
        .filter(grants::revoked_at.is_null())
        .filter(grants::expires_at.gt(now.naive_utc()))
        .select((grants::grant_id, grants::client_id, grants::scope))
        .load(conn)?;
    let ids: Vec<&str> = live.iter().map(|(id, ..)| id.as_str()).collect();
    let with_refresh: std::collections::BTreeSet<String> = refresh_tokens::table
        .filter(refresh_tokens::grant_id.eq_any(&ids))
        .filter(refresh_tokens::used_at.is_null())
        .select(refresh_tokens::grant_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let mut held: std::collections::BTreeMap<String, Holding> = Default::default();
    for (id, client, scope) in live {
        let holding = held.entry(client).or_default();
        holding.scope = holding.scope.union(&Scopes::parse_lenient(&scope));
        holding.offline |= with_refresh.contains(&id);
    }
    Ok(held)
}

/// What [`revoke_for_client`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevokedForClient {
    /// How many grants it revoked.
    pub grants: usize,
    /// The OIDC sessions the unexpired ones were minted under, each once: the app is told of
    /// them (back-channel logout).
    pub sids: Vec<String>,
}

/// Revokes every grant of `account` to `client` not revoked yet (and so every token issued
/// from them, refresh tokens included).
pub fn revoke_for_client(
    conn: &mut DbConn,
    account: AccountId,
    client: &ClientId,
    now: DateTime<Utc>,
) -> Result<RevokedForClient, DbError> {
    let of_pair = grants::table
        .filter(grants::account_id.eq(account.get()))
        .filter(grants::client_id.eq(client.as_str()))
        .filter(grants::revoked_at.is_null());
    let mut sids: Vec<String> = of_pair
        .filter(grants::expires_at.gt(now.naive_utc()))
        .select(grants::sid)
        .load::<Option<String>>(conn)?
        .into_iter()
        .flatten()
        .collect();
    sids.sort();
    sids.dedup();
    let grants = diesel::update(of_pair)
        .set(grants::revoked_at.eq(now.naive_utc()))
        .execute(conn)?;
    Ok(RevokedForClient { grants, sids })
}

/// Takes back everything `account` gave `client`, in one transaction: the consent (the next
/// authorization asks again), every grant (and its tokens), and the connected-app row. `None`
/// when there was nothing to take back (nothing changed).
pub fn take_back_from_client(
    conn: &mut DbConn,
    account: AccountId,
    client: &ClientId,
    now: DateTime<Utc>,
) -> Result<Option<RevokedForClient>, DbError> {
    conn.write_transaction(|conn| {
        let consent = delete_consent(conn, account, client)?;
        let revoked = revoke_for_client(conn, account, client, now)?;
        let row = connected_app::delete(conn, account, client)?;
        Ok((consent || row || revoked.grants > 0).then_some(revoked))
    })
}

/// The live grants minted under an OIDC session.
pub fn live_for_session(
    conn: &mut DbConn,
    sid: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Grant>, DbError> {
    grants::table
        .filter(grants::sid.eq(sid))
        .filter(grants::revoked_at.is_null())
        .filter(grants::expires_at.gt(now.naive_utc()))
        .select(GrantRow::as_select())
        .load(conn)?
        .into_iter()
        .map(GrantRow::into_grant)
        .collect()
}

/// Deletes up to `batch` grants that expired or were revoked before `cutoff`, with their refresh
/// tokens (first, so no token is left pointing at nothing); returns how many grants went. The
/// purge calls it until it returns less than `batch`, so each statement stays short.
pub fn purge_finished(
    conn: &mut DbConn,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> Result<usize, DbError> {
    let cutoff = cutoff.naive_utc();
    let ids = finished_ids(
        conn,
        batch,
        |conn, limit| {
            Ok(grants::table
                .filter(grants::expires_at.lt(cutoff))
                .select(grants::grant_id)
                .limit(limit)
                .load(conn)?)
        },
        |conn, limit| {
            Ok(grants::table
                .filter(grants::revoked_at.lt(cutoff))
                .filter(grants::expires_at.ge(cutoff))
                .select(grants::grant_id)
                .limit(limit)
                .load(conn)?)
        },
    )?;
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::delete(refresh_tokens::table.filter(refresh_tokens::grant_id.eq_any(&ids)))
        .execute(conn)?;
    Ok(diesel::delete(grants::table.filter(grants::grant_id.eq_any(&ids))).execute(conn)?)
}

/// How many grants and refresh tokens are stored; for tests and operators.
pub fn counts(conn: &mut DbConn) -> Result<(i64, i64), DbError> {
    Ok((
        grants::table.count().get_result(conn)?,
        refresh_tokens::table.count().get_result(conn)?,
    ))
}

/// How many people consented to `client` (by the `consents (client_id)` index).
pub fn count_consents_for_client(conn: &mut DbConn, client: &ClientId) -> Result<i64, DbError> {
    Ok(consents::table
        .filter(consents::client_id.eq(client.as_str()))
        .count()
        .get_result(conn)?)
}

/// The sessions in which `client` holds live grants for people, each as (the person's `sub`,
/// the session's `sid`), once: whom the app is told of when everyone's access to it is taken
/// back (Back-Channel Logout 1.0 §2.1). Read before the grants are revoked.
pub fn live_sessions_of_client(
    conn: &mut DbConn,
    client: &ClientId,
    now: DateTime<Utc>,
) -> Result<Vec<(String, String)>, DbError> {
    let mut pairs: Vec<(i64, String)> = grants::table
        .filter(grants::client_id.eq(client.as_str()))
        .filter(grants::revoked_at.is_null())
        .filter(grants::expires_at.gt(now.naive_utc()))
        .filter(grants::account_id.is_not_null())
        .select((
            grants::account_id.assume_not_null(),
            grants::sid.assume_not_null(),
        ))
        .filter(grants::sid.is_not_null())
        .load(conn)?;
    pairs.sort();
    pairs.dedup();
    let mut ids: Vec<i64> = pairs.iter().map(|(a, _)| *a).collect();
    ids.dedup();
    let mut subs = std::collections::HashMap::new();
    // In chunks, well under either backend's limit on bound parameters.
    for chunk in ids.chunks(500) {
        let found: Vec<(i64, String)> = crate::db::schema::accounts::table
            .filter(crate::db::schema::accounts::account_id.eq_any(chunk))
            .select((
                crate::db::schema::accounts::account_id,
                crate::db::schema::accounts::sub,
            ))
            .load(conn)?;
        subs.extend(found);
    }
    Ok(pairs
        .into_iter()
        .filter_map(|(account, sid)| subs.get(&account).map(|sub| (sub.clone(), sid)))
        .collect())
}

/// What taking back everyone's access to one client did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TakenBackFromAll {
    pub consents: usize,
    pub grants: usize,
    pub connected: usize,
}

/// Takes back everything every account gave `client`, in one transaction of three statements
/// (by the `consents (client_id)`, `grants (client_id, sid)` and `connected_apps (client_id)`
/// indexes): every consent (each person is asked again), every grant not revoked yet (its
/// access tokens and refresh tokens stop working), every connected-app row. The bulk form of
/// [`take_back_from_client`].
pub fn take_back_from_all(
    conn: &mut DbConn,
    client: &ClientId,
    now: DateTime<Utc>,
) -> Result<TakenBackFromAll, DbError> {
    conn.write_transaction(|conn| {
        let consents =
            diesel::delete(consents::table.filter(consents::client_id.eq(client.as_str())))
                .execute(conn)?;
        let grants = diesel::update(
            grants::table
                .filter(grants::client_id.eq(client.as_str()))
                .filter(grants::revoked_at.is_null()),
        )
        .set(grants::revoked_at.eq(now.naive_utc()))
        .execute(conn)?;
        let connected = connected_app::delete_for_client(conn, client)?;
        Ok(TakenBackFromAll {
            consents,
            grants,
            connected,
        })
    })
}
