//! `oneid-demo`: OneID on http://127.0.0.1:8080 and the apps on 8081-8085.

use oneid_demo::{DemoOptions, start};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,oneid=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let demo = start(DemoOptions {
        data_dir: "oneid-data".into(),
        base_port: 8080,
        echo_codes: true,
    })
    .await?;
    println!("OneID      {}", demo.issuer);
    for (kind, url) in &demo.apps {
        println!("{:<10} {url}", kind.title());
    }
    println!(
        "\nOpen Cloud and sign up with a mobile number: the code appears here and in {}.",
        demo.outbox.display()
    );
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    demo.stop().await;
    Ok(())
}
