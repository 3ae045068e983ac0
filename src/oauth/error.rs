//! OAuth 2.0 / OpenID Connect protocol errors, with the RFC's error codes.

use std::borrow::Cow;

/// An error code from RFC 6749 §4.1.2.1 / §5.2, RFC 6750 §3.1, RFC 7009 or OIDC Core §3.1.2.6.
/// (`request_not_supported` and `request_uri_not_supported` are from OIDC Core §3.1.2.6 too.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    UnauthorizedClient,
    AccessDenied,
    UnsupportedResponseType,
    InvalidScope,
    ServerError,
    TemporarilyUnavailable,
    InvalidClient,
    InvalidGrant,
    UnsupportedGrantType,
    InvalidToken,
    UnsupportedTokenType,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    /// The app or its administrator requires a stronger sign-in than the person can give
    /// (OpenID Connect Core Unmet Authentication Requirements 1.0 §2).
    UnmetAuthenticationRequirements,
    RequestNotSupported,
    RequestUriNotSupported,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidToken => "invalid_token",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::UnmetAuthenticationRequirements => "unmet_authentication_requirements",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
        }
    }

    /// The status for a JSON error response (RFC 6749 §5.2: 400, or 401 for client authentication).
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

/// A protocol error: the code, a description safe to show to the client, and a private detail
/// for the log only.
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
    pub detail: Option<String>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: description.into(),
            detail: None,
        }
    }

    /// A failure of ours: the client learns only that it happened.
    pub fn server(detail: impl std::fmt::Display) -> Self {
        Self {
            code: ErrorCode::ServerError,
            description: "the server could not complete the request".into(),
            detail: Some(detail.to_string()),
        }
    }

    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        Self {
            code: ErrorCode::TemporarilyUnavailable,
            description: "the server is briefly unavailable; try again".into(),
            detail: Some(detail.to_string()),
        }
    }
}

/// The code and the public description; the private detail stays out (it is logged once,
/// where the error becomes a response).
impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}

impl From<crate::db::DbError> for OAuthError {
    fn from(e: crate::db::DbError) -> Self {
        Self::unavailable(e)
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::unavailable(e)
    }
}

impl From<crate::oidc::keys::KeyError> for OAuthError {
    fn from(e: crate::oidc::keys::KeyError) -> Self {
        Self::server(e)
    }
}
