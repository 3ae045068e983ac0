//! The command line: `oneid [serve]`, `oneid migrate`, `oneid user add|list|delete|...`.

use std::{io::BufRead, net::SocketAddr, path::PathBuf, sync::Arc};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::{
    admin,
    clock::{Clock, SystemClock},
    config::{FlagOverrides, Settings},
    db::models::account::Account,
    domain::{AccountId, Acr, Actor, ContactIdentifier, DisplayName, Email, Password, PhoneNumber},
    startup::Application,
    state::{AppState, open_database, open_store},
};

#[derive(Debug, Parser)]
#[command(
    name = "oneid",
    version,
    about = "OneID: one account for every app (OAuth 2.0 / OpenID Connect provider)"
)]
pub struct Cli {
    /// TOML settings file (environment variables ONEID_* and flags override it).
    #[arg(long, global = true, value_name = "FILE", env = "ONEID_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to bind (overrides ONEID_LISTEN).
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Database URL (overrides ONEID_DATABASE_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the identity provider (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Exit 0 when the service at --url answers its health check (for container health checks,
    /// so the runtime image needs no curl).
    Healthcheck {
        #[arg(long, default_value = "http://127.0.0.1:8080/healthz")]
        url: url::Url,
    },
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage relying parties (OAuth clients).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Show the audit log, newest first.
    Audit(AuditArgs),
    /// Who administers OneID: the accounts allowed into the admin console.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Give the account the admin role.
    Grant {
        /// The account ID.
        account_id: crate::domain::AccountId,
    },
    /// Take the admin role away (from here even from the last administrator; the console
    /// refuses that).
    Revoke {
        /// The account ID.
        account_id: crate::domain::AccountId,
    },
    /// List the administrators.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print the admin API's OpenAPI 3.1 document (as served at /admin/api/openapi.json).
    Openapi,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new signing key (per algorithm, or only --alg): published at once, signing 10
    /// minutes later, when the previous one retires; the old key stays in the JWKS until the
    /// tokens it signed have expired.
    Rotate {
        /// RS256, ES256 or EdDSA (default: all).
        #[arg(long)]
        alg: Option<String>,
    },
    /// List published keys: next (published, not yet signing), current, retired (until).
    List,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client. Prints its client_id and, for a confidential client, its secret
    /// (shown this once: only a digest is kept).
    Add(ClientAdd),
    /// List clients.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one client's registration (never its secret).
    Show { client_id: String },
    /// Remove a client.
    Remove { client_id: String },
    /// Replace a confidential client's secret; the old one stops working at once.
    RotateSecret {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a client's settings, by the rules of registration; only the options given change.
    Update(ClientUpdate),
    /// Disable a client: no tokens for it, its tokens read nothing, sign-ins to it are refused.
    Disable { client_id: String },
    /// Enable a disabled client again.
    Enable { client_id: String },
    /// Admin consent: `on` makes the client first-party (no consent screen for anyone), `off`
    /// asks people again.
    FirstParty {
        client_id: String,
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// The weakest sign-in the app accepts: `1fa` (any sign-in), `2fa` (a second factor or a
    /// passkey) or `phr` (a passkey); people signed in more weakly are asked to step up.
    MinAcr {
        client_id: String,
        #[arg(value_parser = ["1fa", "2fa", "phr"])]
        level: String,
    },
}

#[derive(Debug, Args)]
pub struct ClientUpdate {
    pub client_id: String,
    #[arg(long)]
    pub name: Option<String>,
    /// An empty value removes the logo.
    #[arg(long)]
    pub logo_url: Option<String>,
    /// Replaces every redirect URI (repeat for several).
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// Replaces every post-logout redirect URI (repeat for several).
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// An empty value removes it.
    #[arg(long)]
    pub backchannel_logout_uri: Option<String>,
    /// Allowed scopes, space-separated.
    #[arg(long)]
    pub scope: Option<String>,
    /// Allow (`on`) or stop (`off`) the client_credentials grant.
    #[arg(long, value_parser = ["on", "off"])]
    pub client_credentials: Option<String>,
    /// RS256, ES256 or EdDSA.
    #[arg(long)]
    pub id_token_alg: Option<String>,
    /// Access tokens signed with RS256, ES256 or EdDSA; "" for the server's default.
    #[arg(long)]
    pub access_token_alg: Option<String>,
}

#[derive(Debug, Args)]
pub struct ClientAdd {
    #[arg(long)]
    pub name: String,
    /// Exact redirect URI (repeat for several). https, or http to 127.0.0.1, [::1] or localhost.
    /// Required unless the client only uses client_credentials (a service, such as an admin
    /// API script).
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may return (repeat for several).
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// OpenID Connect Back-Channel Logout endpoint of the client.
    #[arg(long)]
    pub backchannel_logout_uri: Option<String>,
    #[arg(long)]
    pub logo_url: Option<String>,
    /// A public client (mobile or single-page app): no secret, PKCE required.
    #[arg(long)]
    pub public: bool,
    /// Authenticate with client_secret_post instead of client_secret_basic.
    #[arg(long, conflicts_with = "public")]
    pub secret_post: bool,
    /// A trusted first-party app: people are never asked for consent.
    #[arg(long)]
    pub first_party: bool,
    /// Allowed scopes, space-separated (default: openid profile email phone offline_access).
    #[arg(long)]
    pub scope: Option<String>,
    /// Extra grant types besides authorization_code and refresh_token: client_credentials.
    #[arg(long = "grant", value_parser = ["client_credentials"])]
    pub grants: Vec<String>,
    /// id_token_signed_response_alg: RS256 (default), ES256 or EdDSA.
    #[arg(long)]
    pub id_token_alg: Option<String>,
    /// What its JWT access tokens are signed with: RS256, ES256 or EdDSA (default: the
    /// server's `oauth.access_token_alg`, ES256 unless changed).
    #[arg(long)]
    pub access_token_alg: Option<String>,
    #[arg(long)]
    pub json: bool,
    /// Also write `ONEID_APP_CLIENT_ID=…` and `ONEID_APP_CLIENT_SECRET=…` to this new file
    /// (mode 0600), for a container or service that reads its credentials from a file. Refuses
    /// to overwrite an existing file.
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a verified account (the operator vouches for the phone or email).
    Add(UserAdd),
    /// List accounts.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Sign the account out everywhere: end all its OneID sessions (its apps are told by
    /// back-channel logout) and revoke every grant and refresh token it gave.
    SignOut {
        /// The account ID.
        account_id: crate::domain::AccountId,
    },
    /// Lock the account until it is unlocked (and sign it out everywhere).
    Lock {
        /// The account ID.
        account_id: crate::domain::AccountId,
    },
    /// Unlock the account, forgetting its failed sign-ins.
    Unlock {
        /// The account ID.
        account_id: crate::domain::AccountId,
    },
    /// Delete the account: sign it out everywhere (its apps are told), revoke every grant and
    /// consent, and erase its phone, email, name, password and language. The account ID is
    /// never reused; the phone and email may sign up again. Cannot be undone.
    Delete {
        /// The account ID.
        account_id: crate::domain::AccountId,
    },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("contact").required(true).args(["phone", "email"])))]
pub struct UserAdd {
    /// Mobile number (national numbers are read in ONEID_DEFAULT_REGION).
    #[arg(long)]
    pub phone: Option<String>,
    /// Email address.
    #[arg(long)]
    pub email: Option<String>,
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// Read the password from the first line of standard input (so it never shows in `ps`).
    #[arg(long, required = true)]
    pub password_stdin: bool,
    /// Print `{"account_id": ..., "sub": ...}`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only this account's events.
    #[arg(long, value_name = "ID")]
    pub account: Option<crate::domain::AccountId>,
    /// Only events since then: an RFC 3339 instant (2026-11-24T09:30:00Z) or a span back from
    /// now (30m, 24h, 7d).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<crate::audit::Since>,
    /// At most this many events (the newest).
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl Cli {
    fn settings(&self) -> anyhow::Result<Settings> {
        let flags = FlagOverrides {
            listen: self.listen,
            database_url: self.database_url.clone(),
        };
        Ok(Settings::load(self.config.as_deref(), &flags)?)
    }
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::Healthcheck { url }) = &cli.command {
        let response = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(3))
            .build()?
            .get(url.clone())
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("{url} answered {}", response.status());
        }
        return Ok(());
    }
    let settings = cli.settings()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Healthcheck { .. } => unreachable!("handled before settings are loaded"),
        Command::Migrate => {
            let db = crate::db::Db::open(
                &settings.database_url,
                &crate::config::DatabaseSettings {
                    pool_size: 1,
                    ..settings.database.clone()
                },
            )?;
            let applied = db.migrate()?;
            println!("{applied} migration(s) applied");
            Ok(())
        }
        Command::User(UserCommand::Add(args)) => user_add(settings, args).await,
        Command::User(UserCommand::List { json }) => user_list(settings, json).await,
        Command::User(UserCommand::SignOut { account_id }) => {
            user_sign_out(settings, account_id).await
        }
        Command::User(UserCommand::Lock { account_id }) => user_lock(settings, account_id).await,
        Command::User(UserCommand::Unlock { account_id }) => {
            user_unlock(settings, account_id).await
        }
        Command::User(UserCommand::Delete { account_id }) => {
            user_delete(settings, account_id).await
        }
        Command::Client(command) => client_command(settings, command).await,
        Command::Keys(command) => keys_command(settings, command).await,
        Command::Audit(args) => audit_list(settings, args).await,
        Command::Admin(command) => admin_command(settings, command).await,
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let issuer = settings.issuer.clone();
    wait_for_database(&settings).await;

    let app = Application::build(settings, Arc::new(SystemClock)).await?;
    tracing::info!(port = app.port(), %issuer, "OneID is serving");
    app.run_until_stopped().await.context("serving")
}

async fn user_add(settings: Settings, args: UserAdd) -> anyhow::Result<()> {
    let contact = match (&args.phone, &args.email) {
        (Some(phone), None) => ContactIdentifier::Phone(
            PhoneNumber::parse(phone, settings.default_region)
                .map_err(|e| anyhow::anyhow!("--phone: {e}"))?,
        ),
        (None, Some(email)) => ContactIdentifier::Email(
            Email::parse(email).map_err(|e| anyhow::anyhow!("--email: {e}"))?,
        ),
        _ => bail!("give exactly one of --phone and --email"),
    };
    let name = match &args.name {
        Some(name) => DisplayName::parse(name).map_err(|e| anyhow::anyhow!("--name: {e}"))?,
        None => default_name(&contact),
    };
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = Password::parse(line.trim_end_matches(['\r', '\n']).to_owned())
        .map_err(|e| anyhow::anyhow!("password: {e}"))?;
    admin::users::check_password(&password)?;

    let state = AppState::build_for_command(settings, Arc::new(SystemClock)).await?;
    let account = admin::users::add(
        &state.admin,
        &Actor::Operator,
        &state.account,
        contact,
        name,
        password,
    )
    .await?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "account_id": account.id, "sub": account.sub.as_str() })
        );
    } else {
        println!("created account {} (sub {})", account.id, account.sub);
    }
    Ok(())
}

