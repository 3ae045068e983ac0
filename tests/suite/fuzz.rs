//! Random parameter soups to every endpoint, signed in and not: whatever arrives, the answer is
//! never a 5xx, never a dropped connection, and no thread of the server panics.
//!
//! Seeded, so a failure repeats: the seed is printed and `ONEID_FUZZ_SEED` replays it;
//! `ONEID_FUZZ_ROUNDS` runs longer than the default few seconds.

use std::sync::{Mutex, Once};

use oneid::oauth::registry::Registration;
use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};

use super::helpers::{CALLBACK, TestApp, registration, sign_up_asha};

/// Every route of `web::routes`, with a path parameter filled in where there is one.
const ENDPOINTS: &[&str] = &[
    "/",
    "/account",
    "/signup",
    "/signup/verify",
    "/signup/resend",
    "/continue",
    "/continue/verify",
    "/continue/resend",
    "/continue/create",
    "/login",
    "/logout",
    "/login/code",
    "/reset",
    "/unlock",
    "/recover/verify",
    "/recover/resend",
    "/lang/hi",
    "/lang/%F0%9F%98%80",
    "/static/style.css",
    "/healthz",
    "/readyz",
    "/.well-known/openid-configuration",
    "/jwks.json",
    "/authorize",
    "/authorize/resume",
    "/consent",
    "/token",
    "/userinfo",
    "/revoke",
    "/introspect",
    "/end-session",
    "/end-session/confirm",
];

/// Parameter names the endpoints read, and a few they do not.
const NAMES: &[&str] = &[
    "client_id",
    "client_secret",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "state",
    "nonce",
    "max_age",
    "prompt",
    "login_hint",
    "id_token_hint",
    "ui_locales",
    "code_challenge",
    "code_challenge_method",
    "request",
    "request_uri",
    "claims",
    "acr_values",
    "grant_type",
    "code",
    "code_verifier",
    "refresh_token",
    "token",
    "token_type_hint",
    "access_token",
    "post_logout_redirect_uri",
    "csrf",
    "identifier",
    "password",
    "password_confirm",
    "name",
    "decision",
    "then",
    "issued",
    "signature",
    "expires_in",
    "",
    "\u{202e}name",
    "a[b]",
];

/// Numbers at the edges of what a parser may hold.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-1",
    "1",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854776",
    "99999999999999999999999999999999",
    "1e309",
    "NaN",
    "0x10",
    "٣",
];

/// Odd unicode: bidi overrides, NUL, astral, combining, zero-width, full-width, a lone BOM.
const ODD: &[&str] = &[
    "\u{202e}abc",
    "a\u{0}b",
    "𝕏𝕐",
    "e\u{301}\u{301}\u{301}",
    "\u{200b}",
    "ｆｕｌｌ",
    "\u{feff}",
    "🏳️‍🌈",
    "%00",
    "%ZZ",
    "<script>",
    "\"'",
    "a.b.c",
    "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    "eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.e30.AAAA",
    "none login",
    "openid profile email phone offline_access",
    "code",
    "form_post",
    "S256",
    "authorization_code",
    "refresh_token",
    "+919812345678",
    "asha@example.com",
    "123456789",
];

/// Panics seen on threads that are not a test's own (the server's workers and pools).
static SERVER_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records every panic outside the test threads (libtest names those after the test, or
/// `main` with one test thread), then runs the usual hook.
fn watch_for_server_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("<unnamed>");
            if !name.contains("::") && name != "main" {
                SERVER_PANICS
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(format!("{name}: {info}"));
            }
            previous(info);
        }));
    });
}

fn value(rng: &mut StdRng, known: &[String]) -> String {
    match rng.gen_range(0..10) {
        0 => NUMBERS.choose(rng).unwrap().to_string(),
        1 => ODD.choose(rng).unwrap().to_string(),
        2 => known.choose(rng).unwrap().clone(),
        // Huge, but within the form limit now and then.
        3 => "A".repeat(*[100, 3_000, 15_000].choose(rng).unwrap()),
        4 => String::new(),
        5 => (0..rng.gen_range(1..40))
            .map(|_| char::from_u32(rng.gen_range(0x20..0x3000)).unwrap_or('?'))
            .collect(),
        _ => {
            let mut v = ODD.choose(rng).unwrap().to_string();
            v.push_str(NUMBERS.choose(rng).unwrap());
            v
        }
    }
}

