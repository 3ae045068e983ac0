//! The numeric account ID people see and can sign in with.

use std::{fmt, str::FromStr};

use rand::{Rng, rngs::OsRng};
use serde::{Deserialize, Serialize};

use super::ParseError;

/// A random 9- or 10-digit number, unique per account and never reused.
///
/// Random rather than sequential so that it tells nobody how many accounts exist or when one was
/// made. Never starting with 0 keeps it unambiguous when typed or read aloud.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(i64);

impl AccountId {
    const MIN: i64 = 100_000_000;
    const MAX: i64 = 9_999_999_999;

    /// Draws a fresh candidate; the database's unique key decides whether it is free.
    pub fn generate() -> Self {
        Self(OsRng.gen_range(Self::MIN..=Self::MAX))
    }

    pub fn from_stored(value: i64) -> Self {
        Self(value)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl FromStr for AccountId {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        if !(9..=10).contains(&digits.len())
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return Err(ParseError::InvalidIdentifier);
        }
        digits
            .parse()
            .map(Self)
            .map_err(|_| ParseError::InvalidIdentifier)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_have_nine_or_ten_digits() {
        for _ in 0..10_000 {
            let id = AccountId::generate().to_string();
            assert!((9..=10).contains(&id.len()), "{id}");
            assert!(!id.starts_with('0'));
        }
    }

    #[test]
    fn parses_typed_ids_with_spaces() {
        assert_eq!(
            "123 456 7890".parse::<AccountId>().unwrap().get(),
            1_234_567_890
        );
        assert_eq!("123456789".parse::<AccountId>().unwrap().get(), 123_456_789);
    }

    #[test]
    fn refuses_other_numbers() {
        for bad in [
            "12345678",
            "12345678901",
            "0123456789",
            "12345678a",
            "",
            "-123456789",
        ] {
            assert!(bad.parse::<AccountId>().is_err(), "{bad:?}");
        }
    }
}
