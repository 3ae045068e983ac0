//! The extractor for [`ClientInfo`]: the client's address and user agent, with
//! `X-Forwarded-For` believed only from the proxies the settings trust.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, http::header, web};

use crate::{domain::ClientInfo, state::AppState};

pub struct Client(pub ClientInfo);

impl FromRequest for Client {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(Self(client_info(req))))
    }
}

pub fn client_info(req: &HttpRequest) -> ClientInfo {
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.settings.trusted_proxies.as_slice())
        .unwrap_or_default();
    let forwarded_for = forwarded_for(req);
    ClientInfo::new(
        req.peer_addr().map(|a| a.ip()),
        forwarded_for.as_deref(),
        req.headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
        trusted,
    )
}

/// Every `X-Forwarded-For` line, in order, as one list: RFC 9110 §5.3 (formerly RFC 7230
/// §3.2.2) makes repeated lines of a list header one comma-joined value. Reading only the first
/// line would let a client send its own line ahead of the one our proxy appended and choose the
/// address that is counted. A line that is not visible ASCII becomes an entry that does not
/// parse, so the walk from the right stops there.
fn forwarded_for(req: &HttpRequest) -> Option<String> {
    let mut lines = req.headers().get_all(header::X_FORWARDED_FOR).peekable();
    lines.peek()?;
    Some(
        lines
            .map(|line| line.to_str().unwrap_or("unreadable"))
            .collect::<Vec<_>>()
            .join(","),
    )
}