/// Without `--name`: the mailbox of an email address, or "OneID user".
fn default_name(contact: &ContactIdentifier) -> DisplayName {
    let candidate = match contact {
        ContactIdentifier::Email(email) => email
            .as_str()
            .split('@')
            .next()
            .unwrap_or_default()
            .to_owned(),
        ContactIdentifier::Phone(_) => String::new(),
    };
    DisplayName::parse(&candidate).unwrap_or_else(|_| DisplayName::from_stored("OneID user".into()))
}

/// The operators' operations over the database, for the commands that need nothing else. A
/// change to a client also reaches running servers' warm copies through the shared store
/// (Redis); on the embedded pair (in-memory store) they see it within
/// [`crate::oauth::warm::MAX_AGE_SECS`].
fn admin_context(settings: &Settings) -> anyhow::Result<admin::Context> {
    let db = open_database(settings)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = open_store(settings, clock.clone())?;
    Ok(admin::Context::new(
        db,
        clock,
        &settings.audit,
        crate::oauth::warm::Warm::new(store),
    ))
}

async fn user_sign_out(settings: Settings, id: AccountId) -> anyhow::Result<()> {
    let state = AppState::build_for_command(settings, Arc::new(SystemClock)).await?;
    let ended = admin::users::sign_out(&state.admin, &Actor::Operator, &state.session, id).await?;
    println!(
        "account {id}: {ended} session(s) ended, every grant revoked; its apps are told by back-channel logout"
    );
    Ok(())
}

