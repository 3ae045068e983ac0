//! `/audit-events` (the filtered audit log, a page at a time, and as CSV), `/keys` (list,
//! rotate) and `/overview`: the operator's read-outs, as JSON.

use actix_web::{HttpResponse, get, http::header, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiError, ListPage, MAX_LIMIT, decode_cursor, encode_cursor};
use crate::{
    admin::{
        self,
        events::{EventQuery, ExportError, RawEventFilter},
        overview::Overview,
    },
    db::models::audit::AuditRecord,
    domain::Algorithm,
    oidc::keys::{KeyError, KeyState, KeyStatus},
    state::AppState,
    web::admin::ApiClient,
};

/// The audit log's filters, every one optional, and the page.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// An account ID.
    pub account: Option<String>,
    /// A client ID.
    pub app: Option<String>,
    /// An event kind, such as `login_ok`.
    pub kind: Option<String>,
    /// `ok`, `failed` or `refused`.
    pub outcome: Option<String>,
    /// An IP address, exactly.
    pub ip: Option<String>,
    /// From this date (`2026-11-24`, UTC) or RFC 3339 instant, inclusive.
    pub from: Option<String>,
    /// Until this date (the whole day) or RFC 3339 instant (exclusive).
    pub to: Option<String>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 200; default 50.
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
}

impl AuditParams {
    fn query(&self) -> Result<EventQuery, ApiError> {
        EventQuery::parse(&RawEventFilter {
            account: self.account.clone(),
            app: self.app.clone(),
            kind: self.kind.clone(),
            outcome: self.outcome.clone(),
            ip: self.ip.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
        })
        .map_err(|e| ApiError::invalid(e.to_string()))
    }
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub outcome: String,
    pub account_id: Option<i64>,
    pub client_id: Option<String>,
    /// Who did it, for administrative acts: `account:<id>`, `client:<id>` or `operator`.
    pub actor: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
}

impl From<AuditRecord> for AuditEventEntry {
    fn from(e: AuditRecord) -> Self {
        Self {
            id: e.id,
            at: e.at,
            kind: e.kind,
            outcome: e.outcome,
            account_id: e.account_id.map(|a| a.get()),
            client_id: e.client_id,
            actor: e.actor,
            ip: e.ip,
            user_agent: e.user_agent,
            detail: e.detail,
        }
    }
}

/// The audit log, newest first, filtered.
#[utoipa::path(
    tag = "audit",
    params(AuditParams),
    responses(
        (status = 200, description = "A page of events", body = ListPage<AuditEventEntry>),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
    )
)]
#[get("/audit-events")]
pub async fn list_audit_events(
    _caller: ApiClient,
    state: web::Data<AppState>,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    let query = params.query()?;
    let limit = match params.limit.as_deref().map(str::parse::<u32>) {
        None => super::DEFAULT_LIMIT,
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => return Err(ApiError::invalid(format!("limit must be 1 to {MAX_LIMIT}"))),
    };
    let before = params
        .cursor
        .as_deref()
        .map(|c| {
            decode_cursor(c)?
                .parse::<i64>()
                .map_err(|_| ApiError::invalid("cursor is not one this API gave out"))
        })
        .transpose()?;
    let page = admin::events::page(&state.admin, &query, before, limit).await?;
    Ok(HttpResponse::Ok().json(ListPage {
        items: page
            .events
            .into_iter()
            .map(AuditEventEntry::from)
            .collect::<Vec<_>>(),
        next_cursor: page.next.map(|id| encode_cursor(&id.to_string())),
    }))
}

/// The filtered audit log as CSV (newest first, at most 100,000 rows; header
/// `X-OneID-Truncated: true` when cut). Cells that a spreadsheet would read as a formula start
/// with `'`.
#[utoipa::path(
    tag = "audit",
    params(AuditParams),
    responses(
        (status = 200, description = "CSV: id, at, kind, outcome, account_id, client_id, actor, ip, user_agent, detail", content_type = "text/csv"),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
    )
)]
#[get("/audit-events.csv")]
pub async fn export_audit_events(
    _caller: ApiClient,
    state: web::Data<AppState>,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    let query = params.query()?;
    csv_response(&state, &query).await.map_err(|e| match e {
        ExportError::Db(e) => ApiError::from(e),
        ExportError::Csv(e) => ApiError::unavailable(e),
    })
}

