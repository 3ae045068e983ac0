//! What people type in the one "mobile number, email or account ID" field.

use super::{AccountId, Email, ParseError, PhoneNumber, Region};

/// Where a verification code can be sent: a mobile number or an email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactIdentifier {
    Phone(PhoneNumber),
    Email(Email),
}

impl ContactIdentifier {
    /// Anything with an `@` is read as an email address, everything else as a phone number.
    pub fn parse(input: &str, region: Region) -> Result<Self, ParseError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(ParseError::Empty);
        }
        if input.contains('@') {
            Email::parse(input).map(Self::Email)
        } else {
            PhoneNumber::parse(input, region).map(Self::Phone)
        }
    }

    /// The canonical form: E.164 or the normalised address. Used as a key for codes and limits.
    pub fn canonical(&self) -> &str {
        match self {
            Self::Phone(phone) => phone.as_e164(),
            Self::Email(email) => email.as_str(),
        }
    }

    pub fn masked(&self) -> String {
        match self {
            Self::Phone(phone) => phone.masked(),
            Self::Email(email) => email.masked(),
        }
    }

    /// Reads back a canonical form written by [`ContactIdentifier::canonical`].
    pub fn from_canonical(stored: &str) -> Result<Self, ParseError> {
        if stored.contains('@') {
            Email::from_stored(stored).map(Self::Email)
        } else {
            PhoneNumber::from_e164(stored).map(Self::Phone)
        }
    }
}

/// What the sign-in field can hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginIdentifier {
    Email(Email),
    Phone(PhoneNumber),
    AccountId(AccountId),
    /// Nine or ten digits can be both an account ID and a national mobile number (Indian mobiles
    /// have ten digits); both are looked up and the password decides.
    PhoneOrAccountId(PhoneNumber, AccountId),
}

impl LoginIdentifier {
    pub fn parse(input: &str, region: Region) -> Result<Self, ParseError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(ParseError::Empty);
        }
        if input.len() > 254 {
            return Err(ParseError::TooLong);
        }
        if input.contains('@') {
            // Signing in only looks an address up: one stored before look-alike mailbox names
            // were refused must still sign in, and no new one can be created.
            return Email::for_lookup(input).map(Self::Email);
        }
        let phone = PhoneNumber::parse(input, region).ok();
        let account_id = if input.starts_with('+') {
            None
        } else {
            input.parse::<AccountId>().ok()
        };
        match (phone, account_id) {
            (Some(phone), Some(id)) => Ok(Self::PhoneOrAccountId(phone, id)),
            (Some(phone), None) => Ok(Self::Phone(phone)),
            (None, Some(id)) => Ok(Self::AccountId(id)),
            (None, None) => Err(ParseError::InvalidIdentifier),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn india() -> Region {
        Region::default()
    }

    #[test]
    fn contact_is_phone_or_email() {
        assert!(matches!(
            ContactIdentifier::parse("98123 45678", india()),
            Ok(ContactIdentifier::Phone(_))
        ));
        assert!(matches!(
            ContactIdentifier::parse("Asha@Example.com", india()),
            Ok(ContactIdentifier::Email(_))
        ));
        assert_eq!(
            ContactIdentifier::parse("asha@", india()),
            Err(ParseError::InvalidEmail)
        );
        assert_eq!(
            ContactIdentifier::parse("123", india()),
            Err(ParseError::InvalidPhone)
        );
    }

    #[test]
    fn contact_round_trips_through_canonical_form() {
        for typed in ["+91 98123 45678", "asha@example.com"] {
            let contact = ContactIdentifier::parse(typed, india()).unwrap();
            assert_eq!(
                ContactIdentifier::from_canonical(contact.canonical()).unwrap(),
                contact
            );
        }
    }

    #[test]
    fn login_tells_ids_phones_and_emails_apart() {
        assert!(matches!(
            LoginIdentifier::parse("asha@example.com", india()),
            Ok(LoginIdentifier::Email(_))
        ));
        assert!(matches!(
            LoginIdentifier::parse("+91 98123 45678", india()),
            Ok(LoginIdentifier::Phone(_))
        ));
        // Nine digits are never an Indian mobile number.
        assert!(matches!(
            LoginIdentifier::parse("123456789", india()),
            Ok(LoginIdentifier::AccountId(_))
        ));
        // Ten digits starting 6-9 could be either.
        assert!(matches!(
            LoginIdentifier::parse("9812345678", india()),
            Ok(LoginIdentifier::PhoneOrAccountId(..))
        ));
        assert_eq!(
            LoginIdentifier::parse("hello", india()),
            Err(ParseError::InvalidIdentifier)
        );
    }
}