async fn user_lock(settings: Settings, id: AccountId) -> anyhow::Result<()> {
    let state = AppState::build_for_command(settings, Arc::new(SystemClock)).await?;
    let ended = admin::users::lock(&state.admin, &Actor::Operator, &state.session, id).await?;
    println!("account {id} locked; {ended} session(s) ended");
    Ok(())
}

async fn user_unlock(settings: Settings, id: AccountId) -> anyhow::Result<()> {
    admin::users::unlock(&admin_context(&settings)?, &Actor::Operator, id).await?;
    println!("account {id} unlocked");
    Ok(())
}

async fn user_delete(settings: Settings, id: AccountId) -> anyhow::Result<()> {
    let state = AppState::build_for_command(settings, Arc::new(SystemClock)).await?;
    match admin::users::delete(&state.admin, &Actor::Operator, &state.account, id).await? {
        admin::users::Deleted::Now { sessions } => println!(
            "account {id} deleted; {sessions} session(s) ended, every grant revoked, its personal data erased"
        ),
        admin::users::Deleted::Already => println!("account {id} was deleted already"),
    }
    Ok(())
}

async fn user_list(settings: Settings, json: bool) -> anyhow::Result<()> {
    let accounts = admin::users::list(&admin_context(&settings)?).await?;
    if json {
        let rows: Vec<_> = accounts.iter().map(account_json).collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "{:<12} {:<16} {:<32} {:<9} NAME",
            "ACCOUNT ID", "PHONE", "EMAIL", "STATUS"
        );
        for a in &accounts {
            println!(
                "{:<12} {:<16} {:<32} {:<9} {}",
                a.id,
                a.phone.as_ref().map_or("-", |p| p.as_e164()),
                a.email.as_ref().map_or("-", |e| e.as_str()),
                format!("{:?}", a.status).to_lowercase(),
                a.display_name
            );
        }
    }
    Ok(())
}

