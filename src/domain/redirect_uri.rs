//! Redirect URIs, registered in full and matched exactly.

use std::fmt;

use url::Url;

/// A redirect URI as registered by an administrator.
///
/// Only https, or http to a loopback host for apps on the person's own machine (RFC 8252 §7.3);
/// no fragment (RFC 6749 §3.1.2); no wildcards and no userinfo. Kept as the exact string that was
/// registered, because matching is by exact string comparison (RFC 9700 §4.1.3).
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUri(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    #[error("not an absolute URL")]
    NotAbsolute,
    #[error("wildcards are not allowed; register every redirect URI in full")]
    Wildcard,
    #[error("a redirect URI must not have a fragment (RFC 6749 §3.1.2)")]
    Fragment,
    #[error("user name or password in a redirect URI is not allowed")]
    UserInfo,
    #[error("https is required, except http to 127.0.0.1, [::1] or localhost")]
    Insecure,
    #[error("the URI is longer than 2000 characters")]
    TooLong,
}

const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "[::1]", "localhost"];

impl RedirectUri {
    pub fn parse(input: &str) -> Result<Self, RedirectUriError> {
        if input.len() > 2000 {
            return Err(RedirectUriError::TooLong);
        }
        if input.contains('*') {
            return Err(RedirectUriError::Wildcard);
        }
        if input.contains('#') {
            return Err(RedirectUriError::Fragment);
        }
        let url = Url::parse(input).map_err(|_| RedirectUriError::NotAbsolute)?;
        if url.cannot_be_a_base() || url.host_str().is_none() {
            return Err(RedirectUriError::NotAbsolute);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(RedirectUriError::UserInfo);
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            _ => return Err(RedirectUriError::Insecure),
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a redirect URI sent in a request is this registered one: the exact string, except
    /// that for http on a loopback host any port is accepted, since native apps get a free port
    /// from the operating system at run time (RFC 8252 §7.3).
    pub fn matches(&self, requested: &str) -> bool {
        if self.0 == requested {
            return true;
        }
        let (Ok(registered), Ok(requested)) = (Url::parse(&self.0), Url::parse(requested)) else {
            return false;
        };
        registered.scheme() == "http"
            && is_any_port_loopback(&registered)
            && requested.scheme() == "http"
            && requested.host_str() == registered.host_str()
            && requested.path() == registered.path()
            && requested.query() == registered.query()
            && requested.fragment().is_none()
            && requested.username().is_empty()
            && requested.password().is_none()
    }
}

/// Hosts that can only be this machine: the loopback addresses, `localhost`, and any name under
/// `.localhost`, which RFC 6761 §6.3 reserves for loopback. Plain http is acceptable to them.
pub fn is_loopback_host(host: &str) -> bool {
    LOOPBACK_HOSTS.contains(&host) || host.ends_with(".localhost")
}

fn is_loopback(url: &Url) -> bool {
    url.host_str().is_some_and(is_loopback_host)
}

/// Native apps listen on a port the OS picks; only these hosts get any-port matching.
fn is_any_port_loopback(url: &Url) -> bool {
    url.host_str().is_some_and(|h| LOOPBACK_HOSTS.contains(&h))
}

impl TryFrom<String> for RedirectUri {
    type Error = RedirectUriError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<RedirectUri> for String {
    fn from(value: RedirectUri) -> Self {
        value.0
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedirectUri({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_and_loopback_http_are_accepted() {
        for ok in [
            "https://cloud.example.com/callback",
            "https://app.example.com:8443/cb?x=1",
            "http://127.0.0.1:8081/callback",
            "http://[::1]/cb",
            "http://localhost:3000/cb",
        ] {
            assert!(RedirectUri::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn unsafe_uris_are_refused_with_the_reason() {
        assert_eq!(
            RedirectUri::parse("http://cloud.example.com/cb"),
            Err(RedirectUriError::Insecure)
        );
        assert_eq!(
            RedirectUri::parse("http://127.0.0.2/cb"),
            Err(RedirectUriError::Insecure)
        );
        assert_eq!(
            RedirectUri::parse("https://*.example.com/cb"),
            Err(RedirectUriError::Wildcard)
        );
        assert_eq!(
            RedirectUri::parse("https://example.com/cb#x"),
            Err(RedirectUriError::Fragment)
        );
        assert_eq!(
            RedirectUri::parse("https://user:pw@example.com/cb"),
            Err(RedirectUriError::UserInfo)
        );
        assert_eq!(
            RedirectUri::parse("/relative/cb"),
            Err(RedirectUriError::NotAbsolute)
        );
        assert_eq!(
            RedirectUri::parse("javascript:alert(1)"),
            Err(RedirectUriError::NotAbsolute)
        );
        assert_eq!(
            RedirectUri::parse("ftp://example.com/cb"),
            Err(RedirectUriError::Insecure)
        );
        assert_eq!(
            RedirectUri::parse("com.example.app:/cb"),
            Err(RedirectUriError::NotAbsolute)
        );
    }

    #[test]
    fn matching_is_exact_string_comparison() {
        let uri = RedirectUri::parse("https://cloud.example.com/callback").unwrap();
        assert!(uri.matches("https://cloud.example.com/callback"));
        for near_miss in [
            "https://cloud.example.com/callback/",
            "https://cloud.example.com/Callback",
            "https://cloud.example.com/callback?x=1",
            "https://CLOUD.example.com/callback",
            "https://cloud.example.com:443/callback",
            "https://cloud.example.com/callback#frag",
            "https://cloud.example.com.evil.example/callback",
        ] {
            assert!(!uri.matches(near_miss), "{near_miss}");
        }
    }

    #[test]
    fn dot_localhost_names_are_loopback_but_keep_their_port() {
        let uri = RedirectUri::parse("http://cloud.localhost:8081/callback").unwrap();
        assert!(uri.matches("http://cloud.localhost:8081/callback"));
        assert!(!uri.matches("http://cloud.localhost:9999/callback"));
        assert_eq!(
            RedirectUri::parse("http://localhost.evil.example/cb"),
            Err(RedirectUriError::Insecure)
        );
    }

    #[test]
    fn loopback_redirects_match_on_any_port() {
        let uri = RedirectUri::parse("http://127.0.0.1/callback").unwrap();
        assert!(uri.matches("http://127.0.0.1:51234/callback"));
        assert!(!uri.matches("http://127.0.0.1:51234/other"));
        assert!(!uri.matches("http://localhost:51234/callback"));
        assert!(!uri.matches("https://127.0.0.1:51234/callback"));
    }
}
