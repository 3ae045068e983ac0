//! The `oneid` binary: user management, migrations, settings errors, and the real server
//! process (logs without secrets, state across restarts, graceful stop).

use std::{
    io::Write,
    process::{Command, Output, Stdio},
    time::Duration,
};

use tempfile::TempDir;

use super::helpers::{Browser, OutboxLine, ScaleBackends, on_scale_pair};

/// A folder for one test's files and, on the scale pair, its own schema and key prefix.
struct CliEnv {
    dir: TempDir,
    scale: Option<ScaleBackends>,
}

impl CliEnv {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            scale: on_scale_pair().then(ScaleBackends::create),
        }
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }
}

fn oneid(dir: &CliEnv) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_oneid"));
    command.env_clear().env(
        "ONEID_DATABASE_URL",
        format!("sqlite://{}", dir.path().join("oneid.db").display()),
    );
    if let Some(scale) = &dir.scale {
        command
            .env("ONEID_DATABASE_URL", scale.schema.url())
            .env("ONEID_REDIS_URL", &scale.redis_url)
            .env("ONEID_REDIS__KEY_PREFIX", scale.redis_prefix());
    }
    command
        .env("ONEID_OUTBOX", dir.path().join("outbox.jsonl"))
        .env(
            "ONEID_KEYS__ENCRYPTION_KEY_FILE",
            dir.path().join("keys.secret"),
        )
        .env("RUST_LOG", "info");
    command
}

fn run(mut command: Command, stdin: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn user_add_and_list_with_json() {
    let dir = CliEnv::new();
    let mut add = oneid(&dir);
    add.args([
        "user",
        "add",
        "--phone",
        "98123 45678",
        "--name",
        "Asha Devi",
        "--password-stdin",
        "--json",
    ]);
    let output = run(add, "operator chosen password\n");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let created: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    let account_id = created["account_id"].as_i64().unwrap();
    assert!((100_000_000..=9_999_999_999).contains(&account_id));
    assert_eq!(created["sub"].as_str().unwrap().len(), 22);
    assert!(!text(&output.stderr).contains("operator chosen password"));

    let mut email = oneid(&dir);
    email.args([
        "user",
        "add",
        "--email",
        "Ravi@Example.com",
        "--password-stdin",
    ]);
    assert!(run(email, "another password\n").status.success());

    let mut list = oneid(&dir);
    list.args(["user", "list", "--json"]);
    let output = run(list, "");
    let accounts: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[0]["phone"], "+919812345678");
    assert_eq!(accounts[0]["account_id"].as_i64(), Some(account_id));
    assert_eq!(accounts[1]["email"], "ravi@example.com");
    assert_eq!(
        accounts[1]["name"], "ravi",
        "the name defaults to the mailbox"
    );
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("argon2"),
        "hashes are never listed"
    );

    let mut table = oneid(&dir);
    table.args(["user", "list"]);
    let output = text(&run(table, "").stdout);
    assert!(
        output.contains("ACCOUNT ID") && output.contains(&account_id.to_string()),
        "{output}"
    );
}

#[test]
fn user_add_refuses_duplicates_and_bad_input_with_a_message() {
    let dir = CliEnv::new();
    let add = |contact: &[&str], password: &str| {
        let mut command = oneid(&dir);
        command
            .args(["user", "add"])
            .args(contact)
            .arg("--password-stdin");
        run(command, password)
    };
    assert!(
        add(&["--email", "asha@example.com"], "long password\n")
            .status
            .success()
    );
    let duplicate = add(&["--email", "ASHA@example.com"], "long password\n");
    assert_eq!(duplicate.status.code(), Some(1));
    assert!(
        text(&duplicate.stderr).contains("already belongs to an account"),
        "{}",
        text(&duplicate.stderr)
    );

    let bad_phone = add(&["--phone", "12345"], "long password\n");
    assert_eq!(bad_phone.status.code(), Some(1));
    assert!(text(&bad_phone.stderr).contains("--phone"));

    let short = add(&["--phone", "9812345678"], "short\n");
    assert!(!short.status.success() && text(&short.stderr).contains("8 characters"));

    let neither = add(&[], "long password\n");
    assert_eq!(
        neither.status.code(),
        Some(2),
        "clap refuses a missing --phone/--email"
    );
}

