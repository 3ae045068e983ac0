//! OpenID Connect: signing keys and JWKS, ID tokens, discovery, back-channel logout delivery.
//! No HTTP types here.

pub mod backchannel;
pub mod discovery;
pub mod jwt;
pub mod keys;
pub mod tokens;
