//! The ISO 3166 region used for phone numbers typed without a country code.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A region the phone-number library knows, such as `IN`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Region(phonenumber::country::Id);

impl Region {
    pub fn id(self) -> phonenumber::country::Id {
        self.0
    }
}

impl Default for Region {
    fn default() -> Self {
        Self(phonenumber::country::Id::IN)
    }
}

impl FromStr for Region {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        phonenumber::country::Id::from_str(&s.trim().to_ascii_uppercase())
            .map(Self)
            .map_err(|_| format!("`{s}` is not an ISO 3166 region code such as IN or US"))
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl Serialize for Region {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_region_codes_case_insensitively() {
        assert_eq!("in".parse::<Region>().unwrap(), Region::default());
        assert_eq!("US".parse::<Region>().unwrap().to_string(), "US");
        assert!("XX".parse::<Region>().is_err());
    }
}
