//! Reading the audit log: the command line's listing, and the admin console's and API's
//! filtered view, paged newest first by id with a keyset cursor, and its CSV export.
//!
//! Every filter is served by an index: `(account_id, id)`, `(client_id, id)`, `(kind, id)`,
//! `(ip, id)`, `(outcome, id)`, the primary key when there is none; a time bound becomes an id
//! bound through the index on `at` before the page is read, so no query sorts by time or skips
//! rows.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use super::Context;
use crate::{
    audit::{AuditKind, Outcome, Since},
    db::{
        DbError,
        models::audit::{self, AuditFilter, AuditRecord, EventFilter},
    },
    domain::AccountId,
};

/// The newest `limit` events, newest first: only `account`'s if given, only those since
/// `since` (resolved against the context's clock) if given.
pub async fn list(
    ctx: &Context,
    account: Option<AccountId>,
    since: Option<Since>,
    limit: u32,
) -> Result<Vec<AuditRecord>, DbError> {
    let filter = AuditFilter {
        account,
        since: since.map(|since| since.resolve(ctx.clock.now())),
        limit: i64::from(limit),
    };
    ctx.audit.flush().await;
    ctx.db.run(move |conn| audit::query(conn, &filter)).await
}

/// The longest value any filter field may have, in bytes, checked before it is parsed.
pub const FIELD_MAX: usize = 200;

/// The most rows one CSV export holds; a larger view is cut (narrow the filters).
pub const EXPORT_MAX_ROWS: usize = 100_000;

/// Rows read per query while exporting.
const EXPORT_PAGE: i64 = 1_000;

/// The filters as typed: each field as the form or query string gave it, empty meaning "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct RawEventFilter {
    /// An account ID.
    pub account: Option<String>,
    /// A client ID.
    pub app: Option<String>,
    /// An event kind (`login_ok`, `code_sent`...).
    pub kind: Option<String>,
    /// `ok`, `failed` or `refused`.
    pub outcome: Option<String>,
    /// An IP address, exactly.
    pub ip: Option<String>,
    /// From this date (`2026-11-24`, UTC) or instant (RFC 3339), inclusive.
    pub from: Option<String>,
    /// Until this date (inclusive: the whole day) or instant (exclusive).
    pub to: Option<String>,
}

/// Which filter field is wrong, and why, for the form and the API's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("{0} is longer than {FIELD_MAX} bytes")]
    TooLong(&'static str),
    #[error("account must be a 9 or 10 digit account ID")]
    Account,
    #[error("app must be a client ID (letters, digits, '-', '_', '.')")]
    App,
    #[error("kind is not a kind of event the audit log records")]
    Kind,
    #[error("outcome must be ok, failed or refused")]
    Outcome,
    #[error("address must be an IPv4 or IPv6 address")]
    Ip,
    #[error("{0} must be a date (2026-11-24) or an RFC 3339 instant (2026-11-24T09:30:00Z)")]
    Time(&'static str),
    #[error("from must be before to")]
    Order,
}

impl FilterError {
    /// The field the error is about, as the form names it.
    pub fn field(&self) -> &'static str {
        match self {
            Self::TooLong(field) | Self::Time(field) => field,
            Self::Account => "account",
            Self::App => "app",
            Self::Kind => "kind",
            Self::Outcome => "outcome",
            Self::Ip => "ip",
            Self::Order => "to",
        }
    }
}

/// The filters, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    pub account: Option<AccountId>,
    pub app: Option<String>,
    pub kind: Option<AuditKind>,
    pub outcome: Option<Outcome>,
    pub ip: Option<IpAddr>,
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
}

const OUTCOMES: [Outcome; 3] = [Outcome::Ok, Outcome::Failed, Outcome::Refused];

/// A field's value: `None` when absent or blank; refused above [`FIELD_MAX`] bytes.
fn field<'a>(
    name: &'static str,
    value: &'a Option<String>,
) -> Result<Option<&'a str>, FilterError> {
    match value.as_deref() {
        Some(v) if v.len() > FIELD_MAX => Err(FilterError::TooLong(name)),
        Some(v) if !v.trim().is_empty() => Ok(Some(v.trim())),
        _ => Ok(None),
    }
}

/// A date (the start of that day, UTC; `end_of_day` gives the next day's start) or an instant.
fn parse_time(
    name: &'static str,
    value: &str,
    end_of_day: bool,
) -> Result<DateTime<Utc>, FilterError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(at.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| FilterError::Time(name))?;
    let day = if end_of_day {
        day.succ_opt().ok_or(FilterError::Time(name))?
    } else {
        day
    };
    Ok(day
        .and_hms_opt(0, 0, 0)
        .ok_or(FilterError::Time(name))?
        .and_utc())
}

