//! Who did an administrative act, and who may: the actor named in the audit log and in an
//! app's admin-consent record, and the role that lets an account administer.

use std::fmt;

use super::{AccountId, ClientId};

/// Who performed an administrative act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An administrator, signed in to the admin console.
    Admin(AccountId),
    /// A client holding an `admin`-scoped access token, through the admin API.
    Client(ClientId),
    /// Someone with a shell on the server, through `oneid` on the command line.
    Operator,
}

impl Actor {
    /// Stored form: `account:<id>`, `client:<id>` or `operator`.
    pub fn to_stored(&self) -> String {
        self.to_string()
    }

    /// Reads the stored form back; `None` for anything else.
    pub fn from_stored(stored: &str) -> Option<Self> {
        match stored.split_once(':') {
            None if stored == "operator" => Some(Self::Operator),
            Some(("account", id)) => id
                .parse()
                .ok()
                .map(|id| Self::Admin(AccountId::from_stored(id))),
            Some(("client", id)) => ClientId::parse(id).map(Self::Client),
            _ => None,
        }
    }

    /// The administrator's account, when an account acted.
    pub fn account(&self) -> Option<AccountId> {
        match self {
            Self::Admin(id) => Some(*id),
            _ => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Admin(id) => write!(f, "account:{id}"),
            Self::Client(id) => write!(f, "client:{id}"),
            Self::Operator => f.write_str("operator"),
        }
    }
}

/// What an account may do beyond its own account: today one role, `admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
        }
    }

    /// A stored role this build does not know reads as none: it grants nothing.
    pub fn from_stored(stored: &str) -> Option<Self> {
        (stored == "admin").then_some(Self::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_round_trip_through_their_stored_form() {
        let client = ClientId::generate();
        for actor in [
            Actor::Admin(AccountId::from_stored(123_456_789)),
            Actor::Client(client),
            Actor::Operator,
        ] {
            assert_eq!(Actor::from_stored(&actor.to_stored()), Some(actor));
        }
        for junk in ["", "account:", "account:x", "client:", "root", "operator:1"] {
            assert_eq!(Actor::from_stored(junk), None, "{junk}");
        }
        assert_eq!(Role::from_stored("admin"), Some(Role::Admin));
        assert_eq!(Role::from_stored("root"), None);
    }
}
