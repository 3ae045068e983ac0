//! RP-Initiated Logout 1.0: an app asks OneID to end the person's session.

use serde::Deserialize;

use super::{
    engine::issuer,
    error::{ErrorCode, OAuthError},
    params::Params,
};
use crate::{
    db::models::client::{self, Client},
    domain::ClientId,
    oidc::jwt,
    state::AppState,
};

/// The claims of an `id_token_hint` that matter here. It may have expired (§2: the hint is
/// about who, not about when).
#[derive(Debug, Deserialize)]
struct HintClaims {
    iss: String,
    sub: String,
    #[serde(deserialize_with = "one_or_many")]
    aud: Vec<String>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Aud {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Aud::deserialize(d)? {
        Aud::One(a) => vec![a],
        Aud::Many(a) => a,
    })
}

#[derive(Debug)]
pub enum EndSession {
    /// Sign out now (the hint proves the app knows this person), then go where it says.
    SignOut { then: After },
    /// Nothing proves the request comes from an app the person uses: ask them first, so a
    /// stray link cannot sign anyone out (RP-Initiated Logout §2, logout CSRF).
    Confirm { then: After },
    /// The request names a client or redirect that does not check out: an error page.
    Refuse(OAuthError),
}

#[derive(Debug, Clone)]
pub enum After {
    /// `post_logout_redirect_uri` with `state`, both checked.
    Redirect(String),
    /// OneID's own "you are signed out" page.
    Page,
}

/// Decides what an end-session request may do. `session_sub` is the subject signed in in
/// this browser, if any.
pub async fn end_session(
    state: &AppState,
    params: &Params,
    session_sub: Option<&str>,
) -> Result<EndSession, OAuthError> {
    let refuse = |d: &'static str| {
        Ok(EndSession::Refuse(OAuthError::new(
            ErrorCode::InvalidRequest,
            d,
        )))
    };
    let hint = match params.get("id_token_hint") {
        None => None,
        Some(token) => match jwt::verify_id_token::<HintClaims>(&state.keys(), token) {
            Ok(claims) if claims.iss == issuer(state) => Some(claims),
            _ => return refuse("id_token_hint is not an ID token issued by OneID"),
        },
    };
    // The client: named by client_id, or by the hint's audience; the two must agree.
    let client_id = match (params.get("client_id"), &hint) {
        (Some(id), Some(h)) if !h.aud.iter().any(|a| a == id) => {
            return refuse("client_id is not the audience of id_token_hint");
        }
        (Some(id), _) => Some(id.to_owned()),
        (None, Some(h)) => h.aud.first().cloned(),
        (None, None) => None,
    };
    let client = match client_id.as_deref().map(ClientId::parse) {
        None => None,
        Some(None) => return refuse("unknown client_id"),
        Some(Some(id)) => match state.db.run(move |conn| client::find(conn, &id)).await? {
            Some(c) => Some(c),
            None => return refuse("unknown client_id"),
        },
    };
    let then = match (params.get("post_logout_redirect_uri"), &client) {
        (None, _) => After::Page,
        (Some(_), None) => {
            return refuse("post_logout_redirect_uri needs client_id or id_token_hint");
        }
        (Some(uri), Some(client)) => match registered_logout_uri(client, uri) {
            Some(uri) => After::Redirect(with_state(&uri, params.get("state"))),
            None => return refuse("post_logout_redirect_uri is not registered for this client"),
        },
    };
    let proven = hint
        .as_ref()
        .is_some_and(|h| session_sub.is_none_or(|sub| sub == h.sub));
    Ok(if proven {
        EndSession::SignOut { then }
    } else {
        EndSession::Confirm { then }
    })
}

/// Exact string match against the client's registered post-logout redirect URIs (§3.1).
fn registered_logout_uri(client: &Client, requested: &str) -> Option<String> {
    client
        .post_logout_redirect_uris
        .iter()
        .find(|u| u.as_str() == requested)
        .map(|u| u.as_str().to_owned())
}

fn with_state(uri: &str, state: Option<&str>) -> String {
    let mut url = url::Url::parse(uri).expect("registered URIs are URLs");
    if let Some(s) = state {
        url.query_pairs_mut().append_pair("state", s);
    }
    url.to_string()
}
