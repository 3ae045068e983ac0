//! Middleware for every response: security headers, and one log line and the request
//! metrics per request.

use std::time::Instant;

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{self, HeaderValue},
    middleware::{DefaultHeaders, Next},
};

/// The Content-Security-Policy of every page (the consent page and the form_post page add to
/// it for what they alone show or run).
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";

/// The page CSP with one more image source: exactly `logo`, for the consent page that shows
/// the app's registered logo. `None` when the logo cannot be allowed on its own (not https,
/// user information in it, or a path ending in `/`, which CSP reads as a whole folder); the
/// page then shows no logo rather than a broken one.
///
/// A CSP source expression may be a full URL with a path (CSP Level 3 §2.3.1, host-source with
/// path-part); the browser then loads that one image and nothing else from the app's host (the
/// query is not part of the match, §6.7.2.10). `;` and `,` would end the directive or the
/// policy, so they are percent-encoded, as §2.3.1 asks.
pub fn page_csp_with_logo(logo: &url::Url) -> Option<String> {
    logo_source(logo).map(|source| page_csp_with_images(&[source]))
}

/// The page CSP with these image sources added (each from [`logo_source`]): the connected
/// apps page shows the logo of each app it lists, and loads nothing else from their hosts.
pub fn page_csp_with_images(sources: &[String]) -> String {
    if sources.is_empty() {
        return PAGE_CSP.to_owned();
    }
    PAGE_CSP.replacen(
        "img-src 'self' data:",
        &format!("img-src 'self' data: {}", sources.join(" ")),
        1,
    )
}

/// The page CSP plus exactly one inline script, allowed by the SHA-256 of its text (CSP
/// Level 2 §4.2 hash-source, honoured by every current browser): no other script, inline or
/// loaded, runs. For the pages whose forms carry the bot check's script (`pages::botcheck`).
pub fn page_csp_with_script(script: &str) -> String {
    use base64::{Engine, engine::general_purpose::STANDARD};
    use sha2::{Digest, Sha256};
    let hash = STANDARD.encode(Sha256::digest(script.as_bytes()));
    format!("{PAGE_CSP}; script-src 'sha256-{hash}'")
}

/// [`page_csp_with_script`], and the script may call back to OneID's own origin
/// (`connect-src 'self'`): for the passkey script, whose ceremonies are two JSON calls each
/// (`pages::passkeys`). Nothing else is loaded or connected to.
pub fn page_csp_with_script_and_fetch(script: &str) -> String {
    format!("{}; connect-src 'self'", page_csp_with_script(script))
}

/// The CSP source expression that allows exactly the image at `logo` (see
/// [`page_csp_with_logo`]); `None` when it cannot be allowed on its own.
pub fn logo_source(logo: &url::Url) -> Option<String> {
    let host = logo.host_str()?;
    let path = logo.path();
    if logo.scheme() != "https"
        || !logo.username().is_empty()
        || logo.password().is_some()
        || path.ends_with('/')
        || !path
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'\\' && b != b'\'' && b != b'"')
    {
        return None;
    }
    let port = logo.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = path.replace(';', "%3B").replace(',', "%2C");
    Some(format!("https://{host}{port}{path}"))
}