fn account_json(a: &Account) -> serde_json::Value {
    serde_json::json!({
        "account_id": a.id,
        "sub": a.sub.as_str(),
        "phone": a.phone.as_ref().map(|p| p.as_e164()),
        "email": a.email.as_ref().map(|e| e.as_str()),
        "name": a.display_name.as_str(),
        "status": a.status.as_str(),
        "role": a.role.map(|r| r.as_str()),
        "created_at": a.created_at.to_rfc3339(),
    })
}

async fn admin_command(settings: Settings, command: AdminCommand) -> anyhow::Result<()> {
    let ctx = || admin_context(&settings);
    match command {
        AdminCommand::Grant { account_id } => {
            if admin::roles::grant(&ctx()?, &Actor::Operator, account_id).await? {
                println!("account {account_id} is now an administrator");
            } else {
                println!("account {account_id} was an administrator already");
            }
        }
        AdminCommand::Revoke { account_id } => {
            if admin::roles::revoke(&ctx()?, &Actor::Operator, account_id).await? {
                println!("account {account_id} is no longer an administrator");
            } else {
                println!("account {account_id} was not an administrator");
            }
        }
        AdminCommand::List { json } => {
            let admins = admin::roles::list(&ctx()?).await?;
            if json {
                let rows: Vec<_> = admins.iter().map(account_json).collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for a in &admins {
                    println!("{}  {}", a.id, a.display_name);
                }
            }
        }
        AdminCommand::Openapi => {
            println!("{}", crate::web::admin_openapi().to_pretty_json()?);
        }
    }
    Ok(())
}

