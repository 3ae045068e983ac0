//! OpenID Connect: signing keys and JWKS, ID tokens, discovery. No HTTP types here.

pub mod discovery;
pub mod jwt;
pub mod keys;
pub mod tokens;
