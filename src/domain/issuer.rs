//! The issuer identifier: who signs OneID's tokens and answers its discovery document.

use std::{fmt, sync::Arc};

use url::Url;

/// The issuer identifier (OIDC Discovery 1.0 §3 `issuer`, OIDC Core §2 `iss`, RFC 9207 `iss`).
/// Compared character for character by relying parties, so it is built once from the
/// configured URL, without the trailing slash that `Url` adds to a bare origin
/// (`https://id.example` and not `https://id.example/`). Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer(Arc<str>);

impl Issuer {
    pub fn from_url(url: &Url) -> Self {
        Self(Arc::from(url.as_str().trim_end_matches('/')))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for Issuer {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<String> for Issuer {
    fn eq(&self, other: &String) -> bool {
        &*self.0 == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_origin_loses_the_slash_url_adds() {
        let url = Url::parse("https://id.example").unwrap();
        assert_eq!(url.as_str(), "https://id.example/");
        assert_eq!(Issuer::from_url(&url).as_str(), "https://id.example");
    }

    #[test]
    fn a_path_is_kept() {
        let url = Url::parse("https://example.com/oneid").unwrap();
        assert_eq!(
            Issuer::from_url(&url).to_string(),
            "https://example.com/oneid"
        );
        assert!(Issuer::from_url(&url) == *"https://example.com/oneid");
    }
}