async fn client_command(settings: Settings, command: ClientCommand) -> anyhow::Result<()> {
    use crate::{domain::ClientId, oauth::registry::Registration};
    let ctx = admin_context(&settings)?;
    let parse_id =
        |id: &str| ClientId::parse(id).ok_or_else(|| anyhow::anyhow!("`{id}` is not a client_id"));
    match command {
        ClientCommand::Add(args) => {
            let registration = Registration {
                name: args.name,
                logo_url: args.logo_url,
                redirect_uris: args.redirect_uris,
                post_logout_redirect_uris: args.post_logout_redirect_uris,
                backchannel_logout_uri: args.backchannel_logout_uri,
                public: args.public,
                secret_post: args.secret_post,
                first_party: args.first_party,
                scopes: args.scope,
                client_credentials: args.grants.iter().any(|g| g == "client_credentials"),
                id_token_alg: args.id_token_alg,
                access_token_alg: args.access_token_alg,
            };
            if let Some(path) = &args.env_file
                && path.exists()
            {
                bail!(
                    "{} already exists; remove it to register again",
                    path.display()
                );
            }
            let (client, secret) =
                admin::clients::add(&ctx, &Actor::Operator, registration).await?;
            if let Some(path) = &args.env_file {
                write_env_file(
                    path,
                    client.id.as_str(),
                    secret.as_ref().map(|s| s.expose()),
                )?;
            }

            if args.json {
                let mut out = serde_json::json!({ "client_id": client.id });
                if let Some(secret) = &secret {
                    out["client_secret"] = secret.expose().into();
                }
                println!("{out}");
            } else {
                println!("client_id:     {}", client.id);
                if let Some(secret) = &secret {
                    println!(
                        "client_secret: {}  (shown once; store it now)",
                        secret.expose()
                    );
                }
            }
        }
        ClientCommand::List { json } => {
            let clients = admin::clients::list(&ctx).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &clients.iter().map(client_json).collect::<Vec<_>>()
                    )?
                );
            } else {
                println!(
                    "{:<24} {:<20} {:<20} {:<11} REDIRECT URIS",
                    "CLIENT ID", "NAME", "AUTH", "FIRST-PARTY"
                );
                for c in &clients {
                    let uris: Vec<_> = c.redirect_uris.iter().map(|u| u.as_str()).collect();
                    println!(
                        "{:<24} {:<20} {:<20} {:<11} {}",
                        c.id,
                        c.name,
                        c.auth.method(),
                        if c.first_party { "yes" } else { "no" },
                        uris.join(" ")
                    );
                }
            }
        }
        ClientCommand::Show { client_id } => {
            let found = admin::clients::find(&ctx, parse_id(&client_id)?)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no such client: {client_id}"))?;
            println!("{}", serde_json::to_string_pretty(&client_json(&found))?);
        }
        ClientCommand::Remove { client_id } => {
            if !admin::clients::remove(&ctx, &Actor::Operator, parse_id(&client_id)?).await? {
                bail!("no such client: {client_id}");
            }
            println!("removed client {client_id}");
        }
        ClientCommand::RotateSecret { client_id, json } => {
            let secret =
                admin::clients::rotate_secret(&ctx, &Actor::Operator, parse_id(&client_id)?)
                    .await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "client_id": client_id, "client_secret": secret.expose() })
                );
            } else {
                println!(
                    "client_secret: {}  (shown once; the old secret no longer works)",
                    secret.expose()
                );
            }
        }
        ClientCommand::Update(args) => {
            let cleared = |v: Option<String>| v.map(|v| Some(v).filter(|v| !v.is_empty()));
            let changes = crate::oauth::registry::Changes {
                name: args.name,
                logo_url: cleared(args.logo_url),
                redirect_uris: (!args.redirect_uris.is_empty()).then_some(args.redirect_uris),
                post_logout_redirect_uris: (!args.post_logout_redirect_uris.is_empty())
                    .then_some(args.post_logout_redirect_uris),
                backchannel_logout_uri: cleared(args.backchannel_logout_uri),
                scopes: args.scope,
                client_credentials: args.client_credentials.map(|v| v == "on"),
                id_token_alg: args.id_token_alg,
                access_token_alg: cleared(args.access_token_alg),
            };
            let id = parse_id(&args.client_id)?;
            let client = admin::clients::update(&ctx, &Actor::Operator, id, changes).await?;
            println!("{}", serde_json::to_string_pretty(&client_json(&client))?);
        }
        ClientCommand::Disable { client_id } => {
            admin::clients::set_disabled(&ctx, &Actor::Operator, parse_id(&client_id)?, true)
                .await?;
            println!("disabled client {client_id}");
        }
        ClientCommand::Enable { client_id } => {
            admin::clients::set_disabled(&ctx, &Actor::Operator, parse_id(&client_id)?, false)
                .await?;
            println!("enabled client {client_id}");
        }
        ClientCommand::FirstParty { client_id, state } => {
            let on = state == "on";
            admin::clients::set_first_party(&ctx, &Actor::Operator, parse_id(&client_id)?, on)
                .await?;
            println!("client {client_id} first-party: {state}");
        }
        ClientCommand::MinAcr { client_id, level } => {
            let min_acr = Some(Acr::parse(&level)?);
            admin::clients::set_min_acr(&ctx, &Actor::Operator, parse_id(&client_id)?, min_acr)
                .await?;
            println!("client {client_id} minimum sign-in: {level}");
        }
    }
    Ok(())
}