/// A soup of parameters: known and unknown names, some sent twice.
fn soup(rng: &mut StdRng, known: &[String]) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for _ in 0..rng.gen_range(0..12) {
        let name = NAMES.choose(rng).unwrap().to_string();
        pairs.push((name.clone(), value(rng, known)));
        if rng.gen_bool(0.15) {
            pairs.push((name, value(rng, known)));
        }
    }
    pairs
}

#[tokio::test]
async fn random_parameter_soups_never_get_a_5xx_or_a_panic() {
    watch_for_server_panics();
    let seed = std::env::var("ONEID_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    let rounds: usize = std::env::var("ONEID_FUZZ_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    eprintln!("fuzz seed {seed} (ONEID_FUZZ_SEED={seed} replays it)");
    let mut rng = StdRng::seed_from_u64(seed);

    let app = TestApp::spawn().await;
    let (public, _) = app
        .register(Registration {
            public: true,
            post_logout_redirect_uris: vec!["https://rp.example/bye".into()],
            ..registration("Talk", true)
        })
        .await;
    let (confidential, secret) = app.register(registration("Photo", false)).await;
    let signed_in = app.browser();
    sign_up_asha(&app, &signed_in).await;
    let known = vec![
        public,
        confidential.clone(),
        secret.unwrap_or_default(),
        CALLBACK.to_owned(),
        "https://rp.example/bye".to_owned(),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned(),
    ];

    let mut failures = Vec::new();
    let mut sent = 0;
    for _ in 0..rounds {
        for endpoint in ENDPOINTS {
            for post in [false, true] {
                for browser in [&signed_in, &app.browser()] {
                    let pairs = soup(&mut rng, &known);
                    let url = format!("{}{endpoint}", app.base);
                    let mut request = if post {
                        let body = url::form_urlencoded::Serializer::new(String::new())
                            .extend_pairs(&pairs)
                            .finish();
                        let content_type = *[
                            "application/x-www-form-urlencoded",
                            "application/json",
                            "text/plain; charset=utf-8",
                            "multipart/form-data; boundary=x",
                        ]
                        .choose(&mut rng)
                        .unwrap();
                        browser
                            .client
                            .post(&url)
                            .header(CONTENT_TYPE, content_type)
                            .body(body)
                    } else {
                        browser.client.get(&url).query(&pairs)
                    };
                    if rng.gen_bool(0.2) {
                        let header = format!(
                            "{} {}",
                            ["Bearer", "bearer", "Basic", "basic", "Digest"]
                                .choose(&mut rng)
                                .unwrap(),
                            value(&mut rng, &known).replace(['\r', '\n', '\0'], "")
                        );
                        if let Ok(header) = reqwest::header::HeaderValue::from_str(&header) {
                            request = request.header(AUTHORIZATION, header);
                        }
                    }
                    sent += 1;
                    let what = format!(
                        "{} {endpoint} {:?}",
                        if post { "POST" } else { "GET" },
                        pairs
                            .iter()
                            .map(|(k, v)| (k.as_str(), v.chars().take(40).collect::<String>()))
                            .collect::<Vec<_>>()
                    );
                    match request.send().await {
                        Ok(response) if response.status().is_server_error() => {
                            failures.push(format!("{} for {what}", response.status()));
                        }
                        Ok(_) => {}
                        Err(e) => failures
                            .push(format!("connection error {} for {what}", e.without_url())),
                    }
                }
            }
        }
    }
    let panics = SERVER_PANICS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    assert!(
        failures.is_empty() && panics.is_empty(),
        "seed {seed}, {sent} requests: {} failures, {} panics\n{}\n{}",
        failures.len(),
        panics.len(),
        failures.join("\n"),
        panics.join("\n")
    );
}
