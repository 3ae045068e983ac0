//! `/sessions`: the live sessions, of everyone, of an account or of an app; ending one. The
//! work is `admin::sessions`'.

use actix_web::{HttpResponse, delete, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    ApiError, ListPage, PageParams, accounts::account_id, accounts::browser_text, decode_cursor,
    encode_cursor,
};
use crate::{
    admin::sessions::{self, Filter, LiveSession, SessionError},
    domain::ClientId,
    state::AppState,
    web::admin::ApiClient,
};

/// A live session.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveSessionEntry {
    pub sid: String,
    pub account_id: i64,
    pub browser: String,
    /// Masked.
    pub address: Option<String>,
    pub signed_in_at: String,
    pub last_active_at: String,
}

impl From<LiveSession> for LiveSessionEntry {
    fn from(s: LiveSession) -> Self {
        Self {
            account_id: s.account_id.get(),
            browser: browser_text(&s.browser),
            address: s.address,
            signed_in_at: s.signed_in_at.to_rfc3339(),
            last_active_at: s.last_active_at.to_rfc3339(),
            sid: s.sid,
        }
    }
}

/// `?account=&client=&cursor=&limit=`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionParams {
    /// Only this account's sessions.
    pub account: Option<String>,
    /// Only sessions this app (client_id) took part in.
    pub client: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 200; default 50.
    pub limit: Option<u32>,
}

pub(in crate::web::admin) fn session_error(e: SessionError) -> ApiError {
    match e {
        SessionError::BadCursor => ApiError::invalid(e.to_string()),
        SessionError::NotFound => ApiError::not_found("live session"),
        SessionError::Db(e) => e.into(),
        SessionError::End(e) => ApiError::unavailable(e),
    }
}

/// The live sessions, newest first, a page at a time.
#[utoipa::path(
    tag = "sessions",
    params(SessionParams),
    responses(
        (status = 200, description = "A page of live sessions", body = ListPage<LiveSessionEntry>),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
    )
)]
#[get("/sessions")]
pub async fn list_sessions(
    _caller: ApiClient,
    state: web::Data<AppState>,
    params: web::Query<SessionParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = PageParams {
        cursor: None,
        limit: params.limit,
    }
    .limit()?;
    let filter = Filter {
        account: params.account.as_deref().map(account_id).transpose()?,
        client: params
            .client
            .as_deref()
            .map(|c| {
                ClientId::parse(c).ok_or_else(|| ApiError::invalid("client is not a client ID"))
            })
            .transpose()?,
    };
    let cursor = params.cursor.as_deref().map(decode_cursor).transpose()?;
    let page = sessions::list(&state.admin, &filter, cursor.as_deref(), limit)
        .await
        .map_err(session_error)?;
    Ok(HttpResponse::Ok().json(ListPage {
        items: page
            .sessions
            .into_iter()
            .map(LiveSessionEntry::from)
            .collect::<Vec<_>>(),
        next_cursor: page.next.as_deref().map(encode_cursor),
    }))
}

/// Ends a live session: its browser is signed out and its apps are told.
#[utoipa::path(
    tag = "sessions",
    params(("sid" = String, Path, description = "The session's sid")),
    responses(
        (status = 204, description = "Ended"),
        (status = 400, body = ApiError), (status = 401, body = ApiError),
        (status = 403, body = ApiError), (status = 404, body = ApiError),
    )
)]
#[delete("/sessions/{sid}")]
pub async fn end_session(
    caller: ApiClient,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    sessions::end(&state.admin, &caller.actor, &state.session, &path)
        .await
        .map_err(session_error)?;
    Ok(HttpResponse::NoContent().finish())
}
