//! OAuth 2.0 and the OpenID Connect flows on top of it: the authorization and token endpoints
//! and their grants, revocation, introspection, UserInfo, RP-initiated logout. Typed values in,
//! typed results out; no HTTP types here.

pub mod authorize;
pub mod client_auth;
pub mod code;
pub mod engine;
pub mod error;
pub mod grant;
pub mod id_token_hint;
pub mod interaction;
pub mod logout;
pub mod params;
pub mod pkce;
pub mod registry;
pub mod resource;
pub mod revocation;
pub mod token;
pub mod warm;

use std::sync::Arc;

use crate::{
    audit::Audit, clock::Clock, config::OAuthSettings, db::Db, domain::Issuer,
    oidc::keys::SigningKeys, store::EphemeralStore,
};

/// What the protocol core works with, and nothing more: the durable rows, the short-lived
/// state, the time, the signing keys, the issuer identifier, its settings section, the
/// audit log and the warm copies. Built once by the application; cheap to clone (every field is a handle).
#[derive(Clone)]
pub struct Context {
    pub db: Db,
    pub store: Arc<dyn EphemeralStore>,
    pub clock: Arc<dyn Clock>,
    pub keys: SigningKeys,
    pub issuer: Issuer,
    pub settings: Arc<OAuthSettings>,
    pub audit: Audit,
    /// Signs the end-session confirmation forms ([`logout::confirmation`]).
    pub confirmation_key: logout::ConfirmationKey,
    /// Clients and service grants kept in memory between requests.
    pub warm: warm::Warm,
}
