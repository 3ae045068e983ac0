//! The demo apps that sign in with OneID (Cloud, Talk, Forum, Market, and a third party),
//! written as any outside relying party would be: the `openidconnect` crate over HTTP, no
//! shortcut into OneID.
//!
//! - [`config`]: flags and `ONEID_APP_*` settings, the five apps.
//! - [`oidc`]: discovery, the client, sign-in steps, logout-token validation.
//! - [`session`]: server-side sessions and sign-ins in flight.
//! - [`auth`]: signing in and out of this app, back-channel logout.
//! - [`features`]: each app's own small feature, in memory.
//! - `web`: routes, views and handlers.

pub mod auth;
pub mod clock;
pub mod config;
pub mod features;
pub mod oidc;
pub mod session;
pub mod state;
mod web;

use std::{net::TcpListener, time::Duration};

use actix_web::{App, HttpServer, dev::Server, web as aweb};

use crate::{
    config::{Config, PublicUrl},
    features::Features,
    oidc::{DISCOVERY_PATIENCE, Provider, ProviderError},
    session::SessionStore,
    state::AppState,
};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

/// Binds `config.listen` (port 0 picks a free port), discovers OneID (waiting up to 30 s for
/// it to start), and returns the bound port with the server, not yet running.
pub async fn build_app(config: Config) -> Result<(u16, Server), StartError> {
    build_app_with(config, SessionStore::default(), DISCOVERY_PATIENCE).await
}

/// [`build_app`] with a session store the caller keeps a handle on (tests plant sessions in
/// it) and a discovery patience of its choosing.
pub async fn build_app_with(
    config: Config,
    sessions: SessionStore,
    patience: Duration,
) -> Result<(u16, Server), StartError> {
    let listen_error = |source| StartError::Listen {
        addr: config.listen,
        source,
    };
    let listener = TcpListener::bind(config.listen).map_err(listen_error)?;
    let addr = listener.local_addr().map_err(listen_error)?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| PublicUrl::for_listener(addr));
    let provider = Provider::discover(&config, &public_url, patience).await?;
    let issuer = provider.issuer();
    let state = aweb::Data::new(AppState {
        app: config.app,
        public_url,
        provider,
        sessions,
        features: Features::default(),
    });
    let app = config.app;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .configure(web::routes(app))
            .wrap(web::security_headers(&issuer))
    })
    .listen(listener)
    .map_err(listen_error)?
    .run();
    tracing::info!(app = app.slug(), %addr, "listening");
    Ok((addr.port(), server))
}
