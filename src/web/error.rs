//! The one place errors become HTTP responses: the pages' [`WebError`] (and every error
//! response a friendly page), the protocol's JSON errors ([`json_error`], RFC 6749 §5.2) and
//! the protected resources' `WWW-Authenticate: Bearer` challenges ([`BearerRefusal`], RFC 6750
//! §3).

use actix_web::{
    HttpResponse, ResponseError,
    body::BoxBody,
    dev::ServiceResponse,
    http::{StatusCode, header},
    middleware::ErrorHandlerResponse,
};
use askama::Template;
use askama_web::WebTemplate;

use super::page::{Page, RequestLang};
use crate::{
    account::{ServiceError, limits::Refused},
    oauth::{
        error::{ErrorCode, OAuthError},
        resource::BearerError,
    },
};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The form's CSRF token does not match the session (a forged or stale form).
    #[error("CSRF token mismatch")]
    Csrf,
    /// A dependency (database, ephemeral store, message gateway) is down. Detail is logged only.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// An abuse limit tripped: 429 with `Retry-After`; the page says which kind of limit and
    /// when to come back, never whether an account exists.
    #[error("limit reached: {}", .0.limit.as_str())]
    Limited(Refused),
    /// Someone signed in asked for what only an administrator may see: 403, with a page that
    /// says only that this is not for them (nothing about what is there).
    #[error("not allowed")]
    NotAllowed,
    /// A bug. Detail is logged only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ServiceError> for WebError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Task(detail) => Self::Internal(detail),
            ServiceError::Limited(refused) => Self::Limited(refused),
            other => Self::Unavailable(other.to_string()),
        }
    }
}

impl From<crate::store::StoreError> for WebError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<crate::db::DbError> for WebError {
    fn from(e: crate::db::DbError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

/// A protocol flow that failed on our side, answered with a page (the authorization and
/// end-session endpoints): only a store or database that is briefly down is a 503 with
/// `Retry-After`; anything else is a 500. Refusals of the request itself never come here.
impl From<crate::oauth::error::OAuthError> for WebError {
    fn from(e: crate::oauth::error::OAuthError) -> Self {
        use crate::oauth::error::ErrorCode;
        match e.code {
            ErrorCode::TemporarilyUnavailable => Self::Unavailable(e.detail.unwrap_or_default()),
            _ => Self::Internal(e.detail.unwrap_or_else(|| e.description.into_owned())),
        }
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Csrf | Self::NotAllowed => StatusCode::FORBIDDEN,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Limited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Logs the private detail once, here, and answers with the bare status; the error-page
    /// handler below turns it into a page in the person's language.
    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Csrf => tracing::info!("form refused: CSRF token mismatch"),
            Self::NotAllowed => tracing::info!("admin page refused: not an administrator"),
            Self::Unavailable(detail) => tracing::warn!(%detail, "dependency unavailable"),
            Self::Limited(refused) => {
                tracing::info!(limit = refused.limit.as_str(), "request refused by a limit");
            }
            Self::Internal(detail) => tracing::error!(%detail, "internal error"),
        }
        let mut response = HttpResponse::new(self.status_code());
        let retry_after = match self {
            Self::Unavailable(_) => Some(5),
            Self::Limited(refused) => {
                // The page (rendered later, in the person's language) says which limit.
                response
                    .extensions_mut()
                    .insert(LimitMessage(refused.limit.message_key()));
                Some(refused.retry_after_secs())
            }
            Self::NotAllowed => {
                response.extensions_mut().insert(PageMessage(
                    "error-not-allowed-title",
                    "error-not-allowed-text",
                ));
                None
            }
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        response
    }
}

/// RFC 6749 §5.2: a protocol error as JSON, never cached; 401 with a `Basic` challenge when
/// client authentication failed, `Retry-After` when the server is briefly unavailable. The
/// private detail is logged here, once.
pub fn json_error(error: &OAuthError) -> HttpResponse {
    if let Some(detail) = &error.detail {
        tracing::warn!(error = error.code.as_str(), %detail, "protocol request failed");
    }
    let status = StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    if error.code == ErrorCode::InvalidClient {
        response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"oneid\""));
    }
    if error.code == ErrorCode::TemporarilyUnavailable {
        response.insert_header((header::RETRY_AFTER, "5"));
    }
    response.json(
        serde_json::json!({ "error": error.code.as_str(), "error_description": error.description }),
    )
}

/// So that protocol handlers can return `Result<HttpResponse, OAuthError>`.
impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn error_response(&self) -> HttpResponse {
        json_error(self)
    }
}

