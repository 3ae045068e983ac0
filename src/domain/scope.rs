//! OAuth scopes OneID understands.

use std::{collections::BTreeSet, fmt};

/// A scope token with a meaning here (OIDC Core §5.4 and §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScopeToken {
    OpenId,
    Profile,
    Email,
    Phone,
    OfflineAccess,
    /// The admin API (`/admin/api/v1`), for a client acting for itself with the client
    /// credentials grant. Never part of a person's authorization: [`Self::ALL`] (what a
    /// registration gets by default and discovery advertises) leaves it out, and the
    /// authorization endpoint drops it.
    Admin,
}

impl ScopeToken {
    /// The scopes a person can grant an app.
    pub const ALL: [ScopeToken; 5] = [
        Self::OpenId,
        Self::Profile,
        Self::Email,
        Self::Phone,
        Self::OfflineAccess,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenId => "openid",
            Self::Profile => "profile",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::OfflineAccess => "offline_access",
            Self::Admin => "admin",
        }
    }

    pub fn parse(token: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .chain([Self::Admin])
            .find(|s| s.as_str() == token)
    }

    /// Whether a person may grant this scope to an app at the authorization endpoint.
    pub fn is_for_people(self) -> bool {
        self != Self::Admin
    }
}

/// A set of scopes, written space-separated (RFC 6749 §3.3).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Scopes(BTreeSet<ScopeToken>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope `{0}`")]
pub struct UnknownScope(pub String);

impl Scopes {
    /// Every token must be known; for registrations, where a typo must not pass silently.
    pub fn parse_strict(input: &str) -> Result<Self, UnknownScope> {
        input
            .split_ascii_whitespace()
            .map(|t| ScopeToken::parse(t).ok_or_else(|| UnknownScope(t.to_owned())))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Unknown tokens are dropped; for requests, where a server may ignore scopes it does not
    /// support (RFC 6749 §3.3) and report the granted set instead.
    pub fn parse_lenient(input: &str) -> Self {
        Self(
            input
                .split_ascii_whitespace()
                .filter_map(ScopeToken::parse)
                .collect(),
        )
    }

    pub fn contains(&self, token: ScopeToken) -> bool {
        self.0.contains(&token)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn intersection(&self, other: &Scopes) -> Scopes {
        Self(self.0.intersection(&other.0).copied().collect())
    }

    pub fn union(&self, other: &Scopes) -> Scopes {
        Self(self.0.union(&other.0).copied().collect())
    }

    /// Only the scopes a person may grant (see [`ScopeToken::is_for_people`]).
    pub fn for_people(&self) -> Scopes {
        Self(
            self.0
                .iter()
                .copied()
                .filter(|s| s.is_for_people())
                .collect(),
        )
    }

    pub fn iter(&self) -> impl Iterator<Item = ScopeToken> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<ScopeToken> for Scopes {
    fn from_iter<I: IntoIterator<Item = ScopeToken>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tokens: Vec<_> = self.0.iter().map(|t| t.as_str()).collect();
        f.write_str(&tokens.join(" "))
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scopes({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_parsing_refuses_unknown_scopes() {
        assert_eq!(
            Scopes::parse_strict("openid  email").unwrap().to_string(),
            "openid email"
        );
        assert_eq!(
            Scopes::parse_strict("openid root"),
            Err(UnknownScope("root".into()))
        );
    }

    #[test]
    fn lenient_parsing_drops_unknown_scopes() {
        assert_eq!(
            Scopes::parse_lenient("openid root phone").to_string(),
            "openid phone"
        );
    }

    #[test]
    fn the_admin_scope_parses_but_is_not_for_people() {
        let asked = Scopes::parse_strict("openid admin").unwrap();
        assert!(asked.contains(ScopeToken::Admin));
        assert_eq!(asked.for_people().to_string(), "openid");
        assert!(!ScopeToken::ALL.contains(&ScopeToken::Admin));
    }

    #[test]
    fn set_operations() {
        let allowed = Scopes::parse_strict("openid profile email").unwrap();
        let asked = Scopes::parse_strict("openid phone").unwrap();
        assert_eq!(asked.intersection(&allowed).to_string(), "openid");
        assert!(!asked.is_subset(&allowed));
        assert_eq!(
            asked.union(&allowed).to_string(),
            "openid profile email phone"
        );
    }
}