#[test]
fn migrate_applies_once_and_bad_settings_name_the_variable() {
    let dir = CliEnv::new();
    let mut migrate = oneid(&dir);
    migrate.arg("migrate");
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .count();
    assert!(text(&run(migrate, "").stdout).contains(&format!("{migrations} migration(s) applied")));
    let mut again = oneid(&dir);
    again.arg("migrate");
    assert!(text(&run(again, "").stdout).contains("0 migration(s) applied"));

    let mut bad = oneid(&dir);
    bad.env("ONEID_DEFAULT_REGION", "ZZ").arg("migrate");
    let output = run(bad, "");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("ONEID_DEFAULT_REGION"),
        "{}",
        text(&output.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_until_serving(base: &str) {
    for _ in 0..200 {
        if reqwest::get(format!("{base}/healthz"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("oneid did not start at {base}");
}

fn serve(dir: &CliEnv, port: u16, log: &std::path::Path) -> std::process::Child {
    let mut command = oneid(dir);
    command
        .env("ONEID_LISTEN", format!("127.0.0.1:{port}"))
        .env("ONEID_ISSUER", format!("http://127.0.0.1:{port}"))
        .env("ONEID_WORKERS", "1")
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap(),
        );
    command.spawn().unwrap()
}

#[tokio::test]
async fn the_server_logs_requests_but_never_secrets_and_keeps_accounts_across_restarts() {
    let dir = CliEnv::new();
    let log = dir.path().join("server.log");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = serve(&dir, port, &log);
    wait_until_serving(&base).await;

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let browser = Browser {
        client,
        base: base.clone(),
    };
    browser
        .request_signup_code("9812345678")
        .await
        .assert_redirect("/signup/verify");
    let outbox = std::fs::read_to_string(dir.path().join("outbox.jsonl")).unwrap();
    let message: OutboxLine = serde_json::from_str(outbox.lines().last().unwrap()).unwrap();
    let password = "Secret-Passphrase-4711";
    browser
        .enter_signup_code(&message.code, password, "Asha")
        .await
        .assert_redirect("/account");
    let account_id = browser.account_id().await.unwrap();

    // SIGTERM: actix finishes in-flight requests and exits cleanly.
    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || server.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "graceful exit, got {status}");

    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(
        logs.contains(r#"method=POST path="/signup/verify" status=303"#),
        "{logs}"
    );
    assert!(logs.contains("latency_ms="));
    assert!(
        logs.contains("+91 ******5678"),
        "recipients are logged masked:\n{logs}"
    );
    for secret in [password, "9812345678", message.code.as_str()] {
        assert!(
            !logs.contains(&format!("={secret}"))
                && !logs.contains(&format!(" {secret}"))
                && !logs.contains(password),
            "{secret} leaked:\n{logs}"
        );
    }
    let session_cookie = browser
        .client
        .get(format!("{base}/account"))
        .send()
        .await
        .err();
    drop(session_cookie);

    let mut server = serve(&dir, port, &log);
    wait_until_serving(&base).await;
    let again = Browser {
        client: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base,
    };
    again
        .sign_in(&account_id, password)
        .await
        .assert_redirect("/account");
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn keys_are_rotated_from_the_command_line() {
    let dir = CliEnv::new();
    let cli = |args: &[&str]| {
        let mut command = oneid(&dir);
        command.args(args);
        run(command, "")
    };
    let listed = text(&cli(&["keys", "list"]).stdout);
    assert_eq!(
        listed.matches("current").count(),
        3,
        "one current key per algorithm:\n{listed}"
    );
    assert!(listed.contains("published in the JWKS: 3 keys"), "{listed}");
    let rotated = cli(&["keys", "rotate", "--alg", "ES256"]);
    assert!(rotated.status.success(), "{}", text(&rotated.stderr));
    let rotated = text(&rotated.stdout);
    assert!(
        rotated.contains("published in the JWKS: 4 keys"),
        "the next key is published at once, the current one stays: {rotated}"
    );
    // The new key is announced before it signs: it starts 10 minutes later.
    assert!(
        rotated.contains("start signing at") && rotated.contains("(10 minutes"),
        "{rotated}"
    );
    let listed = text(&cli(&["keys", "list"]).stdout);
    assert_eq!(
        listed.matches("ES256").count(),
        2,
        "the current ES256 key and the next:\n{listed}"
    );
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("ES256") && l.contains("next     signs from")),
        "{listed}"
    );
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("ES256") && l.contains("current  until")),
        "{listed}"
    );
    assert_eq!(listed.matches("current").count(), 3, "{listed}");
    let refused = cli(&["keys", "rotate", "--alg", "HS256"]);
    assert!(!refused.status.success() && text(&refused.stderr).contains("HS256"));
    assert!(
        dir.path().join("keys.secret").exists(),
        "the key encryption key lives in the data folder"
    );
}

#[test]
fn clients_are_registered_listed_rotated_and_removed() {
    let dir = CliEnv::new();
    let cli = |args: &[&str]| {
        let mut command = oneid(&dir);
        command.args(args);
        run(command, "")
    };
    let added = cli(&[
        "client",
        "add",
        "--name",
        "Cloud",
        "--redirect-uri",
        "https://cloud.example.com/callback",
        "--redirect-uri",
        "http://127.0.0.1:8081/callback",
        "--post-logout-redirect-uri",
        "https://cloud.example.com/",
        "--backchannel-logout-uri",
        "https://cloud.example.com/backchannel-logout",
        "--first-party",
        "--grant",
        "client_credentials",
        "--json",
    ]);
    assert!(added.status.success(), "{}", text(&added.stderr));
    let created: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
    let (id, secret) = (
        created["client_id"].as_str().unwrap().to_owned(),
        created["client_secret"].as_str().unwrap().to_owned(),
    );
    assert_eq!(secret.len(), 43, "32 random bytes, base64url");

    let env_file = dir.path().join("talk.env");
    let with_file = cli(&[
        "client",
        "add",
        "--name",
        "Talk",
        "--redirect-uri",
        "http://talk.localhost:8082/callback",
        "--env-file",
        env_file.to_str().unwrap(),
    ]);
    assert!(with_file.status.success(), "{}", text(&with_file.stderr));
    let written = std::fs::read_to_string(&env_file).unwrap();
    assert!(
        written.starts_with("ONEID_APP_CLIENT_ID=")
            && written.contains("\nONEID_APP_CLIENT_SECRET="),
        "{written}"
    );
    #[cfg(unix)]
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&env_file).unwrap().permissions()
        ) & 0o777,
        0o600
    );
    let again = cli(&[
        "client",
        "add",
        "--name",
        "Talk",
        "--redirect-uri",
        "http://talk.localhost:8082/callback",
        "--env-file",
        env_file.to_str().unwrap(),
    ]);
    assert!(
        !again.status.success() && text(&again.stderr).contains("already exists"),
        "never overwritten, nothing registered twice"
    );

    let public = cli(&[
        "client",
        "add",
        "--name",
        "Talk mobile",
        "--redirect-uri",
        "http://127.0.0.1/callback",
        "--public",
        "--json",
    ]);
    let public: serde_json::Value = serde_json::from_slice(&public.stdout).unwrap();
    assert!(
        public.get("client_secret").is_none(),
        "a public client has no secret"
    );

    let shown: serde_json::Value =
        serde_json::from_slice(&cli(&["client", "show", &id]).stdout).unwrap();
    assert_eq!(shown["name"], "Cloud");
    assert_eq!(shown["first_party"], true);
    assert_eq!(shown["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(
        shown["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    assert_eq!(shown["redirect_uris"][1], "http://127.0.0.1:8081/callback");
    let everything =
        String::from_utf8_lossy(&cli(&["client", "list", "--json"]).stdout).into_owned();
    assert!(
        !everything.contains(&secret),
        "secrets are never shown again"
    );
    assert_eq!(
        serde_json::from_str::<Vec<serde_json::Value>>(&everything)
            .unwrap()
            .len(),
        3
    );

    let rotated: serde_json::Value =
        serde_json::from_slice(&cli(&["client", "rotate-secret", &id, "--json"]).stdout).unwrap();
    assert_ne!(rotated["client_secret"].as_str().unwrap(), secret);
    let public_id = public["client_id"].as_str().unwrap();
    let refused = cli(&["client", "rotate-secret", public_id]);
    assert!(
        !refused.status.success() && text(&refused.stderr).contains("public client"),
        "{refused:?}"
    );

    assert!(cli(&["client", "remove", &id]).status.success());
    let gone = cli(&["client", "show", &id]);
    assert!(!gone.status.success() && text(&gone.stderr).contains("no such client"));
}

#[test]
fn client_registrations_that_break_the_rules_are_refused() {
    let dir = CliEnv::new();
    let cli = |args: &[&str]| {
        let mut command = oneid(&dir);
        command.args(["client", "add", "--name", "X"]).args(args);
        run(command, "")
    };
    for (args, reason) in [
        (
            &["--redirect-uri", "http://cloud.example.com/cb"][..],
            "https is required",
        ),
        (
            &["--redirect-uri", "https://*.example.com/cb"][..],
            "wildcards",
        ),
        (
            &["--redirect-uri", "https://example.com/cb#x"][..],
            "fragment",
        ),
        (
            &[
                "--redirect-uri",
                "https://example.com/cb",
                "--scope",
                "openid admin",
            ][..],
            "the admin scope is only for a confidential client",
        ),
        (
            &[
                "--redirect-uri",
                "https://example.com/cb",
                "--public",
                "--grant",
                "client_credentials",
            ][..],
            "public client",
        ),
    ] {
        let output = cli(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(
            text(&output.stderr).contains(reason),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
    let mut list = oneid(&dir);
    list.args(["client", "list", "--json"]);
    assert_eq!(
        text(&run(list, "").stdout).trim(),
        "[]",
        "nothing half-registered"
    );
}

/// A fresh cookie jar at `base`.
fn new_browser(base: &str) -> Browser {
    Browser {
        client: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: base.to_owned(),
    }
}

#[tokio::test]
async fn a_server_killed_mid_flow_loses_nothing_it_acknowledged() {
    let dir = CliEnv::new();
    let log = dir.path().join("server.log");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut add = oneid(&dir);
    add.args([
        "client",
        "add",
        "--name",
        "Forum of a third party",
        "--redirect-uri",
        "http://127.0.0.1:9/callback",
        "--json",
    ]);
    let added = run(add, "");
    assert!(added.status.success(), "{}", text(&added.stderr));
    let client: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
    // RFC 7636 Appendix B's verifier and challenge.
    let authorize = format!(
        "/authorize?response_type=code&scope=openid&state=s&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&client_id={}",
        client["client_id"].as_str().unwrap()
    );

    let mut server = serve(&dir, port, &log);
    wait_until_serving(&base).await;
    let jwks_before = reqwest::get(format!("{base}/jwks.json"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let browser = new_browser(&base);
    browser
        .request_signup_code("9812345678")
        .await
        .assert_redirect("/signup/verify");
    let outbox = std::fs::read_to_string(dir.path().join("outbox.jsonl")).unwrap();
    let message: OutboxLine = serde_json::from_str(outbox.lines().last().unwrap()).unwrap();
    browser
        .enter_signup_code(&message.code, "correct horse", "Asha")
        .await
        .assert_redirect("/account");
    let account_id = browser.account_id().await.unwrap();
    let consent = browser.follow(browser.get(&authorize).await).await;
    let allowed = browser
        .post(
            "/consent",
            &[("csrf", &consent.csrf()), ("decision", "allow")],
        )
        .await;
    assert!(
        allowed
            .location
            .as_deref()
            .is_some_and(|l| l.contains("code=")),
        "consent given: {:?}",
        allowed.location
    );

    // SIGKILL: no chance to flush or finish anything.
    server.kill().unwrap();
    server.wait().unwrap();

    let mut server = serve(&dir, port, &log);
    wait_until_serving(&base).await;
    let again = new_browser(&base);
    again
        .sign_in(&account_id, "correct horse")
        .await
        .assert_redirect("/account");
    let back = again.get(&authorize).await;
    assert!(
        back.location
            .as_deref()
            .is_some_and(|l| l.starts_with("http://127.0.0.1:9/callback?code=")),
        "the consent survived: {:?}",
        back.location
    );
    let jwks_after = reqwest::get(format!("{base}/jwks.json"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(jwks_before, jwks_after, "the signing keys survived");
    server.kill().unwrap();
    server.wait().unwrap();
}

/// Adds an account by phone; returns its ID.
fn add_user(dir: &CliEnv, phone: &str) -> String {
    let mut add = oneid(dir);
    add.args([
        "user",
        "add",
        "--phone",
        phone,
        "--password-stdin",
        "--json",
    ]);
    let output = run(add, "operator chosen password\n");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let created: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    created["account_id"].as_i64().unwrap().to_string()
}

fn oneid_admin(dir: &CliEnv, args: &[&str]) -> Output {
    let mut command = oneid(dir);
    command.arg("admin").args(args);
    run(command, "")
}

#[test]
fn admin_grant_revoke_and_list_and_the_operator_may_remove_the_last_admin() {
    let dir = CliEnv::new();
    let first = add_user(&dir, "9812345601");
    let second = add_user(&dir, "9812345602");
    for id in [&first, &second] {
        let output = oneid_admin(&dir, &["grant", id]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        assert!(text(&output.stdout).contains("is now an administrator"));
    }
    let again = oneid_admin(&dir, &["grant", &first]);
    assert!(text(&again.stdout).contains("already"));
    let listed = oneid_admin(&dir, &["list", "--json"]);
    let admins: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    let ids: Vec<String> = admins.iter().map(|a| a["account_id"].to_string()).collect();
    assert_eq!(ids, [first.clone(), second.clone()]);
    assert!(admins.iter().all(|a| a["role"] == "admin"));

    for id in [&first, &second] {
        let output = oneid_admin(&dir, &["revoke", id]);
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    let listed = oneid_admin(&dir, &["list", "--json"]);
    assert_eq!(text(&listed.stdout).trim(), "[]");

    let unknown = oneid_admin(&dir, &["grant", "123456789"]);
    assert!(!unknown.status.success());
    assert!(
        text(&unknown.stderr).contains("no account 123456789"),
        "{}",
        text(&unknown.stderr)
    );
    let malformed = oneid_admin(&dir, &["grant", "not-an-id"]);
    assert!(!malformed.status.success());
}

#[test]
fn the_openapi_document_is_printed_for_tooling() {
    let dir = CliEnv::new();
    let output = oneid_admin(&dir, &["openapi"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(
        doc["paths"]["/admin/api/v1/admins"]["get"].is_object(),
        "{doc}"
    );
}
