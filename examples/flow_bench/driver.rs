//! The flow driver of `flow_bench`: browsers with their own cookie jars, the code flow with a
//! sign-in or riding a session, and the load loop that measures them. Also compiled into the
//! integration suite, whose smoke test drives OneID with it so the benchmark cannot break
//! unnoticed.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, anyhow, bail, ensure};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use clap::Args;
use rand::{Rng as _, distributions::Alphanumeric};
use sha2::{Digest as _, Sha256};
use url::Url;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Provider {
    Oneid,
    Node,
}

#[derive(Args, Clone)]
pub struct Load {
    /// The provider's base URL (its issuer).
    #[arg(long)]
    pub base: String,
    #[arg(long, value_enum, default_value = "oneid")]
    pub provider: Provider,
    #[arg(long, default_value = "")]
    pub client_id: String,
    #[arg(long, default_value = "")]
    pub client_secret: String,
    #[arg(long, default_value = "http://127.0.0.1:9/callback")]
    pub redirect_uri: String,
    #[arg(long, default_value = "openid")]
    pub scope: String,
    /// The login typed into the sign-in form; `{n}` in it becomes a random number in
    /// 1..=`--accounts`, formatted as 8 digits (seeded accounts are +9198 followed by them).
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub password: String,
    #[arg(long, default_value_t = 1)]
    pub accounts: u32,
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    #[arg(long, default_value_t = 10.0)]
    pub warmup: f64,
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    #[arg(long, default_value_t = 3)]
    pub samples: usize,
    /// The server's process ID, for its CPU time per operation (utime + stime from /proc).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    pub clk_tck: u32,
}

// ---------------------------------------------------------------------------------------------
// A browser: its own cookie jar over a shared connection pool.

/// One cookie as a browser keeps it: by name and path (RFC 6265 §5.3; the domain is always the
/// provider's host here).
struct Cookie {
    name: String,
    path: String,
    value: String,
}

/// The cookie jar is the driver's own, not reqwest's: a fresh-sign-in flow needs an empty jar
/// per flow, and a jar per reqwest client would cost a client (and new connections) per flow.
#[derive(Default)]
struct Jar(Vec<Cookie>);

impl Jar {
    /// RFC 6265 §5.2: `name=value` then attributes; a past expiry or `Max-Age` <= 0 deletes.
    fn store(&mut self, set_cookie: &str, request_path: &str) {
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
        let mut path = None;
        let mut delete = false;
        for attribute in parts {
            let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
            match key.trim().to_ascii_lowercase().as_str() {
                "path" if val.starts_with('/') => path = Some(val.trim().to_owned()),
                "max-age" => delete |= val.trim().parse::<i64>().is_ok_and(|age| age <= 0),
                "expires" => delete |= val.contains("1970"),
                _ => {}
            }
        }
        // §5.1.4: the default path is the request path up to its last slash.
        let path = path.unwrap_or_else(|| match request_path.rfind('/') {
            Some(0) | None => "/".to_owned(),
            Some(i) => request_path[..i].to_owned(),
        });
        self.0.retain(|c| !(c.name == name && c.path == path));
        if !delete {
            self.0.push(Cookie { name, path, value });
        }
    }

    /// The `Cookie` header for a request to `path` (§5.1.4 path-match).
    fn header(&self, path: &str) -> Option<String> {
        let matching: Vec<String> = self
            .0
            .iter()
            .filter(|c| {
                path == c.path
                    || (path.starts_with(&c.path)
                        && (c.path.ends_with('/') || path[c.path.len()..].starts_with('/')))
            })
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        (!matching.is_empty()).then(|| matching.join("; "))
    }
}

struct Reply {
    status: u16,
    location: Option<Url>,
    body: String,
}

struct Browser {
    http: reqwest::Client,
    jar: Jar,
}

impl Browser {
    fn new(http: &reqwest::Client) -> Self {
        Self {
            http: http.clone(),
            jar: Jar::default(),
        }
    }

    async fn get(&mut self, url: &Url) -> anyhow::Result<Reply> {
        let request = self.http.get(url.clone());
        self.send(url, request).await
    }

    async fn post_form(&mut self, url: &Url, form: &[(String, String)]) -> anyhow::Result<Reply> {
        let request = self.http.post(url.clone()).form(form);
        self.send(url, request).await
    }

