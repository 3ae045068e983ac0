//! Passkeys on the web: the script (inlined, allowed by its hash in the CSP of exactly the pages
//! that show passkey controls: the sign-in page and the console's passkeys page), the JSON
//! endpoints' shared handling (bounded bodies, JSON errors in the person's language), and the
//! sign-in page's two ceremony endpoints. The ceremonies themselves are `account::passkeys`.
//!
//! `POST /login/passkey/start` `{"csrf", "identifier"?}` → `200 {"publicKey": {...}}` (the
//! options for `navigator.credentials.get()`, binary fields in base64url);
//! `POST /login/passkey/finish` `{"csrf", "credential": {...}}` → `200 {"redirect": "..."}`
//! once signed in. Refusals: `{"error": <code>, "message": <text in the page's language>}` with
//! 400 (bad JSON), 403 (CSRF), 404 (passkeys unavailable), 413 (body too large), 422 (refused),
//! 429 (the address's sign-in budget is spent).

use std::sync::LazyLock;

use actix_web::{
    HttpResponse,
    error::{InternalError, JsonPayloadError},
    http::{StatusCode, header},
    web,
};
use serde::Deserialize;
use webauthn_rs::prelude::PublicKeyCredential;

use crate::{
    account::{
        ServiceError,
        codes::BrowserTag,
        passkeys::{self, Failure, PasskeyOutcome, SignInFor},
    },
    domain::LoginIdentifier,
    i18n::Lang,
    state::AppState,
    web::{
        BrowserSession, RequestLang, WebError, middleware::page_csp_with_script_and_fetch,
        pages::login::after_sign_in,
    },
};

/// The script, inlined in the pages with passkey controls (inline for the reason the bot check's
/// is: see `pages::botcheck::SCRIPT`).
pub const SCRIPT: &str = include_str!("../../../static/passkeys.js");

/// The page CSP plus exactly this script by its hash, and `connect-src 'self'` for its calls to
/// the ceremony endpoints. Computed once from the script's bytes.
static CSP_WITH_SCRIPT: LazyLock<String> = LazyLock::new(|| page_csp_with_script_and_fetch(SCRIPT));

/// The CSP of a page that carries the passkey script.
pub fn csp_with_script() -> &'static str {
    &CSP_WITH_SCRIPT
}

/// Gives a rendered page with passkey controls the CSP that lets its script run. Every other
/// page keeps the script-free CSP.
pub(crate) fn allow_script(response: &mut HttpResponse) {
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(csp_with_script()),
    );
}

/// Whether this deployment offers passkeys (its issuer's host is a domain).
pub(crate) fn available(state: &AppState) -> bool {
    state.account.passkeys.is_some()
}

/// Largest ceremony body accepted: an attestation with a certificate chain fits several times.
pub const JSON_LIMIT_BYTES: usize = 64 * 1024;

/// The JSON extractor's settings for the ceremony endpoints: bounded, and a body that is not
/// JSON of the expected shape answered 400 (413 when too large) in JSON, before the handler
/// runs, so nothing is stored or taken.
pub(crate) fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(JSON_LIMIT_BYTES)
        .error_handler(|error, req| {
            let lang = RequestLang::from_request_head(req).0;
            let (status, code, key) = match &error {
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "passkey-error-bad-request",
                ),
                _ => (
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "passkey-error-bad-request",
                ),
            };
            tracing::info!(error = %error, "passkey request refused: not the expected JSON");
            InternalError::from_response(error, refusal(status, code, lang.t(key))).into()
        })
}

/// A JSON refusal: a stable `error` code for scripts and tests, and the `message` to show.
pub(crate) fn refusal(status: StatusCode, code: &str, message: String) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": code, "message": message }))
}

/// An error of the account logic, for a JSON endpoint: a spent limit is a 429 that says when to
/// come back (with `Retry-After`); anything else goes up as the page errors do.
pub(crate) fn service_refusal(lang: Lang, e: ServiceError) -> Result<HttpResponse, WebError> {
    match e {
        ServiceError::Limited(refused) => {
            let message = lang.t_args(
                refused.limit.message_key(),
                &[("minutes", refused.retry_after_minutes().to_string())],
            );
            let mut response = refusal(StatusCode::TOO_MANY_REQUESTS, "limited", message);
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(refused.retry_after_secs()),
            );
            Ok(response)
        }
        other => Err(other.into()),
    }
}

