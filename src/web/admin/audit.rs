//! GET /admin/audit (the audit log, filtered, a page at a time) and GET /admin/audit.csv (the
//! same view as a CSV attachment).

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{AdminUser, Nav};
use crate::{
    admin::{
        self,
        events::{EventQuery, ExportError, FilterError, RawEventFilter},
    },
    audit::AuditKind,
    db::models::audit::AuditRecord,
    i18n::Lang,
    state::AppState,
    web::{BrowserSession, Page, RequestLang, WebError, page::render},
};

const PATH: &str = "/admin/audit";
/// Rows per page of the console's table.
const PAGE_SIZE: u32 = 50;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/audit").get(get_audit))
        .service(web::resource("/audit.csv").get(get_audit_csv));
}

/// The filter form's fields, and the cursor of the page (`before`: an event id).
#[derive(Debug, Default, Deserialize)]
pub struct AuditForm {
    #[serde(flatten)]
    filter: RawEventFilter,
    before: Option<String>,
}

/// One row of the table.
struct EventRow {
    id: i64,
    at: String,
    kind: String,
    outcome: String,
    account: String,
    app: String,
    actor: String,
    ip: String,
    detail: String,
}

impl From<AuditRecord> for EventRow {
    fn from(e: AuditRecord) -> Self {
        Self {
            id: e.id,
            at: e.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            kind: e.kind,
            outcome: e.outcome,
            account: e.account_id.map(|a| a.to_string()).unwrap_or_default(),
            app: e.client_id.unwrap_or_default(),
            actor: e.actor.unwrap_or_default(),
            ip: e.ip.unwrap_or_default(),
            detail: e.detail.unwrap_or_default(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/audit.html")]
struct AuditView {
    page: Page,
    nav: Nav,
    /// The fields as typed, to show them again.
    filter: RawEventFilter,
    kinds: Vec<&'static str>,
    outcomes: [&'static str; 3],
    error: Option<String>,
    events: Vec<EventRow>,
    /// The next page's link, filters included.
    next: Option<String>,
    /// The CSV export of this view.
    csv: String,
}

/// The catalog message for a wrong filter field.
fn filter_message(lang: Lang, e: &FilterError) -> String {
    match e {
        FilterError::TooLong(_) => lang.t("admin-audit-too-long"),
        FilterError::Order => lang.t("admin-audit-bad-order"),
        other => lang.t(&format!("admin-audit-bad-{}", other.field())),
    }
}

/// The query string of `filter` (blank fields left out), plus `extra`.
fn query_string(filter: &RawEventFilter, extra: Option<(&str, String)>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    let fields = [
        ("account", &filter.account),
        ("app", &filter.app),
        ("kind", &filter.kind),
        ("outcome", &filter.outcome),
        ("ip", &filter.ip),
        ("from", &filter.from),
        ("to", &filter.to),
    ];
    for (name, value) in fields {
        if let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty()) {
            q.append_pair(name, v);
        }
    }
    if let Some((name, value)) = extra {
        q.append_pair(name, &value);
    }
    q.finish()
}

fn parse(form: &AuditForm) -> Result<(EventQuery, Option<i64>), FilterError> {
    let query = EventQuery::parse(&form.filter)?;
    let before = match form.before.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(v) if v.len() > 20 => return Err(FilterError::TooLong("before")),
        Some(v) => Some(v.parse::<i64>().map_err(|_| FilterError::Time("before"))?),
    };
    Ok((query, before))
}

pub async fn get_audit(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    _admin: AdminUser,
    form: web::Query<AuditForm>,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let mut view = AuditView {
        page: Page::new(lang, session.0.csrf_token(), PATH),
        nav: Nav::new(PATH),
        filter: form.filter.clone(),
        kinds: AuditKind::ALL.iter().map(|k| k.as_str()).collect(),
        outcomes: ["ok", "failed", "refused"],
        error: None,
        events: Vec::new(),
        next: None,
        csv: format!("{PATH}.csv?{}", query_string(&form.filter, None)),
    };
    let status = match parse(&form) {
        Ok((query, before)) => {
            let page = admin::events::page(&state.admin, &query, before, PAGE_SIZE).await?;
            view.events = page.events.into_iter().map(EventRow::from).collect();
            view.next = page.next.map(|id| {
                format!(
                    "{PATH}?{}",
                    query_string(&form.filter, Some(("before", id.to_string())))
                )
            });
            StatusCode::OK
        }
        Err(e) => {
            view.error = Some(filter_message(lang, &e));
            StatusCode::BAD_REQUEST
        }
    };
    let response = render(&req, status, view);
    session.respond(&state, response).await
}

pub async fn get_audit_csv(
    req: HttpRequest,
    state: web::Data<AppState>,
    RequestLang(lang): RequestLang,
    session: BrowserSession,
    admin: AdminUser,
    form: web::Query<AuditForm>,
) -> Result<HttpResponse, WebError> {
    match EventQuery::parse(&form.filter) {
        Ok(query) => super::api::csv_response(&state, &query)
            .await
            .map_err(|e| match e {
                ExportError::Db(e) => WebError::from(e),
                ExportError::Csv(e) => WebError::Unavailable(e.to_string()),
            }),
        // The form again, with the error.
        Err(_) => get_audit(req, state, RequestLang(lang), session, admin, form).await,
    }
}
