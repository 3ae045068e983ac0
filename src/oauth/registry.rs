//! Registering and managing clients: the rules a registration must follow.

use chrono::{DateTime, Utc};
use url::Url;

use crate::{
    db::{
        Db, DbError,
        models::client::{self, Client},
    },
    domain::{
        Algorithm, ClientAuth, ClientId, ClientSecret, GrantType, RedirectUri, RedirectUriError,
        ScopeToken, Scopes, UnknownScope,
    },
};

/// What an administrator asks for.
#[derive(Debug, Clone)]
pub struct Registration {
    pub name: String,
    pub logo_url: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub public: bool,
    /// `client_secret_basic` (default) or `client_secret_post`; ignored for public clients.
    pub secret_post: bool,
    pub first_party: bool,
    /// Space-separated; default: every scope OneID supports.
    pub scopes: Option<String>,
    /// Besides `authorization_code` and `refresh_token`, which every client gets.
    pub client_credentials: bool,
    pub id_token_alg: Option<String>,
    /// What its JWT access tokens are signed with; `None`: the server's `oauth.access_token_alg`.
    pub access_token_alg: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("the name must be 1 to 100 characters")]
    Name,
    #[error(
        "at least one redirect URI is required (a client without one may only use client_credentials)"
    )]
    NoRedirectUri,
    #[error("the admin scope is only for a confidential client using client_credentials")]
    AdminScope,
    #[error("redirect URI `{uri}`: {reason}")]
    RedirectUri {
        uri: String,
        reason: RedirectUriError,
    },
    #[error("{field} `{uri}` must be an absolute https URL (http only for loopback hosts)")]
    Url { field: &'static str, uri: String },
    #[error(transparent)]
    Scope(#[from] UnknownScope),
    #[error("a client without the `openid` scope cannot sign people in")]
    NoOpenId,
    #[error("a client needs at least one scope")]
    NoScope,
    #[error("a public client cannot use client_credentials: it has no secret to authenticate with")]
    PublicClientCredentials,
    #[error("id_token_signed_response_alg must be RS256, ES256 or EdDSA")]
    Alg,
    #[error("at most 20 redirect URIs (and 20 post-logout redirect URIs)")]
    TooManyUris,
    #[error("no such client")]
    NotFound,
    #[error("a public client has no secret to rotate")]
    Public,
    #[error(transparent)]
    Db(#[from] DbError),
}

fn parse_uris(uris: &[String]) -> Result<Vec<RedirectUri>, RegistrationError> {
    uris.iter()
        .map(|u| {
            RedirectUri::parse(u).map_err(|reason| RegistrationError::RedirectUri {
                uri: u.clone(),
                reason,
            })
        })
        .collect()
}

/// The same rules as redirect URIs: https, or http to a loopback host.
fn parse_url(field: &'static str, uri: &str) -> Result<Url, RegistrationError> {
    RedirectUri::parse(uri)
        .ok()
        .and_then(|_| Url::parse(uri).ok())
        .ok_or_else(|| RegistrationError::Url {
            field,
            uri: uri.to_owned(),
        })
}

/// The most redirect (or post-logout) URIs a client may register.
pub const MAX_URIS: usize = 20;

/// The name people see: 1 to 100 characters, trimmed.
pub fn check_name(name: &str) -> Result<String, RegistrationError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(RegistrationError::Name);
    }
    Ok(name.to_owned())
}

/// A list of redirect URIs, each by [`RedirectUri::parse`], at most [`MAX_URIS`].
pub fn check_uris(uris: &[String]) -> Result<Vec<RedirectUri>, RegistrationError> {
    if uris.len() > MAX_URIS {
        return Err(RegistrationError::TooManyUris);
    }
    parse_uris(uris)
}

/// The logo URL: an absolute https URL.
pub fn check_logo_url(uri: Option<&str>) -> Result<Option<Url>, RegistrationError> {
    uri.map(|u| parse_url("logo URL", u)).transpose()
}

/// The back-channel logout URI: an absolute https URL.
pub fn check_backchannel_logout_uri(uri: Option<&str>) -> Result<Option<Url>, RegistrationError> {
    uri.map(|u| parse_url("back-channel logout URI", u))
        .transpose()
}

/// `id_token_signed_response_alg`: RS256 (the default), ES256 or EdDSA.
pub fn check_alg(alg: Option<&str>) -> Result<Algorithm, RegistrationError> {
    Algorithm::parse(alg.unwrap_or("RS256")).map_err(|_| RegistrationError::Alg)
}

