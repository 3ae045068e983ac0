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
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    ClientInfo::new(
        req.peer_addr().map(|a| a.ip()),
        header(header::X_FORWARDED_FOR),
        header(header::USER_AGENT),
        trusted,
    )
}