    async fn send(&mut self, url: &Url, request: reqwest::RequestBuilder) -> anyhow::Result<Reply> {
        let request = match self.jar.header(url.path()) {
            Some(cookies) => request.header(reqwest::header::COOKIE, cookies),
            None => request,
        };
        let response = request.send().await.with_context(|| format!("{url}"))?;
        for set_cookie in response.headers().get_all(reqwest::header::SET_COOKIE) {
            if let Ok(set_cookie) = set_cookie.to_str() {
                self.jar.store(set_cookie, url.path());
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(|l| url.join(l))
            .transpose()?;
        let body = response.text().await?;
        Ok(Reply {
            status,
            location,
            body,
        })
    }
}

/// `&amp;` and the other escapes template engines put in attribute values.
fn unescape(value: &str) -> String {
    value
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&#x3d;", "=")
        .replace("&#x3D;", "=")
        .replace("&#61;", "=")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of attribute `name` in one HTML tag (double-quoted, as both providers write them).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

/// Fills in the page's sign-in form (the form with a password field) as a person would: every
/// hidden field kept, the text field given the login, the password field the password.
/// Returns the URL to post to and the fields.
fn fill_sign_in_form(
    page: &Url,
    body: &str,
    login: &str,
    password: &str,
) -> anyhow::Result<(Url, Vec<(String, String)>)> {
    let form = body
        .split("<form")
        .skip(1)
        .map(|f| f.split("</form>").next().unwrap_or(f))
        .find(|f| f.contains("type=\"password\""))
        .ok_or_else(|| anyhow!("no sign-in form on {page}"))?;
    let action = attribute(&format!(" {form}"), "action").unwrap_or_default();
    let action = page.join(&action)?;
    let mut fields = Vec::new();
    for input in form.split("<input").skip(1) {
        let tag = format!(" {}", input.split('>').next().unwrap_or_default());
        let Some(name) = attribute(&tag, "name") else {
            continue;
        };
        let value = match attribute(&tag, "type").as_deref() {
            Some("password") => password.to_owned(),
            Some("hidden") => attribute(&tag, "value").unwrap_or_default(),
            _ => login.to_owned(),
        };
        fields.push((name, value));
    }
    Ok((action, fields))
}

// ---------------------------------------------------------------------------------------------
// The flows.

/// What every flow needs: the provider's endpoints from its discovery document, the client.
struct Target {
    load: Load,
    issuer: String,
    authorization_endpoint: Url,
    token_endpoint: Url,
    login_page: Url,
}

impl Target {
    async fn discover(http: &reqwest::Client, load: Load) -> anyhow::Result<Self> {
        let base = load.base.trim_end_matches('/').to_owned();
        let discovery: serde_json::Value = http
            .get(format!("{base}/.well-known/openid-configuration"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let url = |key: &str| -> anyhow::Result<Url> {
            let value = discovery[key]
                .as_str()
                .ok_or_else(|| anyhow!("discovery has no {key}"))?;
            Ok(Url::parse(value)?)
        };
        Ok(Self {
            issuer: discovery["issuer"]
                .as_str()
                .ok_or_else(|| anyhow!("discovery has no issuer"))?
                .to_owned(),
            authorization_endpoint: url("authorization_endpoint")?,
            token_endpoint: url("token_endpoint")?,
            login_page: Url::parse(&format!("{base}/login"))?,
            load,
        })
    }

    /// The login to type: `{n}` becomes a random account number.
    fn login(&self) -> String {
        let n = rand::thread_rng().gen_range(1..=self.load.accounts.max(1));
        self.load.username.replace("{n}", &format!("{n:08}"))
    }
}

fn random_string(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// The JOSE header's `alg` of a JWT, or "opaque" for anything else.
fn token_alg(token: &str) -> String {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(header), Some(_), Some(_), None) => URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
            .and_then(|h| h["alg"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "?".to_owned()),
        _ => "opaque".to_owned(),
    }
}

/// The signature algorithms of what the app received.
#[derive(Clone, Default)]
pub struct Algs {
    pub id_token: String,
    pub access_token: String,
}

/// One authorization-code flow (RFC 6749 §4.1 with PKCE, RFC 7636, and OIDC's nonce): the
/// browser is sent to the authorization endpoint and follows the provider's redirects; a
/// sign-in form is filled in when `sign_in` allows it (an SSO flow must not meet one); the
/// redirect to the app must carry our `state`, the provider's `iss` (RFC 9207) and a code;
/// the app then redeems the code and checks the ID token.
async fn code_flow(
    target: &Target,
    browser: &mut Browser,
    sign_in: Option<&str>,
) -> anyhow::Result<Algs> {
    let load = &target.load;
    let verifier = random_string(64);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let state = random_string(22);
    let nonce = random_string(22);
    let mut url = target.authorization_endpoint.clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &load.client_id)
        .append_pair("redirect_uri", &load.redirect_uri)
        .append_pair("scope", &load.scope)
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    // The app says whom it expects (OIDC Core §3.1.2.1 `login_hint`), as an app does for a
    // returning person: OneID then shows its password sign-in instead of "continue with your
    // number" (which signs in with a code); the peer's development login page does not use it.
    if let Some(login) = sign_in {
        url.query_pairs_mut().append_pair("login_hint", login);
    }
    let mut reply = browser.get(&url).await?;
    let mut signed_in = false;
    let callback = 'follow: {
        for _ in 0..10 {
            if (300..400).contains(&reply.status) {
                let next = reply
                    .location
                    .take()
                    .ok_or_else(|| anyhow!("{} without a Location", reply.status))?;
                if next.as_str().starts_with(&load.redirect_uri) {
                    break 'follow next;
                }
                url = next;
                reply = browser.get(&url).await?;
            } else if reply.status == 200 && !signed_in {
                let login = sign_in.ok_or_else(|| anyhow!("a sign-in page in an SSO flow"))?;
                let (action, form) = fill_sign_in_form(&url, &reply.body, login, &load.password)?;
                signed_in = true;
                url = action;
                reply = browser.post_form(&url, &form).await?;
            } else {
                bail!("{} from {url}: {:.300}", reply.status, reply.body);
            }
        }
        bail!("more than 10 steps before the redirect to the app");
    };
    let params: HashMap<String, String> = callback.query_pairs().into_owned().collect();
    if let Some(error) = params.get("error") {
        bail!("the app got error={error}");
    }
    ensure!(params.get("state") == Some(&state), "state differs");
    ensure!(
        params.get("iss") == Some(&target.issuer),
        "iss missing or wrong"
    );
    let code = params.get("code").ok_or_else(|| anyhow!("no code"))?;
    redeem(target, &browser.http, code, &verifier, &nonce).await
}

/// The app's token request with client_secret_basic (RFC 6749 §2.3.1: id and secret
/// form-encoded before base64), and the checks an app makes of the answer.
async fn redeem(
    target: &Target,
    http: &reqwest::Client,
    code: &str,
    verifier: &str,
    nonce: &str,
) -> anyhow::Result<Algs> {
    let load = &target.load;
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let response = http
        .post(target.token_endpoint.clone())
        .basic_auth(encode(&load.client_id), Some(encode(&load.client_secret)))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &load.redirect_uri),
            ("code_verifier", verifier),
        ])
        .send()
        .await?;
    let status = response.status();
    let body = response.text().await?;
    ensure!(status.is_success(), "token endpoint: {status}: {body:.300}");
    let tokens: serde_json::Value = serde_json::from_str(&body)?;
    let access_token = tokens["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| anyhow!("no access_token"))?;
    let id_token = tokens["id_token"]
        .as_str()
        .ok_or_else(|| anyhow!("no id_token"))?;
    let payload = id_token
        .split('.')
        .nth(1)
        .ok_or_else(|| anyhow!("id_token is not a JWS"))?;
    let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?;
    ensure!(claims["iss"] == target.issuer.as_str(), "id_token iss");
    let aud_ok = match &claims["aud"] {
        serde_json::Value::String(aud) => *aud == load.client_id,
        serde_json::Value::Array(auds) => auds.iter().any(|a| *a == load.client_id.as_str()),
        _ => false,
    };
    ensure!(aud_ok, "id_token aud");
    ensure!(claims["nonce"] == nonce, "id_token nonce");
    Ok(Algs {
        id_token: token_alg(id_token),
        access_token: token_alg(access_token),
    })
}

/// OneID's password sign-in alone: the sign-in page for its form (untimed), then the POST,
/// timed, which must redirect to the account page.
async fn password_sign_in(target: &Target, browser: &mut Browser) -> anyhow::Result<Duration> {
    let page = browser.get(&target.login_page).await?;
    ensure!(page.status == 200, "GET /login: {}", page.status);
    let (action, form) = fill_sign_in_form(
        &target.login_page,
        &page.body,
        &target.login(),
        &target.load.password,
    )?;
    let started = Instant::now();
    let reply = browser.post_form(&action, &form).await?;
    let took = started.elapsed();
    ensure!(
        reply.status == 303
            && reply
                .location
                .as_ref()
                .is_some_and(|l| l.path() == "/account"),
        "POST /login: {} {:?}: {:.300}",
        reply.status,
        reply.location.as_ref().map(Url::as_str),
        reply.body
    );
    Ok(took)
}

// ---------------------------------------------------------------------------------------------
// Load: workers, windows, numbers.

/// One finished operation: when it ended, how long it took, whether it was right.
struct Op {
    at: Instant,
    took: Duration,
    ok: bool,
}

/// utime + stime of `pid`, in clock ticks (proc(5): fields 14 and 15 of /proc/PID/stat).
fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces; the fields after it are counted from its ')'.
    let after = &stat[stat.rfind(')').ok_or_else(|| anyhow!("odd /proc stat"))? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    Ok(fields[11].parse::<u64>()? + fields[12].parse::<u64>()?)
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

pub async fn drive(mode: &'static str, load: Load) -> anyhow::Result<Report> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(load.concurrency * 2)
        .timeout(Duration::from_secs(30))
        .build()?;
    let target = Arc::new(Target::discover(&http, load.clone()).await?);
    let stop = Arc::new(AtomicBool::new(false));
    let algs = Arc::new(Mutex::new(None::<Algs>));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let mut workers = Vec::new();
    // SSO browsers sign in before the clock starts.
    let mut browsers = Vec::new();
    for _ in 0..load.concurrency {
        let mut browser = Browser::new(&http);
        if mode == "sso" {
            let login = target.login();
            let got = code_flow(&target, &mut browser, Some(&login))
                .await
                .context("signing in the SSO browsers")?;
            *algs.lock().unwrap() = Some(got);
        }
        browsers.push(browser);
    }
    for mut browser in browsers {
        let (target, stop, algs, first_error) = (
            target.clone(),
            stop.clone(),
            algs.clone(),
            first_error.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut ops = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let result = match mode {
                    "sso" => code_flow(&target, &mut browser, None).await.map(Some),
                    "fresh" => {
                        browser.jar = Jar::default();
                        let login = target.login();
                        code_flow(&target, &mut browser, Some(&login))
                            .await
                            .map(Some)
                    }
                    _ => {
                        browser.jar = Jar::default();
                        match password_sign_in(&target, &mut browser).await {
                            Ok(took) => {
                                ops.push(Op {
                                    at: Instant::now(),
                                    took,
                                    ok: true,
                                });
                                continue;
                            }
                            Err(e) => Err(e),
                        }
                    }
                };
                let ok = match result {
                    Ok(got) => {
                        if let Some(got) = got {
                            algs.lock().unwrap().get_or_insert(got);
                        }
                        true
                    }
                    Err(e) => {
                        first_error.lock().unwrap().get_or_insert(format!("{e:#}"));
                        false
                    }
                };
                ops.push(Op {
                    at: Instant::now(),
                    took: started.elapsed(),
                    ok,
                });
            }
            ops
        }));
    }
    let ticks = |pid: Option<u32>| pid.map(cpu_ticks).transpose();
    tokio::time::sleep(Duration::from_secs_f64(load.warmup)).await;
    let mut windows = Vec::new();
    for _ in 0..load.samples {
        let (start, cpu_start) = (Instant::now(), ticks(load.server_pid)?);
        tokio::time::sleep(Duration::from_secs_f64(load.duration)).await;
        windows.push((start, Instant::now(), cpu_start, ticks(load.server_pid)?));
    }
    stop.store(true, Ordering::Relaxed);
    let mut ops = Vec::new();
    for worker in workers {
        ops.extend(worker.await?);
    }
    let algs = algs.lock().unwrap().clone().unwrap_or_default();
    let windows = windows
        .into_iter()
        .map(|(start, end, cpu_start, cpu_end)| {
            let inside: Vec<&Op> = ops
                .iter()
                .filter(|op| op.at >= start && op.at < end)
                .collect();
            let errors = inside.iter().filter(|op| !op.ok).count();
            let mut took: Vec<Duration> =
                inside.iter().filter(|op| op.ok).map(|op| op.took).collect();
            took.sort();
            let cpu_ms_per_op = match (cpu_start, cpu_end) {
                (Some(a), Some(b)) if !took.is_empty() => {
                    Some((b - a) as f64 * 1000.0 / f64::from(load.clk_tck) / took.len() as f64)
                }
                _ => None,
            };
            Window {
                ops: took.len(),
                secs: (end - start).as_secs_f64(),
                errors,
                p50_ms: percentile(&took, 0.5),
                p99_ms: percentile(&took, 0.99),
                cpu_ms_per_op,
            }
        })
        .collect();
    let first_error = first_error.lock().unwrap().take();
    Ok(Report {
        mode,
        windows,
        algs,
        first_error,
    })
}

/// One measured window of a load run.
pub struct Window {
    /// Operations completed right.
    pub ops: usize,
    pub secs: f64,
    pub errors: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The server's CPU time per right operation, with `--server-pid`.
    pub cpu_ms_per_op: Option<f64>,
}

/// What a load run measured: its windows, the algorithms of the tokens received, and the first
/// error met (warm-up included).
pub struct Report {
    pub mode: &'static str,
    pub windows: Vec<Window>,
    pub algs: Algs,
    pub first_error: Option<String>,
}
