//! The `clients` table: registered relying parties.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use url::Url;

use crate::{
    db::{DbConn, DbError, schema::clients},
    domain::{
        Acr, Actor, Algorithm, ClientAuth, ClientId, GrantType, RedirectUri, Scopes, SecretDigest,
    },
};

/// An administrator's consent on behalf of every user: who gave it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConsent {
    pub by: Actor,
    pub at: DateTime<Utc>,
}

/// A registered client, every column typed.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: ClientId,
    pub name: String,
    pub logo_url: Option<Url>,
    pub auth: ClientAuth,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    pub backchannel_logout_uri: Option<Url>,
    pub scopes: Scopes,
    pub grant_types: Vec<GrantType>,
    /// Consent given by an administrator on behalf of every user: no consent screen.
    pub first_party: bool,
    /// Who made it first-party, and when; `None` when it is not first-party, or was made so
    /// before the record was kept.
    pub admin_consent: Option<AdminConsent>,
    /// When an administrator disabled it: its token requests are refused and its
    /// authorizations show a page. `None`: enabled.
    pub disabled_at: Option<DateTime<Utc>>,
    /// `id_token_signed_response_alg` (OIDC Dynamic Client Registration §2).
    pub id_token_alg: Algorithm,
    /// What its JWT access tokens are signed with; `None`: the server's default
    /// (`oauth.access_token_alg`).
    pub access_token_alg: Option<Algorithm>,
    /// The weakest sign-in an administrator lets this app accept; `None`: any. A sign-in
    /// weaker than this is stepped up before a code is issued (see `oauth::authorize`).
    pub min_acr: Option<Acr>,
    pub created_at: DateTime<Utc>,
}

impl Client {
    /// Tests' starting point: a public client with no URIs, `openid` only, no grant types, not
    /// first-party, enabled, RS256 ID tokens, every optional setting unset. Fixtures override
    /// what they are about (`Client { name, .., ..Client::example(now) }`).
    #[cfg(test)]
    pub(crate) fn example(now: DateTime<Utc>) -> Self {
        Self {
            id: ClientId::generate(),
            name: "Example".into(),
            logo_url: None,
            auth: ClientAuth::None,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            backchannel_logout_uri: None,
            scopes: Scopes::parse_lenient("openid"),
            grant_types: Vec::new(),
            first_party: false,
            admin_consent: None,
            disabled_at: None,
            id_token_alg: Algorithm::Rs256,
            access_token_alg: None,
            min_acr: None,
            created_at: now,
        }
    }

    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// The registered redirect URI that `requested` names, if any.
    pub fn redirect_uri(&self, requested: &str) -> Option<&RedirectUri> {
        self.redirect_uris.iter().find(|r| r.matches(requested))
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = clients)]
struct ClientRow {
    client_id: String,
    name: String,
    logo_url: Option<String>,
    secret_sha256: Option<String>,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    backchannel_logout_uri: Option<String>,
    scopes: String,
    grant_types: String,
    token_endpoint_auth_method: String,
    first_party: bool,
    id_token_signed_response_alg: String,
    created_at: NaiveDateTime,
    #[expect(
        dead_code,
        reason = "selected so the row mirrors the table; nothing reads it yet"
    )]
    updated_at: NaiveDateTime,
    disabled_at: Option<NaiveDateTime>,
    first_party_by: Option<String>,
    first_party_at: Option<NaiveDateTime>,
    access_token_signed_response_alg: Option<String>,
    min_acr: Option<String>,
}

/// Every column, `None` written as NULL (a cleared logo, an enabled client, consent taken back).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = clients, treat_none_as_null = true)]
struct ClientWrite {
    client_id: String,
    name: String,
    logo_url: Option<String>,
    secret_sha256: Option<String>,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    backchannel_logout_uri: Option<String>,
    scopes: String,
    grant_types: String,
    token_endpoint_auth_method: String,
    first_party: bool,
    id_token_signed_response_alg: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    disabled_at: Option<NaiveDateTime>,
    first_party_by: Option<String>,
    first_party_at: Option<NaiveDateTime>,
    access_token_signed_response_alg: Option<String>,
    min_acr: Option<String>,
}

fn corrupt(id: &str, what: &str) -> DbError {
    DbError::Query(diesel::result::Error::DeserializationError(
        format!("client {id}: bad {what}").into(),
    ))
}

impl TryFrom<ClientRow> for Client {
    type Error = DbError;