impl EventQuery {
    /// Parses every field; the first wrong one is the error.
    pub fn parse(raw: &RawEventFilter) -> Result<Self, FilterError> {
        let account = field("account", &raw.account)?
            .map(|v| v.parse::<AccountId>().map_err(|_| FilterError::Account))
            .transpose()?;
        let app = field("app", &raw.app)?
            .map(|v| {
                v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
                    .then(|| v.to_owned())
                    .ok_or(FilterError::App)
            })
            .transpose()?;
        let kind = field("kind", &raw.kind)?
            .map(|v| {
                AuditKind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == v)
                    .ok_or(FilterError::Kind)
            })
            .transpose()?;
        let outcome = field("outcome", &raw.outcome)?
            .map(|v| {
                OUTCOMES
                    .into_iter()
                    .find(|o| o.as_str() == v)
                    .ok_or(FilterError::Outcome)
            })
            .transpose()?;
        let ip = field("ip", &raw.ip)?
            .map(|v| v.parse::<IpAddr>().map_err(|_| FilterError::Ip))
            .transpose()?;
        let from = field("from", &raw.from)?
            .map(|v| parse_time("from", v, false))
            .transpose()?;
        let to = field("to", &raw.to)?
            .map(|v| parse_time("to", v, true))
            .transpose()?;
        if let (Some(from), Some(to)) = (from, to)
            && from >= to
        {
            return Err(FilterError::Order);
        }
        Ok(Self {
            account,
            app,
            kind,
            outcome,
            ip,
            from,
            to,
        })
    }

    /// The filter again as text, for links that carry it (the next page, the CSV export).
    pub fn to_raw(&self) -> RawEventFilter {
        let at = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        RawEventFilter {
            account: self.account.map(|a| a.to_string()),
            app: self.app.clone(),
            kind: self.kind.map(|k| k.as_str().to_owned()),
            outcome: self.outcome.map(|o| o.as_str().to_owned()),
            ip: self.ip.map(|ip| ip.to_string()),
            from: self.from.map(at),
            // `to` is exclusive once parsed; an instant says so unambiguously.
            to: self.to.map(at),
        }
    }
}

/// One page of the filtered log, and the cursor of the next (the last row's id) if there is
/// more.
#[derive(Debug, Clone)]
pub struct EventPage {
    pub events: Vec<AuditRecord>,
    pub next: Option<i64>,
}

/// Which ids a page may hold.
struct IdBounds {
    /// The lowest (from the time lower bound).
    min_id: Option<i64>,
    /// Every id is below this (the cursor, or the time upper bound).
    before_id: Option<i64>,
}

/// The time bounds and the cursor as id bounds. `None`: nothing can match.
fn id_bounds(
    conn: &mut crate::db::DbConn,
    query: &EventQuery,
    before: Option<i64>,
) -> Result<Option<IdBounds>, DbError> {
    let min_id = match query.from {
        Some(from) => match audit::first_id_at_or_after(conn, from)? {
            Some(id) => Some(id),
            None => return Ok(None),
        },
        None => None,
    };
    let until = match query.to {
        Some(to) => audit::first_id_at_or_after(conn, to)?,
        None => None,
    };
    let before_id = match (before, until) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok(Some(IdBounds { min_id, before_id }))
}

fn event_filter(query: &EventQuery, min_id: Option<i64>, before_id: Option<i64>) -> EventFilter {
    EventFilter {
        account: query.account,
        client: query.app.clone(),
        kind: query.kind.map(|k| k.as_str().to_owned()),
        outcome: query.outcome.map(|o| o.as_str().to_owned()),
        ip: query.ip.map(|ip| ip.to_string()),
        min_id,
        before_id,
    }
}

/// The page of events `query` selects below the cursor `before` (an id; `None` for the
/// newest), at most `limit` of them, newest first.
pub async fn page(
    ctx: &Context,
    query: &EventQuery,
    before: Option<i64>,
    limit: u32,
) -> Result<EventPage, DbError> {
    let query = query.clone();
    let limit = i64::from(limit);
    ctx.audit.flush().await;
    ctx.db
        .run(move |conn| {
            let Some(IdBounds { min_id, before_id }) = id_bounds(conn, &query, before)? else {
                return Ok(EventPage {
                    events: Vec::new(),
                    next: None,
                });
            };
            let filter = event_filter(&query, min_id, before_id);
            let mut events = audit::page(conn, &filter, limit.saturating_add(1))?;
            let more = events.len() as i64 > limit;
            events.truncate(usize::try_from(limit).unwrap_or(0));
            let next = if more {
                events.last().map(|e| e.id)
            } else {
                None
            };
            Ok(EventPage { events, next })
        })
        .await
}

/// CSV columns, in order.
pub const CSV_HEADER: [&str; 10] = [
    "id",
    "at",
    "kind",
    "outcome",
    "account_id",
    "client_id",
    "actor",
    "ip",
    "user_agent",
    "detail",
];