/// The access-token algorithm, when the client chooses one (RFC 9068 §2.1: any asymmetric
/// algorithm the server signs with); none or empty: the server's default.
pub fn check_access_token_alg(alg: Option<&str>) -> Result<Option<Algorithm>, RegistrationError> {
    alg.filter(|a| !a.is_empty())
        .map(|a| Algorithm::parse(a).map_err(|_| RegistrationError::Alg))
        .transpose()
}

/// The rules that tie the fields together: a client signs people in (it has redirect URIs,
/// then it needs `openid`) or is a service using client_credentials; only a confidential
/// client may use client_credentials, and only such a client may hold `admin`. Returns the
/// grant types that follow.
pub fn check_shape(
    signs_people_in: bool,
    public: bool,
    client_credentials: bool,
    scopes: &Scopes,
) -> Result<Vec<GrantType>, RegistrationError> {
    if !signs_people_in && !client_credentials {
        return Err(RegistrationError::NoRedirectUri);
    }
    if public && client_credentials {
        return Err(RegistrationError::PublicClientCredentials);
    }
    if signs_people_in && !scopes.contains(ScopeToken::OpenId) {
        return Err(RegistrationError::NoOpenId);
    }
    if scopes.contains(ScopeToken::Admin) && !client_credentials {
        return Err(RegistrationError::AdminScope);
    }
    if scopes.is_empty() {
        return Err(RegistrationError::NoScope);
    }
    let mut grant_types = if signs_people_in {
        vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
    } else {
        Vec::new()
    };
    if client_credentials {
        grant_types.push(GrantType::ClientCredentials);
    }
    Ok(grant_types)
}

/// Validates a registration into a client and, for a confidential one, its new secret.
pub fn build(
    registration: Registration,
    now: DateTime<Utc>,
) -> Result<(Client, Option<ClientSecret>), RegistrationError> {
    let name = check_name(&registration.name)?;
    // A client with redirect URIs signs people in; one without is a service acting for itself
    // (client credentials only), such as a script using the admin API.
    let signs_people_in = !registration.redirect_uris.is_empty();
    if !signs_people_in && !registration.client_credentials {
        return Err(RegistrationError::NoRedirectUri);
    }
    let scopes = match &registration.scopes {
        Some(s) => Scopes::parse_strict(s)?,
        None if signs_people_in => ScopeToken::ALL.into_iter().collect(),
        None => Scopes::default(),
    };
    let grant_types = check_shape(
        signs_people_in,
        registration.public,
        registration.client_credentials,
        &scopes,
    )?;
    let id_token_alg = check_alg(registration.id_token_alg.as_deref())?;
    let access_token_alg = check_access_token_alg(registration.access_token_alg.as_deref())?;
    let secret = (!registration.public).then(ClientSecret::generate);
    let auth = match &secret {
        None => ClientAuth::None,
        Some(s) if registration.secret_post => ClientAuth::SecretPost(s.digest()),
        Some(s) => ClientAuth::SecretBasic(s.digest()),
    };
    let client = Client {
        id: ClientId::generate(),
        name,
        logo_url: check_logo_url(registration.logo_url.as_deref())?,
        auth,
        redirect_uris: check_uris(&registration.redirect_uris)?,
        post_logout_redirect_uris: check_uris(&registration.post_logout_redirect_uris)?,
        backchannel_logout_uri: check_backchannel_logout_uri(
            registration.backchannel_logout_uri.as_deref(),
        )?,
        scopes,
        grant_types,
        first_party: registration.first_party,
        // Who consented is known to the caller (see `admin::clients::add`).
        admin_consent: None,
        disabled_at: None,
        id_token_alg,
        access_token_alg,
        // Set by its own operation (see `admin::clients::set_min_acr`).
        min_acr: None,
        created_at: now,
    };
    Ok((client, secret))
}

/// What an edit changes; `None` keeps a field as it is (`Some(None)` clears an optional one).
/// The secret, the authentication method and first-party status are changed by their own
/// operations.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub name: Option<String>,
    pub logo_url: Option<Option<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub backchannel_logout_uri: Option<Option<String>>,
    /// Space-separated.
    pub scopes: Option<String>,
    pub client_credentials: Option<bool>,
    pub id_token_alg: Option<String>,
    /// `Some(None)` (or empty): back to the server's default.
    pub access_token_alg: Option<Option<String>>,
}

