//! The admin API under `/admin/api/v1`: the admin operations as JSON, for automation. Every
//! route is registered through [`admin_api!`], which also lists it in the OpenAPI document
//! served at `/admin/api/openapi.json`, so a route cannot exist undocumented. Errors are
//! `{"error": <stable code>, "message": <text>}`; lists page with an opaque cursor.

pub(in crate::web::admin) mod accounts;
mod audit;
mod clients;
mod roles;
pub(in crate::web::admin) mod sessions;

pub use audit::csv_response;

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header},
    web,
};
use base64::Engine;
use serde::Serialize;
use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

/// Where the API's routes live.
pub const BASE: &str = "/admin/api/v1";

/// An error of the admin API: a stable machine-readable `error` code and a message for
/// people. The status and the code always agree.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiError {
    #[serde(skip)]
    status: u16,
    /// `unauthorized`, `insufficient_scope`, `not_found`, `invalid_request`, `conflict` or
    /// `unavailable`.
    pub error: &'static str,
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: status.as_u16(),
            error,
            message: message.into(),
        }
    }

    /// 401: no access token, or one that is not live.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send an access token with the admin scope: Authorization: Bearer <token>",
        )
    }

    /// 403: a live token without the admin scope, or a person's token.
    pub fn insufficient_scope() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the access token does not carry the admin scope of a client credentials grant",
        )
    }

    /// 404: no such thing (`what` names it: "client", "account").
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }

    /// 400: the request is malformed or breaks a rule; `message` says which.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 409: the request is understood but refused in the present state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 503: a dependency is down; the detail is logged, not sent.
    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        tracing::warn!(%detail, "admin API: dependency unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "a dependency is unavailable; try again shortly",
        )
    }

    pub fn into_response(self) -> HttpResponse {
        self.error_response()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        match self.error {
            // RFC 6750 §3.1.
            "unauthorized" => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    "Bearer realm=\"oneid-admin\", error=\"invalid_token\"",
                ));
            }
            "insufficient_scope" => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    "Bearer realm=\"oneid-admin\", error=\"insufficient_scope\", scope=\"admin\"",
                ));
            }
            "unavailable" => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            _ => {}
        }
        response.json(self)
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        Self::unavailable(e)
    }
}

/// One page of a list, newest or first items first; pass `next_cursor` as `cursor` for the
/// next page. `None`: this was the last page.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListPage<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> ListPage<T> {
    /// A page from `items` read with one more than `limit` asked for: the extra one says there
    /// is a next page, whose cursor is the key of the last item kept.
    pub fn cut(mut items: Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> Self {
        let limit = limit as usize;
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|last| encode_cursor(&key(last)))
        } else {
            None
        };
        Self { items, next_cursor }
    }
}

/// The largest `limit` a list accepts; the default is [`DEFAULT_LIMIT`].
pub const MAX_LIMIT: u32 = 200;
pub const DEFAULT_LIMIT: u32 = 50;

/// `?cursor=&limit=`, common to every list.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 200; default 50.
    pub limit: Option<u32>,
}

impl PageParams {
    /// The limit asked for, within 1..=[`MAX_LIMIT`]; anything else is refused.
    pub fn limit(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::invalid(format!("limit must be 1 to {MAX_LIMIT}"))),
        }
    }
}

/// An opaque cursor: the last item's sort key, base64url-encoded so clients treat it as a
/// token, not a value to edit.
pub fn encode_cursor(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

/// Reads a cursor back; a forged or damaged one is `invalid_request`.
pub fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .filter(|bytes| bytes.len() <= 256)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| ApiError::invalid("cursor is not one this API gave out"))
}

/// Registers each handler under [`BASE`] and lists it in the OpenAPI document: the one list
/// of the API's routes.
macro_rules! admin_api {
    ($($($segment:ident)::+),* $(,)?) => {
        fn register(cfg: &mut web::ServiceConfig) {
            $(cfg.service($($segment)::+);)*
        }

        #[derive(OpenApi)]
        #[openapi(
            paths($($($segment)::+),*),
            info(
                title = "OneID admin API",
                description = "The admin operations of OneID. Authenticate with an access token from the client credentials grant of a client registered for the `admin` scope.",
            ),
            modifiers(&BearerAuth),
            security(("bearer" = [])),
        )]
        struct ApiDoc;
    };
}

admin_api!(
    roles::list_admins,
    roles::grant_admin,
    roles::revoke_admin,
    accounts::search_accounts,
    accounts::get_account,
    accounts::reveal_account,
    accounts::lock_account,
    accounts::unlock_account,
    accounts::disable_account,
    accounts::enable_account,
    accounts::sign_out_account,
    accounts::require_password_reset,
    accounts::revoke_all_apps,
    accounts::revoke_app,
    accounts::delete_account,
    sessions::list_sessions,
    sessions::end_session,
    clients::list_clients,
    clients::create_client,
    clients::get_client,
    clients::update_client,
    clients::delete_client,
    clients::rotate_client_secret,
    clients::disable_client,
    clients::enable_client,
    clients::make_first_party,
    clients::remove_first_party,
    clients::set_min_acr,
    clients::get_consents,
    clients::revoke_consents,
    audit::list_audit_events,
    audit::export_audit_events,
    audit::list_keys,
    audit::rotate_keys,
    audit::get_overview,
);

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI 3.1 document of the admin API, with every path under [`BASE`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let paths = std::mem::take(&mut doc.paths.paths);
    doc.paths.paths = paths
        .into_iter()
        .map(|(path, item)| (format!("{BASE}{path}"), item))
        .collect();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// GET /admin/api/openapi.json
async fn get_openapi() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(openapi())
}

/// Bad JSON, paths and queries become `invalid_request` with serde's reason, never a page.
fn json_errors() -> (web::JsonConfig, web::PathConfig, web::QueryConfig) {
    (
        web::JsonConfig::default()
            .limit(64 * 1024)
            .error_handler(|e, _| ApiError::invalid(e.to_string()).into()),
        web::PathConfig::default().error_handler(|e, _| ApiError::invalid(e.to_string()).into()),
        web::QueryConfig::default().error_handler(|e, _| ApiError::invalid(e.to_string()).into()),
    )
}

/// `/api/openapi.json` and `/api/v1/...`, inside the `/admin` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let (json, path, query) = json_errors();
    cfg.service(web::resource("/api/openapi.json").get(get_openapi))
        .service(
            web::scope("/api/v1")
                .app_data(json)
                .app_data(path)
                .app_data(query)
                .configure(register)
                .default_service(web::to(|| async {
                    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
                        .into_response()
                })),
        );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_read_one_longer_than_asked_has_a_cursor_to_its_last_item() {
        let key = |n: &u32| n.to_string();
        let more = ListPage::cut(vec![1, 2, 3], 2, key);
        assert_eq!(more.items, [1, 2]);
        assert_eq!(decode_cursor(&more.next_cursor.unwrap()).unwrap(), "2");
        let last = ListPage::cut(vec![1, 2], 2, key);
        assert_eq!((last.items, last.next_cursor), (vec![1, 2], None));
        assert!(decode_cursor("%%%").is_err());
    }
}