/// Why a protected resource (UserInfo) refused a request, as RFC 6750 §3.1 names it.
#[derive(Debug, thiserror::Error)]
pub enum BearerRefusal {
    /// No token at all: a bare challenge, without an error code (RFC 6750 §3.1).
    #[error("no access token")]
    Missing,
    /// The token in more than one place (RFC 6750 §2: clients MUST NOT): `invalid_request`.
    #[error("send the access token once")]
    SentTwice,
    /// `invalid_token`: malformed, expired, revoked or not ours.
    #[error("the access token is invalid, expired or revoked")]
    InvalidToken,
    /// `insufficient_scope`: a live token without the scope the resource needs.
    #[error("the token does not carry the openid scope")]
    InsufficientScope,
    /// The database is down: 503 with `Retry-After`. The detail is logged only.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl From<BearerError> for BearerRefusal {
    fn from(e: BearerError) -> Self {
        match e {
            BearerError::Invalid => Self::InvalidToken,
            BearerError::Unavailable(detail) => Self::Unavailable(detail),
        }
    }
}

impl BearerRefusal {
    /// The RFC 6750 §3.1 error code the challenge carries, if any.
    fn code(&self) -> Option<&'static str> {
        match self {
            Self::Missing | Self::Unavailable(_) => None,
            Self::SentTwice => Some("invalid_request"),
            Self::InvalidToken => Some("invalid_token"),
            Self::InsufficientScope => Some("insufficient_scope"),
        }
    }

    /// The `WWW-Authenticate` challenge (RFC 6750 §3).
    fn challenge(&self) -> String {
        match self.code() {
            Some(code) => {
                format!("Bearer realm=\"oneid\", error=\"{code}\", error_description=\"{self}\"")
            }
            None => "Bearer realm=\"oneid\"".to_owned(),
        }
    }
}

impl ResponseError for BearerRefusal {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Missing | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::SentTwice => StatusCode::BAD_REQUEST,
            Self::InsufficientScope => StatusCode::FORBIDDEN,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Unavailable(detail) = self {
            tracing::warn!(%detail, "protected resource unavailable");
            return HttpResponse::ServiceUnavailable()
                .insert_header((header::RETRY_AFTER, "5"))
                .finish();
        }
        HttpResponse::build(self.status_code())
            .insert_header((header::WWW_AUTHENTICATE, self.challenge()))
            .content_type("application/json")
            .body("{}")
    }
}

/// Which limit's message the 429 page shows; travels on the response from [`WebError`] to
/// [`render_error_page`], never to the client.
#[derive(Clone, Copy)]
struct LimitMessage(&'static str);

/// The title and text keys the error page shows instead of its status's usual ones.
#[derive(Clone, Copy)]
struct PageMessage(&'static str, &'static str);

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorView {
    page: Page,
    status: u16,
    title: String,
    message: String,
}

fn message_keys(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("error-bad-request-title", "error-bad-request-text"),
        403 => ("error-form-expired-title", "error-form-expired-text"),
        404 => ("error-not-found-title", "error-not-found-text"),
        405 => ("error-method-title", "error-method-text"),
        413 => ("error-too-large-title", "error-too-large-text"),
        415 => ("error-bad-request-title", "error-bad-request-text"),
        429 => ("error-too-many-title", "error-too-many-text"),
        503 => ("error-unavailable-title", "error-unavailable-text"),
        s if s >= 500 => ("error-internal-title", "error-internal-text"),
        _ => ("error-bad-request-title", "error-bad-request-text"),
    }
}

/// Replaces the body of every 4xx/5xx response that is not already a page (extractor
/// rejections, 404, 405, [`WebError`]) with a page that says, in plain words and in the
/// person's language, what happened and what to do.
pub fn render_error_page<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // Pages and protocol (JSON) errors already speak for themselves; bare statuses and the
    // plain-text rejections of actix's extractors get a page.
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.is_empty() && !content_type.starts_with("text/plain") {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let lang = RequestLang::from_request_head(res.request()).0;
    let (title, message) = res
        .response()
        .extensions()
        .get::<PageMessage>()
        .map_or_else(|| message_keys(status), |m| (m.0, m.1));
    // A 429 says when to come back (in whole minutes, rounded up) when it knows.
    let wait_minutes = res
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|_| status == StatusCode::TOO_MANY_REQUESTS)
        .map(|secs| secs.div_ceil(60).max(1));
    let view = ErrorView {
        page: Page::without_form(lang, res.request().path()),
        status: status.as_u16(),
        title: lang.t(title),
        message: match wait_minutes {
            Some(minutes) => {
                let key = res
                    .response()
                    .extensions()
                    .get::<LimitMessage>()
                    .map_or("error-too-many-wait", |m| m.0);
                lang.t_args(key, &[("minutes", minutes.to_string())])
            }
            None => lang.t(message),
        },
    };

    let (req, old) = res.into_parts();
    let mut rendered: HttpResponse<BoxBody> = actix_web::Responder::respond_to(view, &req);
    *rendered.status_mut() = status;
    for name in [header::RETRY_AFTER, header::ALLOW] {
        if let Some(value) = old.headers().get(&name) {
            rendered.headers_mut().insert(name, value.clone());
        }
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, rendered).map_into_right_body(),
    ))
}