fn client_json(c: &crate::db::models::client::Client) -> serde_json::Value {
    serde_json::json!({
        "client_id": c.id,
        "name": c.name,
        "logo_url": c.logo_url.as_ref().map(|u| u.as_str()),
        "client_type": if c.auth.is_public() { "public" } else { "confidential" },
        "token_endpoint_auth_method": c.auth.method(),
        "redirect_uris": c.redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
        "post_logout_redirect_uris": c.post_logout_redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
        "backchannel_logout_uri": c.backchannel_logout_uri.as_ref().map(|u| u.as_str()),
        "scope": c.scopes.to_string(),
        "grant_types": c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "first_party": c.first_party,
        "first_party_by": c.admin_consent.as_ref().map(|a| a.by.to_stored()),
        "disabled": c.is_disabled(),
        "id_token_signed_response_alg": c.id_token_alg.as_str(),
        "access_token_signed_response_alg": c.access_token_alg.map(|a| a.as_str()),
        "min_acr": c.min_acr.map(|a| a.as_str()),
        "created_at": c.created_at.to_rfc3339(),
    })
}

async fn keys_command(settings: Settings, command: KeysCommand) -> anyhow::Result<()> {
    use crate::oidc::keys::{self, Algorithm, KeyEncryptionKey, KeyState};
    let ctx = admin_context(&settings)?;
    let kek = KeyEncryptionKey::load_or_create(&settings.keys)?;
    let ring = match command {
        KeysCommand::Rotate { alg } => {
            let alg = alg.as_deref().map(Algorithm::parse).transpose()?;
            let ring =
                admin::keys::rotate(&ctx, &Actor::Operator, &kek, &settings.keys, alg).await?;
            println!(
                "rotated: the new keys are published now and start signing at {} ({} minutes: \
                 every instance reloads keys within {} minutes, and relying parties cache the \
                 JWKS for {} minutes)",
                (ctx.clock.now() + keys::ACTIVATION_DELAY).format("%Y-%m-%d %H:%M:%S UTC"),
                keys::ACTIVATION_DELAY.num_minutes(),
                keys::RELOAD_INTERVAL_SECS / 60,
                keys::JWKS_MAX_AGE_SECS / 60,
            );
            ring
        }
        KeysCommand::List => admin::keys::published(&ctx, &kek).await?,
    };
    let at = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    for key in admin::keys::list(&ctx).await? {
        let state = match key.state {
            KeyState::Next { activates_at } => format!("next     signs from {}", at(activates_at)),
            KeyState::Current { retires_at: None } => "current".to_owned(),
            KeyState::Current {
                retires_at: Some(until),
            } => format!("current  until {}", at(until)),
            KeyState::Retired {
                unpublish_at: Some(until),
            } => format!("retired  published until {}", at(until)),
            KeyState::Retired { unpublish_at: None } => "retired".to_owned(),
        };
        println!("{:<6} {}  {}", key.alg, key.kid, state);
    }
    println!("published in the JWKS: {} keys", ring.jwks().keys().len());
    Ok(())
}

