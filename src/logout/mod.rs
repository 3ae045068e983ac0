//! OpenID Connect Back-Channel Logout 1.0, provider side: the signed logout tokens for the
//! apps of a session that ended, put in a durable queue, and their delivery from it with
//! retries ([`delivery`]), so the person's sign-out never waits on an app. Which session
//! ended, and which apps took part, is decided above (`session::end`, the one home of ending
//! a session); this floor signs, queues and delivers.

mod delivery;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Notify;

pub use delivery::run_deliveries;

use crate::{
    clock::Clock,
    db::{
        Db, DbError,
        models::{backchannel, client::Client},
    },
    domain::{Issuer, random_token},
    oidc::{
        keys::{KeyError, KeyRing, SigningKeys},
        tokens::{BACKCHANNEL_LOGOUT_EVENT, LogoutTokenClaims, sign_logout_token},
    },
};

/// How long a logout token is good for (§2.4 asks for a short `exp`: it is delivered at once,
/// and retried for minutes at most).
const TOKEN_LIFETIME: Duration = Duration::minutes(2);

/// What queueing and delivering logout tokens works with: the durable queue, the time, the
/// signing keys, the issuer identifier, and the wake-up of the delivery worker. Built once by
/// the application; cheap to clone (every field is a handle).
#[derive(Clone)]
pub struct Backchannel {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub keys: SigningKeys,
    pub issuer: Issuer,
    /// Wakes [`run_deliveries`] when tokens are queued or a delivery slot frees up.
    pub wake: Arc<Notify>,
}

/// One logout token ready for the queue.
#[derive(Debug)]
pub struct Queued {
    pub client_id: String,
    pub logout_uri: String,
    pub logout_token: String,
}

/// The logout tokens for the session `sid` of subject `sub` (Back-Channel Logout 1.0 §2.4),
/// one per client that registered a back-channel logout URI, each signed with the client's
/// ID-token algorithm under `keys`. Clients without a logout URI are skipped (§2.2).
pub fn logout_tokens(
    keys: &KeyRing,
    issuer: &Issuer,
    clients: &[Client],
    sid: &str,
    sub: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Queued>, KeyError> {
    let mut queued = Vec::new();
    for client in clients {
        let Some(uri) = &client.backchannel_logout_uri else {
            continue;
        };
        let claims = LogoutTokenClaims {
            iss: issuer.to_string(),
            aud: client.id.to_string(),
            iat: now.timestamp(),
            exp: (now + TOKEN_LIFETIME).timestamp(),
            jti: random_token(),
            events: serde_json::json!({ BACKCHANNEL_LOGOUT_EVENT: {} }),
            sid: sid.to_owned(),
            sub: sub.to_owned(),
        };
        let alg = client.id_token_alg;
        queued.push(Queued {
            client_id: client.id.to_string(),
            logout_uri: uri.to_string(),
            logout_token: sign_logout_token(keys, alg, &claims)?,
        });
    }
    Ok(queued)
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("logout token not signed: {0}")]
    Sign(#[from] KeyError),
}

impl Backchannel {
    /// Signs a logout token for each of `clients` that takes them, with the current keys, puts
    /// them in the delivery queue and wakes the worker. Returns how many were queued.
    pub async fn queue(
        &self,
        clients: &[Client],
        sid: &str,
        sub: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, QueueError> {
        let queued = logout_tokens(&self.keys.current(), &self.issuer, clients, sid, sub, now)?;
        let count = queued.len();
        self.db
            .run(move |conn| {
                for q in &queued {
                    backchannel::enqueue(
                        conn,
                        &random_token(),
                        &q.client_id,
                        &q.logout_uri,
                        &q.logout_token,
                        now,
                    )?;
                }
                Ok(())
            })
            .await?;
        self.wake.notify_one();
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use url::Url;

    use super::*;
    use crate::{
        config::{KeySettings, Settings},
        domain::ClientId,
        oidc::{
            jwt,
            keys::{self, KeyEncryptionKey},
        },
    };

    fn client(id: &str, logout_uri: Option<&str>, now: DateTime<Utc>) -> Client {
        Client {
            id: ClientId::parse(id).unwrap(),
            name: id.to_owned(),
            backchannel_logout_uri: logout_uri.map(|u| Url::parse(u).unwrap()),
            ..Client::example(now)
        }
    }

    #[tokio::test]
    async fn each_app_with_a_logout_uri_gets_a_token_naming_the_session_and_no_nonce() {
        let (dir, db) = crate::db::testing::temp_sqlite();
        let kek = KeyEncryptionKey::load_or_create(&KeySettings {
            encryption_key_file: dir.path().join("keys.secret"),
            ..Settings::default().keys
        })
        .unwrap();
        let now = Utc::now();
        let ring = keys::ensure_keys(&db, &kek, now).await.unwrap();
        let issuer = Issuer::from_url(&Url::parse("https://id.example/").unwrap());
        let clients = [
            client("forum", Some("https://forum.example/backchannel"), now),
            client("blog", None, now),
        ];

        let queued = logout_tokens(&ring, &issuer, &clients, "sid-1", "sub-1", now).unwrap();
        assert_eq!(queued.len(), 1, "the app without a logout URI is skipped");
        assert_eq!(queued[0].client_id, "forum");
        assert_eq!(queued[0].logout_uri, "https://forum.example/backchannel");
        let claims: serde_json::Value =
            jwt::verify(&ring, &queued[0].logout_token, "logout+jwt").unwrap();
        // §2.4: iss, aud, iat, exp, jti, events with the logout event, sid and sub; no nonce.
        assert_eq!(
            claims["iss"], "https://id.example",
            "the issuer, without a slash"
        );
        assert_eq!(claims["aud"], "forum");
        assert_eq!(
            (claims["sid"].as_str(), claims["sub"].as_str()),
            (Some("sid-1"), Some("sub-1"))
        );
        assert_eq!(claims["iat"], now.timestamp());
        assert_eq!(claims["exp"], (now + TOKEN_LIFETIME).timestamp());
        assert!(claims["events"][BACKCHANNEL_LOGOUT_EVENT].is_object());
        assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
        assert!(claims.get("nonce").is_none());
    }
}
