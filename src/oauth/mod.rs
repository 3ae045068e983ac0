//! OAuth 2.0: the client registry and (next) the grant flows. No HTTP types here.

pub mod authorize;
pub mod backchannel;
pub mod client_auth;
pub mod engine;
pub mod error;
pub mod logout;
pub mod params;
pub mod pkce;
pub mod registry;
pub mod resource;
pub mod revocation;
pub mod token;
