//! The one maker of random identifiers and tokens: bytes from the operating system's generator,
//! written as base64url without padding, so they travel in URLs, cookies and headers unchanged.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::{RngCore as _, rngs::OsRng};

/// 256 random bits, 43 characters: for anything that stands for a secret or grants access
/// (codes, tokens, session ids, `jti`s). Past guessing at any rate an attacker can reach
/// (RFC 6749 §10.10 asks at least 128 bits; RFC 6819 §5.1.4.2.2).
pub fn random_token() -> String {
    random_token_of(32)
}

/// `bytes` random bytes, base64url: for identifiers that only have to be unique and are not a
/// credential on their own (key ids, subjects, idempotency keys: 16 bytes, 22 characters).
pub fn random_token_of(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

/// Whether `value` is shaped like a [`random_token`] (43 base64url characters): what a cookie
/// of ours must look like before it is looked up.
pub fn is_token_shaped(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_base64url_of_the_asked_length_and_differ() {
        let token = random_token();
        assert_eq!(token.len(), 43);
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(random_token_of(16).len(), 22);
        assert_ne!(random_token(), random_token());
    }
}