/// The client with `changes` made, by the same rules as [`build`]; the first broken rule
/// refuses the whole edit.
pub fn apply(client: &Client, changes: Changes) -> Result<Client, RegistrationError> {
    let mut edited = client.clone();
    if let Some(name) = &changes.name {
        edited.name = check_name(name)?;
    }
    if let Some(logo) = &changes.logo_url {
        edited.logo_url = check_logo_url(logo.as_deref().filter(|u| !u.is_empty()))?;
    }
    if let Some(uris) = &changes.redirect_uris {
        edited.redirect_uris = check_uris(uris)?;
    }
    if let Some(uris) = &changes.post_logout_redirect_uris {
        edited.post_logout_redirect_uris = check_uris(uris)?;
    }
    if let Some(uri) = &changes.backchannel_logout_uri {
        edited.backchannel_logout_uri =
            check_backchannel_logout_uri(uri.as_deref().filter(|u| !u.is_empty()))?;
    }
    if let Some(scopes) = &changes.scopes {
        edited.scopes = Scopes::parse_strict(scopes)?;
    }
    if let Some(alg) = &changes.id_token_alg {
        edited.id_token_alg = check_alg(Some(alg))?;
    }
    if let Some(alg) = &changes.access_token_alg {
        edited.access_token_alg = check_access_token_alg(alg.as_deref())?;
    }
    let client_credentials = changes
        .client_credentials
        .unwrap_or_else(|| client.allows_grant(GrantType::ClientCredentials));
    edited.grant_types = check_shape(
        !edited.redirect_uris.is_empty(),
        edited.auth.is_public(),
        client_credentials,
        &edited.scopes,
    )?;
    Ok(edited)
}

/// Registers a client; the secret (none for a public client) is returned once and never stored.
pub async fn register(
    db: &Db,
    registration: Registration,
    now: DateTime<Utc>,
) -> Result<(Client, Option<ClientSecret>), RegistrationError> {
    let (client, secret) = build(registration, now)?;
    let stored = client.clone();
    db.run(move |conn| client::insert(conn, &stored)).await?;
    Ok((client, secret))
}

