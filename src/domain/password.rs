//! Passwords: held as secrets, Unicode-normalised (NFKC), stored only as argon2id hashes; new
//! ones checked against a list of common passwords shipped with the code.

use std::{borrow::Cow, collections::HashSet, fmt, sync::LazyLock};

use argon2::{
    Argon2,
    password_hash::{self, PasswordHasher as _, SaltString, rand_core::OsRng},
};

use unicode_normalization::{UnicodeNormalization as _, is_nfkc};

use super::ParseError;

/// Passwords of 8 or more characters from Django's list of 20,000 common passwords (source and
/// licence in `data/README.md`), most common first.
const COMMON_PASSWORDS: &str = include_str!("../../data/common-passwords.txt");

/// The list as a set of NFKC, lower-cased entries, built on first use (about 8,400 entries).
static COMMON: LazyLock<HashSet<String>> = LazyLock::new(|| {
    COMMON_PASSWORDS
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| line.nfkc().collect::<String>().to_lowercase())
        .collect()
});

/// True when `password` (already NFKC) is on the common-password list, ignoring case.
fn is_common(nfkc: &str) -> bool {
    COMMON.contains(&nfkc.to_lowercase())
}

/// A password as typed. `Debug` never prints it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Bytes, not characters: argon2 costs grow with input and 1 KiB is far beyond any passphrase.
    const MAX_BYTES: usize = 1024;

    /// Any non-empty password of sane size, for sign-in: the rules for new passwords may have
    /// changed since this one was chosen.
    pub fn parse(input: String) -> Result<Self, ParseError> {
        if input.is_empty() {
            return Err(ParseError::Empty);
        }
        if input.len() > Self::MAX_BYTES {
            return Err(ParseError::PasswordTooLong);
        }
        Ok(Self(input))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The password in Unicode Normalization Form KC (UAX #15), which is what is hashed: the
    /// same password typed on another keyboard or system may arrive composed differently
    /// (`é` as one code point or as `e` + combining accent, full-width digits from an IME), and
    /// must still match. NIST SP 800-63B §5.1.1.2 recommends NFKC or NFKD. ASCII is NFKC
    /// already, so every ASCII password hashes exactly as before this normalisation existed.
    pub fn normalized(&self) -> Cow<'_, str> {
        if is_nfkc(&self.0) {
            Cow::Borrowed(&self.0)
        } else {
            Cow::Owned(self.0.nfkc().collect())
        }
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A password chosen at sign-up or reset, typed twice.
#[derive(Debug, Clone)]
pub struct NewPassword(Password);

impl NewPassword {
    /// NIST SP 800-63B §3.1.1.2: at least 8 characters, every printable character and space
    /// allowed, no composition rules, and none of the commonly used passwords.
    const MIN_CHARS: usize = 8;

    /// Counted and compared after NFKC, as the password will be hashed: the confirmation may be
    /// typed with another composition, and a common password in full-width letters is still
    /// the common password.
    pub fn parse(input: String, confirmation: &str) -> Result<Self, ParseError> {
        let password = Password::parse(input)?;
        let normalized = password.normalized();
        if normalized.chars().count() < Self::MIN_CHARS {
            return Err(ParseError::PasswordTooShort);
        }
        if *normalized != *confirmation.nfkc().collect::<String>() {
            return Err(ParseError::PasswordMismatch);
        }
        if is_common(&normalized) {
            return Err(ParseError::CommonPassword);
        }
        drop(normalized);
        Ok(Self(password))
    }

    pub fn into_password(self) -> Password {
        self.0
    }
}

/// A PHC-format argon2id hash string (`$argon2id$v=19$m=19456,t=2,p=1$...`). The parameters
/// travel inside the string, so raising them later leaves old hashes verifiable.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What a deleted account keeps in place of its hash: not a PHC string (those begin with
    /// `$`), so no password ever verifies against it, and the check is refused before any
    /// argon2 work (see [`PasswordHasher::verify`]).
    pub fn erased() -> Self {
        Self("!erased".to_owned())
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// Hashes and verifies passwords. Both are CPU-heavy (~20 ms): call them off the async executor.
#[derive(Clone)]
pub struct PasswordHasher {
    /// Verified against when an account does not exist, so that "no such account" takes as
    /// long as "wrong password" and timing reveals nothing.
    dummy: PasswordHash,
}

/// The hash verified against when there is no account: argon2id with exactly the parameters
/// of [`PasswordHasher::hash`] (a test holds them equal), a random salt and a random output, so
/// that checking it costs what checking a real hash costs and no password matches it. A
/// constant rather than hashed at start: hashing it took a fifth of the server's start-up.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$rKV/77U6ne/nqGG515NG1Q$IF/FlUFQYGl8qNsm2sCRhSEmHwRLskHynP1yrKQB5No";

impl PasswordHasher {
    pub fn new() -> Self {
        Self {
            dummy: PasswordHash(DUMMY_HASH.to_owned()),
        }
    }

    /// argon2id with the OWASP parameters m=19456 KiB, t=2, p=1 (argon2's defaults), over the
    /// NFKC form of the password.
    pub fn hash(&self, password: &Password) -> PasswordHash {
        Self::hash_with(&Argon2::default(), &password.normalized())
            .expect("argon2 accepts any password under 1 KiB")
    }

    fn hash_with(
        argon2: &Argon2<'_>,
        password: &str,
    ) -> Result<PasswordHash, password_hash::Error> {
        let salt = SaltString::generate(&mut OsRng);
        Ok(PasswordHash(
            argon2
                .hash_password(password.as_bytes(), &salt)?
                .to_string(),
        ))
    }

    /// Checks `password` against `stored`, or against the dummy hash when there is no account,
    /// always doing the same work. A stored hash that cannot be parsed never verifies.
    ///
    /// The NFKC form is checked first (every hash made since normalisation was introduced, and
    /// every ASCII password ever). A password that NFKC changes may have been hashed raw before
    /// that, so it gets one more check in its raw form; whether that second check happens
    /// depends only on the typed password, never on the account, so timing still tells nothing
    /// about whether the account exists.
    pub fn verify(&self, password: &Password, stored: Option<&PasswordHash>) -> bool {
        let target = stored.unwrap_or(&self.dummy);
        let Ok(parsed) = password_hash::PasswordHash::new(&target.0) else {
            return false;
        };
        let normalized = password.normalized();
        let mut ok = verify_in_reused_memory(normalized.as_bytes(), &parsed);
        if !ok && *normalized != *password.expose() {
            ok = verify_in_reused_memory(password.expose().as_bytes(), &parsed);
        }
        ok && stored.is_some()
    }
}

thread_local! {
    /// argon2's 19 MiB of working memory, kept by each thread between checks: a check then
    /// allocates nothing and touches no fresh page. Password work runs on one thread per core
    /// (`account::password_pool`), so this is cores × 19 MiB in all. Allocating per check
    /// instead let glibc keep a 19 MiB block in every thread arena that ever hashed: 252 MiB
    /// resident after 6 s of sign-ins on 2 cores (release build), where this keeps 63 MiB at 16
    /// concurrent sign-ins.
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The PHC verification of `argon2`'s `verify_password`, on this thread's reused memory: the
/// parameters, salt and output length come from the stored hash; the comparison is in
/// constant time.
fn verify_in_reused_memory(password: &[u8], stored: &password_hash::PasswordHash<'_>) -> bool {
    use subtle::ConstantTimeEq;
    let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(stored.algorithm) else {
        return false;
    };
    let version = match stored.version.map(argon2::Version::try_from) {
        None => argon2::Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let Ok(params) = argon2::Params::try_from(stored) else {
        return false;
    };
    let mut salt_bytes = [0u8; password_hash::Salt::MAX_LENGTH];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks_needed = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut computed = vec![0u8; expected.len()];
    let hashed = BLOCKS.with_borrow_mut(|blocks| {
        if blocks.len() < blocks_needed {
            blocks.resize(blocks_needed, argon2::Block::default());
        }
        argon2.hash_password_into_with_memory(
            password,
            salt,
            &mut computed,
            &mut blocks[..blocks_needed],
        )
    });
    hashed.is_ok() && bool::from(computed.ct_eq(expected.as_bytes()))
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_has_the_parameters_of_real_hashes() {
        let dummy = password_hash::PasswordHash::new(DUMMY_HASH).unwrap();
        let real_hash = PasswordHasher::new().hash(&password("correct horse battery"));
        let real = password_hash::PasswordHash::new(real_hash.as_str()).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert_eq!(
            dummy.hash.map(|h| h.len()),
            real.hash.map(|h| h.len()),
            "the same output length"
        );
    }

    fn password(s: &str) -> Password {
        Password::parse(s.to_owned()).unwrap()
    }

    #[test]
    fn hashes_with_argon2id_owasp_parameters() {
        let hash = PasswordHasher::new().hash(&password("correct horse battery"));
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_str()
        );
    }

    #[test]
    fn verifies_hashes_made_by_the_argon2_crate_with_other_parameters() {
        use argon2::password_hash::PasswordVerifier as _;
        let hasher = PasswordHasher::new();
        // A hash from elsewhere (smaller memory, other algorithm variant) still verifies, and
        // the reused memory is not confused by a smaller block count.
        let params = argon2::Params::new(8192, 3, 1, None).unwrap();
        let argon2i = Argon2::new(argon2::Algorithm::Argon2i, argon2::Version::V0x13, params);
        let salt = SaltString::generate(&mut OsRng);
        let phc = argon2i
            .hash_password(b"other place", &salt)
            .unwrap()
            .to_string();
        assert!(
            argon2i
                .verify_password(
                    b"other place",
                    &password_hash::PasswordHash::new(&phc).unwrap()
                )
                .is_ok()
        );
        let stored = PasswordHash::from_stored(phc);
        assert!(hasher.verify(&password("other place"), Some(&stored)));
        assert!(!hasher.verify(&password("other placE"), Some(&stored)));
        let own = hasher.hash(&password("correct horse battery"));
        assert!(hasher.verify(&password("correct horse battery"), Some(&own)));
        assert!(!hasher.verify(
            &password("x"),
            Some(&PasswordHash::from_stored("$argon2id$v=19$garbage".into()))
        ));
    }

    #[test]
    fn verifies_the_right_password_only() {
        let hasher = PasswordHasher::new();
        let hash = hasher.hash(&password("correct horse battery"));
        assert!(hasher.verify(&password("correct horse battery"), Some(&hash)));
        assert!(!hasher.verify(&password("correct horse batterz"), Some(&hash)));
    }

    #[test]
    fn same_password_hashes_differently_each_time() {
        let hasher = PasswordHasher::new();
        assert_ne!(
            hasher.hash(&password("samesame1")),
            hasher.hash(&password("samesame1"))
        );
    }

    #[test]
    fn missing_account_never_verifies_even_with_the_dummy_password() {
        let hasher = PasswordHasher::new();
        assert!(!hasher.verify(&password("oneid-timing-equaliser"), None));
    }

    #[test]
    fn corrupt_stored_hash_never_verifies() {
        let hasher = PasswordHasher::new();
        assert!(!hasher.verify(
            &password("whatever1"),
            Some(&PasswordHash::from_stored("garbage".into()))
        ));
    }

    #[test]
    fn an_erased_hash_never_verifies_and_costs_no_argon2_work() {
        let hasher = PasswordHasher::new();
        let erased = PasswordHash::erased();
        assert!(password_hash::PasswordHash::new(erased.as_str()).is_err());
        for typed in [
            "!erased",
            "erased",
            "correct horse battery",
            "oneid-timing-equaliser",
        ] {
            assert!(!hasher.verify(&password(typed), Some(&erased)), "{typed}");
        }
    }

    #[test]
    fn new_passwords_follow_the_rules() {
        assert!(NewPassword::parse("long enough".into(), "long enough").is_ok());
        assert_eq!(
            NewPassword::parse("short".into(), "short").unwrap_err(),
            ParseError::PasswordTooShort
        );
        assert_eq!(
            NewPassword::parse("long enough".into(), "long enougH").unwrap_err(),
            ParseError::PasswordMismatch
        );
        assert_eq!(
            NewPassword::parse("x".repeat(1025), &"x".repeat(1025)).unwrap_err(),
            ParseError::PasswordTooLong
        );
        assert_eq!(
            Password::parse(String::new()).unwrap_err(),
            ParseError::Empty
        );
    }

    #[test]
    fn passwords_are_hashed_in_nfkc_so_another_composition_still_matches() {
        let hasher = PasswordHasher::new();
        // "café 2024": precomposed é (U+00E9) at sign-up, e + combining acute (U+0301) and
        // full-width digits at sign-in, as another keyboard or IME may send it.
        let composed = password("caf\u{e9} 2024 ok");
        let decomposed = password("cafe\u{301} \u{ff12}\u{ff10}\u{ff12}\u{ff14} ok");
        let hash = hasher.hash(&composed);
        assert!(hasher.verify(&decomposed, Some(&hash)));
        assert!(hasher.verify(&composed, Some(&hash)));
        assert!(!hasher.verify(&password("cafe 2024 ok"), Some(&hash)));
    }

    #[test]
    fn an_ascii_password_hashed_before_normalisation_still_verifies() {
        // ASCII is NFKC already: an existing hash of an ASCII password is unchanged.
        let old = PasswordHasher::hash_with(&Argon2::default(), "correct horse battery").unwrap();
        assert!(PasswordHasher::new().verify(&password("correct horse battery"), Some(&old)));
    }

    #[test]
    fn a_non_nfkc_password_hashed_raw_before_normalisation_still_verifies() {
        // Hashed raw (as before), with a full-width digit that NFKC turns into "1".
        let raw = "p\u{e4}ssw\u{f6}rd \u{ff11}x";
        let old = PasswordHasher::hash_with(&Argon2::default(), raw).unwrap();
        let hasher = PasswordHasher::new();
        assert!(
            hasher.verify(&password(raw), Some(&old)),
            "falls back to the raw form"
        );
        assert!(!hasher.verify(&password("p\u{e4}ssw\u{f6}rd 2x"), Some(&old)));
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case_or_width() {
        for common in [
            "password1",
            "PassWord123",
            "qwertyuiop",
            "iloveyou1",
            "\u{ff50}\u{ff41}\u{ff53}\u{ff53}\u{ff57}\u{ff4f}\u{ff52}\u{ff44}1",
        ] {
            assert_eq!(
                NewPassword::parse(common.into(), common).unwrap_err(),
                ParseError::CommonPassword,
                "{common}"
            );
        }
        assert!(
            NewPassword::parse("mango chutney at noon".into(), "mango chutney at noon").is_ok()
        );
        assert!(
            COMMON.len() > 8_000,
            "the whole list is embedded: {}",
            COMMON.len()
        );
    }

    #[test]
    fn the_confirmation_is_compared_after_normalisation() {
        assert!(NewPassword::parse("caf\u{e9} au lait".into(), "cafe\u{301} au lait").is_ok());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let hasher = PasswordHasher::new();
        let pw = password("hunter22hunter");
        assert!(!format!("{pw:?}").contains("hunter"));
        assert!(!format!("{:?}", hasher.hash(&pw)).contains("argon2"));
    }
}
