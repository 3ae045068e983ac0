//! Mobile numbers, parsed with libphonenumber's metadata and kept in E.164.

use std::fmt;

use phonenumber::{Mode, Type, metadata::DATABASE};

use super::{ParseError, Region};

/// A valid mobile number in E.164 form (`+919812345678`).
///
/// Only numbers that can receive a text message are accepted: a verification code sent to a
/// landline or a premium-rate number would never arrive, or would cost us money.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    e164: String,
    country_code: u16,
}

impl PhoneNumber {
    const MAX_INPUT: usize = 64;

    /// Parses what a person typed. Numbers without a `+country` prefix are read in `region`.
    pub fn parse(input: &str, region: Region) -> Result<Self, ParseError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(ParseError::Empty);
        }
        if input.len() > Self::MAX_INPUT {
            return Err(ParseError::TooLong);
        }
        let number =
            phonenumber::parse(Some(region.id()), input).map_err(|_| ParseError::InvalidPhone)?;
        if !number.is_valid() {
            return Err(ParseError::InvalidPhone);
        }
        match number.number_type(&DATABASE) {
            Type::Mobile | Type::FixedLineOrMobile => {}
            _ => return Err(ParseError::NotMobile),
        }
        Ok(Self {
            e164: number.format().mode(Mode::E164).to_string(),
            country_code: number.code().value(),
        })
    }

    /// Reads a number back from storage, where it was written in E.164 by [`PhoneNumber::parse`].
    pub fn from_e164(stored: &str) -> Result<Self, ParseError> {
        let number = phonenumber::parse(None, stored).map_err(|_| ParseError::InvalidPhone)?;
        Ok(Self {
            e164: stored.to_owned(),
            country_code: number.code().value(),
        })
    }

    pub fn as_e164(&self) -> &str {
        &self.e164
    }

    /// The country calling code: `91` for `+919812345678`.
    pub fn country_code(&self) -> u16 {
        self.country_code
    }

    /// The region the number belongs to (`US` or `CA` for `+1`), if the metadata knows it.
    pub fn region(&self) -> Option<Region> {
        let id = self.parsed()?.country().id()?;
        id.as_ref().parse().ok()
    }

    /// What kind of line the number is, by libphonenumber's metadata (`Unknown` if unreadable).
    pub fn number_type(&self) -> Type {
        self.parsed()
            .map_or(Type::Unknown, |n| n.number_type(&DATABASE))
    }

    fn parsed(&self) -> Option<phonenumber::PhoneNumber> {
        phonenumber::parse(None, &self.e164).ok()
    }

    /// `+91 ******5678`: enough for its owner to recognise, not enough to be useful to anyone else.
    pub fn masked(&self) -> String {
        let prefix = format!("+{}", self.country_code);
        let national = &self.e164[prefix.len()..];
        let visible = national.len().min(4);
        let hidden = national.len() - visible;
        format!("{prefix} {}{}", "*".repeat(hidden), &national[hidden..])
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

/// Phone numbers are personal data: debug output is masked so they never reach a log whole.
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn india() -> Region {
        Region::default()
    }

    #[test]
    fn national_indian_mobile_numbers_become_e164() {
        for typed in [
            "9812345678",
            "98123 45678",
            "098123-45678",
            "+91 98123 45678",
            "+919812345678",
        ] {
            let phone = PhoneNumber::parse(typed, india()).unwrap();
            assert_eq!(phone.as_e164(), "+919812345678", "typed {typed:?}");
        }
    }

    #[test]
    fn foreign_numbers_keep_their_country_code() {
        let phone = PhoneNumber::parse("+44 7911 123456", india()).unwrap();
        assert_eq!(phone.as_e164(), "+447911123456");
        assert_eq!(phone.masked(), "+44 ******3456");
    }

    #[test]
    fn default_region_applies_to_national_numbers() {
        let us: Region = "US".parse().unwrap();
        assert_eq!(
            PhoneNumber::parse("(201) 555-0123", us).unwrap().as_e164(),
            "+12015550123"
        );
    }

    #[test]
    fn refuses_invalid_numbers_and_landlines() {
        assert_eq!(PhoneNumber::parse("", india()), Err(ParseError::Empty));
        assert_eq!(
            PhoneNumber::parse("12345", india()),
            Err(ParseError::InvalidPhone)
        );
        assert_eq!(
            PhoneNumber::parse("not a number", india()),
            Err(ParseError::InvalidPhone)
        );
        // A Delhi landline cannot receive an SMS code.
        assert_eq!(
            PhoneNumber::parse("011 2345 6789", india()),
            Err(ParseError::NotMobile)
        );
        assert_eq!(
            PhoneNumber::parse(&"9".repeat(100), india()),
            Err(ParseError::TooLong)
        );
    }

    #[test]
    fn masks_all_but_the_last_four_digits() {
        let phone = PhoneNumber::parse("9812345678", india()).unwrap();
        assert_eq!(phone.masked(), "+91 ******5678");
        assert!(!format!("{phone:?}").contains("98123"));
    }

    #[test]
    fn round_trips_through_storage() {
        let phone = PhoneNumber::parse("9812345678", india()).unwrap();
        assert_eq!(PhoneNumber::from_e164(phone.as_e164()).unwrap(), phone);
    }
}