/// Replaces a confidential client's secret; the old one stops working at once.
pub async fn rotate_secret(
    db: &Db,
    id: ClientId,
    now: DateTime<Utc>,
) -> Result<ClientSecret, RegistrationError> {
    let mut found = db
        .run(move |conn| client::find(conn, &id))
        .await?
        .ok_or(RegistrationError::NotFound)?;
    let secret = ClientSecret::generate();
    found.auth = match found.auth {
        ClientAuth::SecretBasic(_) => ClientAuth::SecretBasic(secret.digest()),
        ClientAuth::SecretPost(_) => ClientAuth::SecretPost(secret.digest()),
        ClientAuth::None => return Err(RegistrationError::Public),
    };
    db.run(move |conn| client::update(conn, &found, now))
        .await?;
    Ok(secret)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn registration() -> Registration {
        Registration {
            name: "Cloud".into(),
            logo_url: None,
            redirect_uris: vec!["https://cloud.example.com/callback".into()],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            public: false,
            secret_post: false,
            first_party: true,
            scopes: None,
            client_credentials: false,
            id_token_alg: None,
            access_token_alg: None,
        }
    }

    #[test]
    fn confidential_clients_get_a_secret_and_public_ones_none() {
        let (client, secret) = build(registration(), Utc::now()).unwrap();
        assert!(
            client
                .auth
                .digest()
                .unwrap()
                .verify(secret.unwrap().expose())
        );
        assert_eq!(client.auth.method(), "client_secret_basic");
        assert_eq!(
            client.scopes.to_string(),
            "openid profile email phone offline_access"
        );

        let (public, secret) = build(
            Registration {
                public: true,
                ..registration()
            },
            Utc::now(),
        )
        .unwrap();
        assert!(secret.is_none() && public.auth.is_public());
    }

    #[test]
    fn a_client_without_redirect_uris_is_a_service_that_may_hold_the_admin_scope() {
        let (service, secret) = build(
            Registration {
                redirect_uris: vec![],
                client_credentials: true,
                scopes: Some("admin".into()),
                ..registration()
            },
            Utc::now(),
        )
        .unwrap();
        assert!(secret.is_some());
        assert_eq!(service.grant_types, [GrantType::ClientCredentials]);
        assert_eq!(service.scopes.to_string(), "admin");
    }

    #[test]
    fn registrations_that_break_the_rules_are_refused() {
        let refused = |r: Registration| build(r, Utc::now()).unwrap_err().to_string();
        assert!(
            refused(Registration {
                redirect_uris: vec![],
                ..registration()
            })
            .contains("redirect URI")
        );
        assert!(
            refused(Registration {
                redirect_uris: vec!["http://cloud.example.com/cb".into()],
                ..registration()
            })
            .contains("https is required")
        );
        assert!(
            refused(Registration {
                scopes: Some("openid admin".into()),
                ..registration()
            })
            .contains("admin")
        );
        assert!(
            refused(Registration {
                redirect_uris: vec![],
                client_credentials: true,
                ..registration()
            })
            .contains("at least one scope")
        );
        assert!(
            refused(Registration {
                scopes: Some("profile".into()),
                ..registration()
            })
            .contains("openid")
        );
        assert!(
            refused(Registration {
                public: true,
                client_credentials: true,
                ..registration()
            })
            .contains("public client")
        );
        assert!(
            refused(Registration {
                backchannel_logout_uri: Some("http://talk.example.com/bcl".into()),
                ..registration()
            })
            .contains("back-channel")
        );
        assert!(
            refused(Registration {
                id_token_alg: Some("HS256".into()),
                ..registration()
            })
            .contains("RS256")
        );
        assert!(
            refused(Registration {
                access_token_alg: Some("none".into()),
                ..registration()
            })
            .contains("RS256")
        );
    }

    #[test]
    fn the_access_token_algorithm_is_the_clients_or_the_servers() {
        let (default, _) = build(registration(), Utc::now()).unwrap();
        assert_eq!(default.access_token_alg, None);
        let rs256 = Registration {
            access_token_alg: Some("RS256".into()),
            ..registration()
        };
        let (chosen, _) = build(rs256, Utc::now()).unwrap();
        assert_eq!(chosen.access_token_alg, Some(Algorithm::Rs256));
        let back = Changes {
            access_token_alg: Some(Some(String::new())),
            ..Changes::default()
        };
        assert_eq!(apply(&chosen, back).unwrap().access_token_alg, None);
        let eddsa = Changes {
            access_token_alg: Some(Some("EdDSA".into())),
            ..Changes::default()
        };
        assert_eq!(
            apply(&default, eddsa).unwrap().access_token_alg,
            Some(Algorithm::EdDsa)
        );
    }

    #[test]
    fn an_edit_follows_the_rules_of_registration_and_changes_only_what_it_names() {
        let (client, _) = build(registration(), Utc::now()).unwrap();
        let renamed = apply(
            &client,
            Changes {
                name: Some("  Cloud Web ".into()),
                ..Changes::default()
            },
        )
        .unwrap();
        assert_eq!(renamed.name, "Cloud Web");
        assert_eq!(renamed.redirect_uris, client.redirect_uris);
        assert_eq!(renamed.grant_types, client.grant_types);

        let refused = |changes: Changes| apply(&client, changes).unwrap_err().to_string();
        assert!(
            refused(Changes {
                redirect_uris: Some(vec![]),
                ..Changes::default()
            })
            .contains("redirect URI")
        );
        assert!(
            refused(Changes {
                scopes: Some("profile".into()),
                ..Changes::default()
            })
            .contains("openid")
        );
        assert!(
            refused(Changes {
                redirect_uris: Some(vec!["https://a.example.com/cb".into(); MAX_URIS + 1]),
                ..Changes::default()
            })
            .contains("at most 20")
        );
        let (public, _) = build(
            Registration {
                public: true,
                ..registration()
            },
            Utc::now(),
        )
        .unwrap();
        assert!(matches!(
            apply(
                &public,
                Changes {
                    client_credentials: Some(true),
                    ..Changes::default()
                }
            ),
            Err(RegistrationError::PublicClientCredentials)
        ));
        // A service: no redirect URIs, client credentials only.
        let service = apply(
            &client,
            Changes {
                redirect_uris: Some(vec![]),
                client_credentials: Some(true),
                scopes: Some("admin".into()),
                ..Changes::default()
            },
        )
        .unwrap();
        assert_eq!(service.grant_types, [GrantType::ClientCredentials]);
    }
}