async fn audit_list(settings: Settings, args: AuditArgs) -> anyhow::Result<()> {
    let ctx = admin_context(&settings)?;
    let events = admin::events::list(&ctx, args.account, args.since, args.limit).await?;
    if args.json {
        let rows: Vec<_> = events.iter().map(audit_json).collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "{:<20} {:<15} {:<7} {:<11} {:<24} {:<15} DETAIL",
            "AT (UTC)", "KIND", "OUTCOME", "ACCOUNT", "CLIENT", "IP"
        );
        for e in &events {
            let account = e.account_id.map(|a| a.to_string());
            println!(
                "{:<20} {:<15} {:<7} {:<11} {:<24} {:<15} {}",
                e.at.format("%Y-%m-%d %H:%M:%S"),
                e.kind,
                e.outcome,
                account.as_deref().unwrap_or("-"),
                e.client_id.as_deref().unwrap_or("-"),
                e.ip.as_deref().unwrap_or("-"),
                e.detail.as_deref().unwrap_or("-"),
            );
        }
    }
    Ok(())
}

fn audit_json(e: &crate::db::models::audit::AuditRecord) -> serde_json::Value {
    serde_json::json!({
        "id": e.id,
        "at": e.at.to_rfc3339(),
        "kind": e.kind,
        "outcome": e.outcome,
        "account_id": e.account_id,
        "client_id": e.client_id,
        "ip": e.ip,
        "user_agent": e.user_agent,
        "detail": e.detail,
    })
}

/// Credentials for a service, readable by its owner only.
fn write_env_file(
    path: &std::path::Path,
    client_id: &str,
    secret: Option<&str>,
) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(file, "ONEID_APP_CLIENT_ID={client_id}")?;
    if let Some(secret) = secret {
        writeln!(file, "ONEID_APP_CLIENT_SECRET={secret}")?;
    }
    Ok(())
}

/// Waits until the database answers and is migrated, so that `oneid serve` started beside its
/// database (compose, a reboot) waits for it instead of failing in a restart loop. Settings
/// errors are not retried: they stop the start as before, from `Application::build`.
async fn wait_for_database(settings: &Settings) {
    let mut delay = std::time::Duration::from_secs(1);
    loop {
        match open_database(settings) {
            Ok(_) => return,
            // A SQLite file that cannot be opened is a settings problem; a server may come up.
            Err(e) if is_unreachable(&e) && !settings.database_url.starts_with("sqlite:") => {
                tracing::warn!(error = %format!("{e:#}"), retry_in_secs = delay.as_secs(), "database not reachable yet");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(30));
            }
            Err(_) => return,
        }
    }
}

fn is_unreachable(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<crate::db::DbError>(),
            Some(crate::db::DbError::Unavailable(_))
        )
    })
}
