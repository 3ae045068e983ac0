//! What every request handler shares: which app this is, OneID, the sessions and the app's data.

use crate::{
    config::{AppKind, PublicUrl},
    features::Features,
    oidc::Provider,
    session::SessionStore,
};

pub struct AppState {
    pub app: AppKind,
    pub public_url: PublicUrl,
    pub provider: Provider,
    pub sessions: SessionStore,
    pub features: Features,
}