/// No script at all, styles from our own origin, no framing (clickjacking), and no referrer
/// that could carry a code or token to another site.
///
/// When the issuer is https (`https`), also HSTS and COOP:
/// - `Strict-Transport-Security: max-age=31536000; includeSubDomains` (RFC 6797): a browser
///   that has seen OneID once never again sends a request (and its session cookie) over plain
///   http, which a network attacker could otherwise strip. `includeSubDomains` covers only
///   names *below* the issuer's host (for `id.example.com`: `*.id.example.com`, not
///   `example.com` or its other subdomains), where no plain-http service of the identity
///   provider should live; it also stops a sibling cookie planted over http on such a name.
///   No `preload`: that is a decision for the domain's owner, hard to undo.
/// - `Cross-Origin-Opener-Policy: same-origin`: a page on another origin that opens OneID in
///   a window gets no handle to it (no `window.opener` tricks, no cross-window probing).
///
/// With an http issuer (loopback development only) neither is sent: HSTS on `localhost`
/// would pin every other local development server of that browser to https.
///
/// No `form-action`: browsers apply it to every redirect that follows a form submission, and
/// OneID's sign-in, sign-up and consent forms rightly end at an app's registered redirect URI
/// (found by the headless-browser test). Pages have no script and escape all output, so there is
/// no injected form for `form-action` to stop; the form_post page sets its own, naming the app.
pub fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, PAGE_CSP))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"));
    if https {
        headers
            .add((
                header::STRICT_TRANSPORT_SECURITY,
                "max-age=31536000; includeSubDomains",
            ))
            .add((
                header::HeaderName::from_static("cross-origin-opener-policy"),
                "same-origin",
            ))
    } else {
        headers
    }
}

/// One line per request: method, path, status, latency (and the same, under the route pattern,
/// in the metrics). The path only: query strings can carry codes and tokens, and cookies and
/// bodies are never logged.
pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    // Copied only when the line will be written: a server logging at `warn` pays nothing here.
    let line = tracing::enabled!(tracing::Level::INFO)
        .then(|| (req.method().clone(), req.path().to_owned()));
    let mut response = next.call(req).await?;
    // Pages are personal and carry CSRF tokens: never store them in shared caches.
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let elapsed = started.elapsed();
    super::metrics::observe_request(&response, elapsed);
    if let Some((method, path)) = line {
        let status = response.status().as_u16();
        let latency_ms = elapsed.as_secs_f64() * 1000.0;
        tracing::info!(%method, path, status, latency_ms = format_args!("{latency_ms:.1}"), "request");
    }
    Ok(response)
}

/// Cross-origin access for the endpoints a browser-based app (a public client running in the
/// page) calls directly: discovery, JWKS, token, UserInfo and revocation. Any origin, and never
/// with credentials: these endpoints trust only what a request carries (code and PKCE
/// verifier, client credentials, bearer token), never cookies, so a page on another origin
/// gains nothing it did not already hold. The pages themselves get no CORS at all.
pub fn protocol_cors() -> actix_cors::Cors {
    actix_cors::Cors::default()
        .allow_any_origin()
        .send_wildcard()
        .allowed_methods(["GET", "POST"])
        .allowed_headers([
            actix_web::http::header::AUTHORIZATION,
            actix_web::http::header::CONTENT_TYPE,
            actix_web::http::header::ACCEPT,
        ])
        .max_age(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csp(url: &str) -> Option<String> {
        page_csp_with_logo(&url.parse().unwrap())
    }

    #[test]
    fn a_script_is_allowed_by_its_hash_and_nothing_else() {
        // The CSP Level 2 example hash: SHA-256 of `alert('Hello, world.');`, in base64.
        let policy = page_csp_with_script("alert('Hello, world.');");
        assert_eq!(
            policy,
            format!("{PAGE_CSP}; script-src 'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='")
        );
        assert!(!PAGE_CSP.contains("script-src"), "pages are script-free");
    }

    #[test]
    fn a_logo_is_allowed_exactly_and_only_over_https() {
        let policy = csp("https://forum.example:8443/img/logo.png?v=2").unwrap();
        assert!(
            policy.contains("img-src 'self' data: https://forum.example:8443/img/logo.png;"),
            "{policy}"
        );
        assert!(policy.starts_with("default-src 'none';"));
        assert_eq!(
            csp("https://cdn.example/a;b,c.png").unwrap(),
            PAGE_CSP.replace(
                "img-src 'self' data:",
                "img-src 'self' data: https://cdn.example/a%3Bb%2Cc.png"
            )
        );
        for refused in [
            "http://forum.example/logo.png",
            "https://user:pw@forum.example/logo.png",
            "https://forum.example/",
            "https://forum.example/img/",
        ] {
            assert_eq!(csp(refused), None, "{refused}");
        }
    }
}
