//! `oneid-app`: runs one of the demo apps. Settings come from flags or `ONEID_APP_*`.

use clap::Parser;
use oneid_apps::{build_app, config::Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let config = Config::parse();
    let (_port, server) = build_app(config).await?;
    server.await?;
    Ok(())
}