/// A cell a spreadsheet would read as a formula gets a leading `'` (OWASP "CSV injection").
fn neutralise(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

fn csv_row(e: &AuditRecord) -> [String; 10] {
    [
        e.id.to_string(),
        e.at.to_rfc3339_opts(SecondsFormat::Millis, true),
        neutralise(&e.kind),
        neutralise(&e.outcome),
        e.account_id.map(|a| a.to_string()).unwrap_or_default(),
        neutralise(e.client_id.as_deref().unwrap_or_default()),
        neutralise(e.actor.as_deref().unwrap_or_default()),
        neutralise(e.ip.as_deref().unwrap_or_default()),
        neutralise(e.user_agent.as_deref().unwrap_or_default()),
        neutralise(e.detail.as_deref().unwrap_or_default()),
    ]
}

/// Errors of the export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
}

fn finish(out: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, ExportError> {
    out.into_inner()
        .map_err(|e| ExportError::Csv(csv::Error::from(e.into_error())))
}

/// The filtered view as CSV (header, then newest first), read a page of 1,000 at a time, at
/// most [`EXPORT_MAX_ROWS`] rows. Returns the bytes and whether the view was cut.
pub async fn export_csv(ctx: &Context, query: &EventQuery) -> Result<(Vec<u8>, bool), ExportError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(CSV_HEADER)?;
    let mut before = None;
    let mut written = 0usize;
    loop {
        let room = EXPORT_MAX_ROWS.saturating_sub(written);
        let take = EXPORT_PAGE.min(i64::try_from(room).unwrap_or(EXPORT_PAGE));
        let page = page(ctx, query, before, u32::try_from(take).unwrap_or(0)).await?;
        for event in &page.events {
            out.write_record(csv_row(event))?;
        }
        written += page.events.len();
        match page.next {
            Some(next) if written < EXPORT_MAX_ROWS => before = Some(next),
            Some(_) => return Ok((finish(out)?, true)),
            None => return Ok((finish(out)?, false)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(f: impl FnOnce(&mut RawEventFilter)) -> RawEventFilter {
        let mut r = RawEventFilter::default();
        f(&mut r);
        r
    }

    #[test]
    fn blank_fields_mean_any() {
        let q = EventQuery::parse(&raw(|r| {
            r.account = Some(" ".into());
            r.kind = Some(String::new());
        }))
        .unwrap();
        assert_eq!(q, EventQuery::default());
    }

    #[test]
    fn every_field_parses_and_round_trips() {
        let r = raw(|r| {
            r.account = Some("123456789".into());
            r.app = Some("forum-client".into());
            r.kind = Some("login_ok".into());
            r.outcome = Some("failed".into());
            r.ip = Some("::1".into());
            r.from = Some("2026-11-24".into());
            r.to = Some("2026-11-25T10:00:00+05:30".into());
        });
        let q = EventQuery::parse(&r).unwrap();
        assert_eq!(q.kind, Some(AuditKind::LoginOk));
        assert_eq!(q.outcome, Some(Outcome::Failed));
        assert_eq!(q.to.unwrap().to_rfc3339(), "2026-11-25T04:30:00+00:00");
        assert_eq!(EventQuery::parse(&q.to_raw()).unwrap(), q);
    }

    #[test]
    fn a_date_as_upper_bound_includes_that_day() {
        let q = EventQuery::parse(&raw(|r| r.to = Some("2026-11-24".into()))).unwrap();
        assert_eq!(q.to.unwrap().to_rfc3339(), "2026-11-25T00:00:00+00:00");
    }

    #[test]
    fn wrong_fields_are_named() {
        let cases: [(RawEventFilter, FilterError); 8] = [
            (raw(|r| r.account = Some("12".into())), FilterError::Account),
            (raw(|r| r.app = Some("a b".into())), FilterError::App),
            (raw(|r| r.kind = Some("nope".into())), FilterError::Kind),
            (
                raw(|r| r.outcome = Some("meh".into())),
                FilterError::Outcome,
            ),
            (raw(|r| r.ip = Some("1.2.3".into())), FilterError::Ip),
            (
                raw(|r| r.from = Some("yesterday".into())),
                FilterError::Time("from"),
            ),
            (
                raw(|r| r.ip = Some("x".repeat(10_000))),
                FilterError::TooLong("ip"),
            ),
            (
                raw(|r| {
                    r.from = Some("2026-11-25".into());
                    r.to = Some("2026-11-24".into());
                }),
                FilterError::Order,
            ),
        ];
        for (r, want) in cases {
            assert_eq!(EventQuery::parse(&r), Err(want));
        }
    }

    #[test]
    fn formula_cells_are_neutralised() {
        for bad in ["=cmd()", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralise(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(neutralise("Mozilla/5.0"), "Mozilla/5.0");
    }
}