/// The CSV attachment of the filtered view (the console's export too).
pub async fn csv_response(
    state: &AppState,
    query: &EventQuery,
) -> Result<HttpResponse, ExportError> {
    let (body, truncated) = admin::events::export_csv(&state.admin, query).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"oneid-audit.csv\"",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            "X-OneID-Truncated",
            if truncated { "true" } else { "false" },
        ))
        .body(body))
}

/// A signing key and its state.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyEntry {
    pub kid: String,
    /// `RS256`, `ES256` or `EdDSA`.
    pub alg: String,
    /// `next`, `current` or `retired`.
    pub state: &'static str,
    /// A next key: when it starts signing.
    pub activates_at: Option<DateTime<Utc>>,
    /// A current key with a successor: when it stops signing.
    pub retires_at: Option<DateTime<Utc>>,
    /// A retired key: when it leaves the JWKS.
    pub unpublish_at: Option<DateTime<Utc>>,
}

impl From<KeyStatus> for KeyEntry {
    fn from(k: KeyStatus) -> Self {
        let (state, activates_at, retires_at, unpublish_at) = match k.state {
            KeyState::Next { activates_at } => ("next", Some(activates_at), None, None),
            KeyState::Current { retires_at } => ("current", None, retires_at, None),
            KeyState::Retired { unpublish_at } => ("retired", None, None, unpublish_at),
        };
        Self {
            kid: k.kid.as_str().to_owned(),
            alg: k.alg.as_str().to_owned(),
            state,
            activates_at,
            retires_at,
            unpublish_at,
        }
    }
}

fn key_error(e: KeyError) -> ApiError {
    match e {
        KeyError::Db(e) => e.into(),
        other => ApiError::unavailable(other),
    }
}

/// Every published signing key, newest first.
#[utoipa::path(
    tag = "keys",
    responses(
        (status = 200, description = "The keys", body = Vec<KeyEntry>),
        (status = 401, body = ApiError), (status = 403, body = ApiError),
    )
)]
#[get("/keys")]
pub async fn list_keys(
    _caller: ApiClient,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let keys = admin::keys::list(&state.admin).await.map_err(key_error)?;
    Ok(HttpResponse::Ok().json(keys.into_iter().map(KeyEntry::from).collect::<Vec<_>>()))
}

/// What to rotate: one algorithm, or every one when absent.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// `RS256`, `ES256` or `EdDSA`.
    pub alg: Option<String>,
}

/// Introduces a next key (for `alg`, or every algorithm): published in the JWKS at once,
/// signing after the activation delay. Returns the keys.
#[utoipa::path(
    tag = "keys",
    request_body(content = Option<RotateRequest>, description = "Optional; an empty body rotates every algorithm"),
    responses(
        (status = 200, description = "The keys after the rotation", body = Vec<KeyEntry>),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError),
    )
)]
#[post("/keys/rotate")]
pub async fn rotate_keys(
    caller: ApiClient,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if body.len() > 1024 {
        return Err(ApiError::invalid("the body is longer than 1024 bytes"));
    }
    let request: RotateRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RotateRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid(e.to_string()))?
    };
    let alg = request
        .alg
        .as_deref()
        .map(Algorithm::parse)
        .transpose()
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    admin::keys::rotate_live(
        &state.admin,
        &caller.actor,
        &state.kek,
        &state.settings.keys,
        &state.keys,
        alg,
    )
    .await
    .map_err(key_error)?;
    let keys = admin::keys::list(&state.admin).await.map_err(key_error)?;
    Ok(HttpResponse::Ok().json(keys.into_iter().map(KeyEntry::from).collect::<Vec<_>>()))
}

/// The numbers an operator looks at first.
#[utoipa::path(
    tag = "overview",
    responses(
        (status = 200, description = "The overview", body = Overview),
        (status = 401, body = ApiError), (status = 403, body = ApiError),
    )
)]
#[get("/overview")]
pub async fn get_overview(
    _caller: ApiClient,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(admin::overview::overview(&state.admin).await?))
}