/// The ceremony's browser binding: a digest of the session's form token.
pub(crate) fn browser_of(session: &BrowserSession) -> BrowserTag {
    BrowserTag::new(session.0.csrf_token())
}

/// 404 in JSON: this deployment has no passkeys.
pub(crate) fn unavailable(lang: Lang) -> HttpResponse {
    refusal(
        StatusCode::NOT_FOUND,
        "unavailable",
        lang.t("passkey-error-unavailable"),
    )
}

#[derive(Deserialize)]
pub struct StartBody {
    csrf: String,
    /// What was typed in the sign-in page's identifier field; absent or empty: any passkey.
    #[serde(default)]
    identifier: Option<String>,
}

/// Starts a passkey sign-in: for the typed identifier, or for whichever passkey the person
/// picks.
pub async fn post_start(
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    body: web::Json<StartBody>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&body.csrf)?;
    if !available(&state) {
        return Ok(unavailable(lang));
    }
    let who = match body.identifier.as_deref().map(str::trim) {
        None | Some("") => SignInFor::Anyone,
        Some(typed) => match LoginIdentifier::parse(typed, state.settings.default_region) {
            Ok(identifier) => SignInFor::Identifier(identifier),
            Err(e) => {
                let response = refusal(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_identifier",
                    lang.t(e.message_key()),
                );
                return session.respond(&state, response).await;
            }
        },
    };
    let browser = browser_of(&session);
    let started = passkeys::start_sign_in(&state.account, who, &browser, session.client()).await;
    let response = match started {
        Ok(Some(options)) => HttpResponse::Ok().json(options),
        Ok(None) => unavailable(lang),
        Err(e) => service_refusal(lang, e)?,
    };
    session.respond(&state, response).await
}

#[derive(Deserialize)]
pub struct FinishBody {
    csrf: String,
    credential: PublicKeyCredential,
}

/// Finishes a passkey sign-in: signs the browser in with the passkey's methods and says where
/// to go next (the app's waiting request, or the account page).
pub async fn post_finish(
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    mut session: BrowserSession,
    body: web::Json<FinishBody>,
) -> Result<HttpResponse, WebError> {
    session.check_csrf(&body.csrf)?;
    if !available(&state) {
        return Ok(unavailable(lang));
    }
    let browser = browser_of(&session);
    let outcome =
        passkeys::finish_sign_in(&state.account, &body.credential, &browser, session.client())
            .await?;
    let response = match outcome {
        PasskeyOutcome::SignedIn { account, amr } => {
            tracing::info!(account_id = %account.id, "signed in with a passkey");
            session.sign_in(&state, account.id, amr).await?;
            let next = after_sign_in(&session);
            HttpResponse::Ok().json(serde_json::json!({ "redirect": next }))
        }
        PasskeyOutcome::Failed(failure) => failure_refusal(lang, failure),
    };
    session.respond(&state, response).await
}

/// What the person reads when an assertion was refused. Every failure a stranger could cause
/// reads the same; an account's state is said only after its passkey proved who asks (as a
/// password sign-in says it only after the right password).
pub(crate) fn failure_refusal(lang: Lang, failure: Failure) -> HttpResponse {
    // One code for every failure of the passkey itself: a decoy credential ID and a real one
    // with a forged signature must read alike (see `passkeys::start_sign_in`).
    let (code, key) = match failure {
        Failure::Unavailable => return unavailable(lang),
        Failure::NoCeremony => ("expired", "passkey-error-expired"),
        Failure::UnknownCredential | Failure::Invalid | Failure::CounterRegression => {
            ("not_accepted", "passkey-error-not-accepted")
        }
        Failure::Locked => ("locked", "login-locked"),
        Failure::Disabled => ("disabled", "login-disabled"),
        Failure::MustResetPassword => ("must_reset_password", "login-must-reset"),
    };
    refusal(StatusCode::UNPROCESSABLE_ENTITY, code, lang.t(key))
}
