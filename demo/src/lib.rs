//! The whole demonstration in one process: OneID on its embedded default, and the five apps
//! (Cloud, Talk, Forum, Market, and a third-party example) registered as its clients.
//!
//! The apps are the `oneid-apps` crate, honest relying parties that talk to OneID over HTTP
//! only; this crate is the one place that knows both sides, to register the clients.

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::Context;
use oneid::{
    clock::SystemClock,
    config::{KeySettings, Settings},
    db::models::client,
    domain::ClientId,
    oauth::registry::{self, Registration},
    startup::Application,
};
use oneid_apps::config::{AppKind, Config as AppConfig, PublicUrl, Secret};
use serde::{Deserialize, Serialize};

pub const APPS: [AppKind; 5] = [
    AppKind::Cloud,
    AppKind::Talk,
    AppKind::Forum,
    AppKind::Market,
    AppKind::Thirdparty,
];

pub struct DemoOptions {
    /// OneID's database, outbox and key file live here; so do the demo's client credentials.
    pub data_dir: PathBuf,
    /// OneID's port; the apps take the next five. 0: free ports anywhere (tests).
    pub base_port: u16,
    /// Print verification codes on standard output (a person trying the demo).
    pub echo_codes: bool,
}

/// A running demonstration.
pub struct Demo {
    pub issuer: String,
    pub apps: Vec<(AppKind, String)>,
    pub outbox: PathBuf,
    /// OneID's state, for tests that act as the operator's shell would (`oneid admin grant`).
    pub oneid: actix_web::web::Data<oneid::state::AppState>,
    servers: Vec<actix_web::dev::ServerHandle>,
}

impl Demo {
    pub fn app_url(&self, kind: AppKind) -> &str {
        self.apps
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, url)| url.as_str())
            .expect("every app runs")
    }

    /// Stops OneID and the apps, finishing requests in flight.
    pub async fn stop(&self) {
        for server in &self.servers {
            server.stop(true).await;
        }
    }
}

/// Client credentials kept between runs, so the apps keep their registrations.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Credentials(std::collections::BTreeMap<String, (String, String)>);

fn port_for(base: u16, index: u16) -> anyhow::Result<u16> {
    if base == 0 {
        // A free port now; the small race until it is bound again is fine for a demo or a test.
        return Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port());
    }
    Ok(base + index)
}

fn settings(data_dir: &Path, port: u16, echo_codes: bool) -> Settings {
    Settings {
        listen: SocketAddr::from(([127, 0, 0, 1], port)),
        issuer: format!("http://127.0.0.1:{port}")
            .parse()
            .expect("loopback URL"),
        database_url: format!("sqlite://{}", data_dir.join("oneid.db").display()).into(),
        outbox: data_dir.join("outbox.jsonl"),
        keys: KeySettings {
            encryption_key_file: data_dir.join("keys.secret"),
            ..Settings::default().keys
        },
        demo_echo_codes: echo_codes,
        workers: 2,
        ..Settings::default()
    }
}

fn registration(kind: AppKind, url: &str) -> Registration {
    let third_party = kind == AppKind::Thirdparty;
    Registration {
        name: kind.title().to_owned(),
        logo_url: None,
        redirect_uris: vec![format!("{url}/callback")],
        post_logout_redirect_uris: vec![format!("{url}/")],
        backchannel_logout_uri: Some(format!("{url}/backchannel-logout")),
        public: false,
        secret_post: false,
        // The company's four apps are trusted; the third-party example must ask for consent.
        first_party: !third_party,
        scopes: third_party.then(|| "openid profile email".to_owned()),
        client_credentials: false,
        id_token_alg: None,
        access_token_alg: None,
    }
}

/// Starts OneID, registers the apps on first run (or reuses their registrations), and starts
/// the apps. Returns once everything listens.
pub async fn start(options: DemoOptions) -> anyhow::Result<Demo> {
    std::fs::create_dir_all(&options.data_dir)
        .with_context(|| format!("creating {}", options.data_dir.display()))?;
    let oneid_port = port_for(options.base_port, 0)?;
    let settings = settings(&options.data_dir, oneid_port, options.echo_codes);
    let issuer = settings.issuer.as_str().trim_end_matches('/').to_owned();
    let outbox = settings.outbox.clone();
    let oneid = Application::build(settings, Arc::new(SystemClock)).await?;
    let state = oneid.state();
    let mut servers = vec![oneid.handle()];
    tokio::spawn(oneid.run_until_stopped());

    let store = options.data_dir.join("demo-clients.json");
    let mut credentials: Credentials = std::fs::read(&store)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut apps = Vec::new();
    for (index, kind) in (1..).zip(APPS) {
        let port = port_for(options.base_port, index)?;
        let url = format!("http://127.0.0.1:{port}");
        let known = match credentials.0.get(kind.slug()) {
            Some((id, secret)) => {
                let id = ClientId::parse(id).context("stored client_id")?;
                let (wanted, found) = (format!("{url}/callback"), id.clone());
                let registered = state.db.run(move |conn| client::find(conn, &found)).await?;
                registered
                    .filter(|c| c.redirect_uris.iter().any(|u| u.as_str() == wanted))
                    .map(|_| (id.to_string(), secret.clone()))
            }
            None => None,
        };
        let (client_id, secret) = match known {
            Some(known) => known,
            None => {
                let (client, secret) =
                    registry::register(&state.db, registration(kind, &url), chrono::Utc::now())
                        .await?;
                let pair = (
                    client.id.to_string(),
                    secret.map(|s| s.expose().to_owned()).unwrap_or_default(),
                );
                credentials.0.insert(kind.slug().to_owned(), pair.clone());
                pair
            }
        };
        let config = AppConfig {
            app: kind,
            listen: SocketAddr::from(([127, 0, 0, 1], port)),
            issuer: issuer.clone(),
            client_id,
            client_secret: Some(
                secret
                    .parse::<Secret>()
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            ),
            public_url: Some(
                url.parse::<PublicUrl>()
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            ),
        };
        let (_, server) = oneid_apps::build_app(config).await?;
        servers.push(server.handle());
        tokio::spawn(server);
        apps.push((kind, url));
    }
    std::fs::write(&store, serde_json::to_vec_pretty(&credentials)?)
        .with_context(|| format!("writing {}", store.display()))?;
    Ok(Demo {
        issuer,
        apps,
        outbox,
        oneid: state,
        servers,
    })
}