    fn try_from(row: ClientRow) -> Result<Self, DbError> {
        let id = row.client_id.clone();
        let uris = |json: &str, what| {
            serde_json::from_str::<Vec<RedirectUri>>(json).map_err(|_| corrupt(&id, what))
        };
        let digest = || {
            row.secret_sha256
                .as_deref()
                .and_then(SecretDigest::from_stored)
                .ok_or_else(|| corrupt(&id, "secret"))
        };
        let auth = match row.token_endpoint_auth_method.as_str() {
            "client_secret_basic" => ClientAuth::SecretBasic(digest()?),
            "client_secret_post" => ClientAuth::SecretPost(digest()?),
            "none" => ClientAuth::None,
            _ => return Err(corrupt(&id, "token_endpoint_auth_method")),
        };
        Ok(Self {
            redirect_uris: uris(&row.redirect_uris, "redirect_uris")?,
            post_logout_redirect_uris: uris(
                &row.post_logout_redirect_uris,
                "post_logout_redirect_uris",
            )?,
            logo_url: row
                .logo_url
                .as_deref()
                .map(Url::parse)
                .transpose()
                .map_err(|_| corrupt(&id, "logo_url"))?,
            backchannel_logout_uri: row
                .backchannel_logout_uri
                .as_deref()
                .map(Url::parse)
                .transpose()
                .map_err(|_| corrupt(&id, "backchannel_logout_uri"))?,
            scopes: Scopes::parse_strict(&row.scopes).map_err(|_| corrupt(&id, "scopes"))?,
            grant_types: row
                .grant_types
                .split_ascii_whitespace()
                .map(|g| GrantType::parse(g).ok_or_else(|| corrupt(&id, "grant_types")))
                .collect::<Result<_, _>>()?,
            auth,
            id: ClientId::parse(&row.client_id).ok_or_else(|| corrupt(&id, "client_id"))?,
            name: row.name,
            admin_consent: match (row.first_party, row.first_party_by, row.first_party_at) {
                (true, Some(by), Some(at)) => Some(AdminConsent {
                    by: Actor::from_stored(&by).ok_or_else(|| corrupt(&id, "first_party_by"))?,
                    at: at.and_utc(),
                }),
                _ => None,
            },
            first_party: row.first_party,
            disabled_at: row.disabled_at.map(|t| t.and_utc()),
            id_token_alg: Algorithm::parse(&row.id_token_signed_response_alg)
                .map_err(|_| corrupt(&id, "id_token_signed_response_alg"))?,
            access_token_alg: row
                .access_token_signed_response_alg
                .as_deref()
                .map(Algorithm::parse)
                .transpose()
                .map_err(|_| corrupt(&id, "access_token_signed_response_alg"))?,
            min_acr: row
                .min_acr
                .as_deref()
                .map(Acr::parse)
                .transpose()
                .map_err(|_| corrupt(&id, "min_acr"))?,
            created_at: row.created_at.and_utc(),
        })
    }
}

impl ClientWrite {
    fn from_client(client: &Client, now: DateTime<Utc>) -> Self {
        let json = |uris: &[RedirectUri]| serde_json::to_string(uris).expect("strings serialise");
        Self {
            client_id: client.id.to_string(),
            name: client.name.clone(),
            logo_url: client.logo_url.as_ref().map(Url::to_string),
            secret_sha256: client.auth.digest().map(SecretDigest::to_stored),
            redirect_uris: json(&client.redirect_uris),
            post_logout_redirect_uris: json(&client.post_logout_redirect_uris),
            backchannel_logout_uri: client.backchannel_logout_uri.as_ref().map(Url::to_string),
            scopes: client.scopes.to_string(),
            grant_types: client
                .grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            token_endpoint_auth_method: client.auth.method().to_owned(),
            first_party: client.first_party,
            id_token_signed_response_alg: client.id_token_alg.as_str().to_owned(),
            created_at: client.created_at.naive_utc(),
            updated_at: now.naive_utc(),
            disabled_at: client.disabled_at.map(|t| t.naive_utc()),
            first_party_by: client.admin_consent.as_ref().map(|c| c.by.to_stored()),
            first_party_at: client.admin_consent.as_ref().map(|c| c.at.naive_utc()),
            access_token_signed_response_alg: client
                .access_token_alg
                .map(|a| a.as_str().to_owned()),
            min_acr: client.min_acr.map(|a| a.as_str().to_owned()),
        }
    }
}

pub fn insert(conn: &mut DbConn, client: &Client) -> Result<(), DbError> {
    diesel::insert_into(clients::table)
        .values(ClientWrite::from_client(client, client.created_at))
        .execute(conn)?;
    Ok(())
}

/// Replaces every column of an existing client; false when there is no such client.
pub fn update(conn: &mut DbConn, client: &Client, now: DateTime<Utc>) -> Result<bool, DbError> {
    let changed = diesel::update(clients::table.find(client.id.as_str()))
        .set(ClientWrite::from_client(client, now))
        .execute(conn)?;
    Ok(changed == 1)
}

pub fn find(conn: &mut DbConn, id: &ClientId) -> Result<Option<Client>, DbError> {
    clients::table
        .find(id.as_str())
        .select(ClientRow::as_select())
        .get_result(conn)
        .optional()?
        .map(Client::try_from)
        .transpose()
}

/// Loads the client a request names by its raw `client_id`: one that does not parse is
/// registered nowhere, so it is simply not found. Every path that takes a client id from a
/// request or an operator goes through here.
pub fn find_by_raw_id(conn: &mut DbConn, raw: &str) -> Result<Option<Client>, DbError> {
    match ClientId::parse(raw) {
        Some(id) => find(conn, &id),
        None => Ok(None),
    }
}

pub fn list(conn: &mut DbConn) -> Result<Vec<Client>, DbError> {
    clients::table
        .order(clients::created_at.asc())
        .select(ClientRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Client::try_from)
        .collect()
}

/// False when there was no such client.
pub fn remove(conn: &mut DbConn, id: &ClientId) -> Result<bool, DbError> {
    Ok(diesel::delete(clients::table.find(id.as_str())).execute(conn)? == 1)
}

/// A page of clients by `client_id` after `after`, at most `limit`: those whose name starts
/// with `prefix` (a range on the `clients (name, client_id)` index), or the one whose id it is.
pub fn search(
    conn: &mut DbConn,
    prefix: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Client>, DbError> {
    let mut query = clients::table
        .select(ClientRow::as_select())
        .order(clients::client_id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(clients::client_id.gt(after.to_owned()));
    }
    if let Some(prefix) = prefix.filter(|p| !p.is_empty()) {
        // Every name that starts with `prefix` sorts from it up to it followed by the
        // greatest character.
        let upper = format!("{prefix}\u{10FFFF}");
        query = query.filter(
            clients::name
                .ge(prefix.to_owned())
                .and(clients::name.lt(upper))
                .or(clients::client_id.eq(prefix.to_owned())),
        );
    }
    query
        .load(conn)?
        .into_iter()
        .map(Client::try_from)
        .collect()
}
