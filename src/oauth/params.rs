//! One OAuth request's parameters, parsed by OneID and handed to oxide-auth's state machines
//! at the token endpoint. (The authorization request is read from them once, into a typed
//! `oauth::authorize::AuthorizationRequest`.)
//!
//! OneID parses the request itself because oxide-auth's frontends read the query only, never
//! form-decode Basic credentials, and ignore `client_secret_post` on refresh.

use std::{borrow::Cow, collections::HashMap};

use base64::{Engine, engine::general_purpose::STANDARD};
use oxide_auth::code_grant::{accesstoken, client_credentials, refresh};

use super::error::{ErrorCode, OAuthError};

/// How the client presented its credentials at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Basic,
    Post,
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Basic => "client_secret_basic",
            Self::Post => "client_secret_post",
            Self::None => "none",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Params {
    values: HashMap<String, String>,
    /// Client credentials from HTTP Basic, already form-decoded (RFC 6749 §2.3.1).
    basic: Option<(String, String)>,
}

impl Params {
    /// Builds from form or query pairs. A parameter sent twice is an error (RFC 6749 §3.1, §3.2).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, OAuthError> {
        let mut values = HashMap::with_capacity(pairs.len());
        for (key, value) in pairs {
            if value.is_empty() {
                // Parameters sent without a value are treated as omitted (RFC 6749 §3.1).
                continue;
            }
            if values.insert(key.clone(), value).is_some() {
                return Err(OAuthError::new(
                    ErrorCode::InvalidRequest,
                    format!("parameter `{key}` was sent more than once"),
                ));
            }
        }
        Ok(Self {
            values,
            basic: None,
        })
    }

    /// Adds credentials from an `Authorization: Basic` header. Both halves are
    /// application/x-www-form-urlencoded before base64 (RFC 6749 §2.3.1).
    pub fn with_basic_header(mut self, header: Option<&str>) -> Result<Self, OAuthError> {
        let Some(header) = header else {
            return Ok(self);
        };
        let invalid = || OAuthError::new(ErrorCode::InvalidClient, "malformed Basic credentials");
        let encoded = header
            .strip_prefix("Basic ")
            .or_else(|| header.strip_prefix("basic "))
            .ok_or_else(invalid)?;
        let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).map_err(|_| invalid())?)
            .map_err(|_| invalid())?;
        let (id, secret) = decoded.split_once(':').ok_or_else(invalid)?;
        let form_decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let (id, secret) = (form_decode(id), form_decode(secret));
        // A client_id in the body too is fine if it names the same client; two different
        // identities, or a secret in both places, is two authentication methods (RFC 6749 §2.3).
        if self.values.get("client_id").is_some_and(|body| *body != id)
            || self.values.contains_key("client_secret")
        {
            return Err(OAuthError::new(
                ErrorCode::InvalidRequest,
                "use exactly one client authentication method",
            ));
        }
        self.values.remove("client_id");
        self.basic = Some((id, secret));
        Ok(self)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The client this request is from, and how it authenticated.
    pub fn client(&self) -> Option<(&str, AuthMethod)> {
        if let Some((id, _)) = &self.basic {
            return Some((id, AuthMethod::Basic));
        }
        let id = self.get("client_id")?;
        Some((
            id,
            if self.values.contains_key("client_secret") {
                AuthMethod::Post
            } else {
                AuthMethod::None
            },
        ))
    }

    pub fn secret(&self) -> Option<&str> {
        self.basic
            .as_ref()
            .map(|(_, s)| s.as_str())
            .or_else(|| self.get("client_secret"))
    }

    fn cow(&self, key: &str) -> Option<Cow<'_, str>> {
        self.get(key).map(Cow::Borrowed)
    }
}

impl accesstoken::Request for Params {
    fn valid(&self) -> bool {
        true
    }
    fn code(&self) -> Option<Cow<'_, str>> {
        self.cow("code")
    }
    fn authorization(&self) -> accesstoken::Authorization<'_> {
        match &self.basic {
            Some((id, secret)) => accesstoken::Authorization::UsernamePassword(
                Cow::Borrowed(id),
                Cow::Borrowed(secret.as_bytes()),
            ),
            None => accesstoken::Authorization::None,
        }
    }
    fn client_id(&self) -> Option<Cow<'_, str>> {
        self.cow("client_id")
    }
    fn redirect_uri(&self) -> Option<Cow<'_, str>> {
        self.cow("redirect_uri")
    }
    fn grant_type(&self) -> Option<Cow<'_, str>> {
        self.cow("grant_type")
    }
    fn extension(&self, key: &str) -> Option<Cow<'_, str>> {
        self.cow(key)
    }
    fn allow_credentials_in_body(&self) -> bool {
        true
    }
}

impl refresh::Request for Params {
    fn valid(&self) -> bool {
        true
    }
    fn refresh_token(&self) -> Option<Cow<'_, str>> {
        self.cow("refresh_token")
    }
    fn scope(&self) -> Option<Cow<'_, str>> {
        self.cow("scope")
    }
    fn grant_type(&self) -> Option<Cow<'_, str>> {
        self.cow("grant_type")
    }
    /// Basic or `client_secret_post` alike (oxide-auth's own frontends read Basic only).
    fn authorization(&self) -> Option<(Cow<'_, str>, Cow<'_, [u8]>)> {
        let (id, method) = self.client()?;
        (method != AuthMethod::None).then(|| {
            (
                Cow::Borrowed(id),
                Cow::Borrowed(self.secret().unwrap_or_default().as_bytes()),
            )
        })
    }
    fn extension(&self, key: &str) -> Option<Cow<'_, str>> {
        self.cow(key)
    }
}

impl client_credentials::Request for Params {
    fn valid(&self) -> bool {
        true
    }
    fn authorization(&self) -> Option<(Cow<'_, str>, Cow<'_, [u8]>)> {
        let (id, method) = self.client()?;
        (method != AuthMethod::None).then(|| {
            (
                Cow::Borrowed(id),
                Cow::Borrowed(self.secret().unwrap_or_default().as_bytes()),
            )
        })
    }
    fn scope(&self) -> Option<Cow<'_, str>> {
        self.cow("scope")
    }
    fn grant_type(&self) -> Option<Cow<'_, str>> {
        self.cow("grant_type")
    }
    fn extension(&self, key: &str) -> Option<Cow<'_, str>> {
        self.cow(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        // RFC 6749 §2.3.1: "a b" -> "a+b", "%" -> "%25" before base64.
        let header = format!("Basic {}", STANDARD.encode("my+client:s%25cr%3At"));
        let params = Params::from_pairs(vec![])
            .unwrap()
            .with_basic_header(Some(&header))
            .unwrap();
        assert_eq!(params.client(), Some(("my client", AuthMethod::Basic)));
        assert_eq!(params.secret(), Some("s%cr:t"));
    }

    #[test]
    fn two_authentication_methods_are_refused() {
        let header = format!("Basic {}", STANDARD.encode("a:b"));
        let both = Params::from_pairs(pairs(&[("client_secret", "b")]))
            .unwrap()
            .with_basic_header(Some(&header));
        assert_eq!(both.unwrap_err().code, ErrorCode::InvalidRequest);
        let other_id = Params::from_pairs(pairs(&[("client_id", "z")]))
            .unwrap()
            .with_basic_header(Some(&header));
        assert_eq!(other_id.unwrap_err().code, ErrorCode::InvalidRequest);
        let same_id = Params::from_pairs(pairs(&[("client_id", "a")]))
            .unwrap()
            .with_basic_header(Some(&header))
            .unwrap();
        assert_eq!(same_id.client(), Some(("a", AuthMethod::Basic)));
    }

    #[test]
    fn repeated_parameters_are_refused_and_empty_ones_ignored() {
        assert!(Params::from_pairs(pairs(&[("scope", "openid"), ("scope", "email")])).is_err());
        assert_eq!(
            Params::from_pairs(pairs(&[("state", "")]))
                .unwrap()
                .get("state"),
            None
        );
    }

    #[test]
    fn post_and_public_clients_are_told_apart() {
        let post =
            Params::from_pairs(pairs(&[("client_id", "c"), ("client_secret", "s")])).unwrap();
        assert_eq!(post.client(), Some(("c", AuthMethod::Post)));
        let public = Params::from_pairs(pairs(&[("client_id", "c")])).unwrap();
        assert_eq!(public.client(), Some(("c", AuthMethod::None)));
    }
}
