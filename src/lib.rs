//! OneID: one account for every app, over OAuth 2.0 and OpenID Connect.
//!
//! # The layers
//!
//! Each floor imports only the floors below it; nothing imports upward, and no module below
//! the faces names `actix_web`. The unit test in `layers.rs` holds the code to this picture
//! (it fails naming the file and the import that breaks it):
//!
//! ```text
//! cli                              the command line: arguments and printing (`serve` starts:)
//! startup                          binds the listener, runs the scheduled jobs
//! web                              HTTP pages and endpoints: parse, call one function, respond
//! state                            assembles the contexts below once; imports nothing back
//! admin                            operators' operations, written once for every face
//! oauth, account                   the protocol flows; sign-up, sign-in, codes, reset, limits
//! session                          browser sessions; ending a session (its one home)
//! logout                           back-channel logout tokens: queue and delivery
//! oidc, audit                      signing keys and tokens; the audit log
//! store, db, notify                the outside world: short-lived state, rows, messages
//! config, clock, telemetry         settings and time, passed in; the metrics operators scrape
//! domain, i18n                     values that parse; message catalogs
//! ```
//!
//! The core (everything from `oidc` to `admin`) receives what it uses: a small context of
//! handles per area (`oauth::Context`, `audit::Audit`, ...) built once in `state`, or the
//! values themselves; never the whole application state. Pure steps take values and are
//! unit-tested where they live.

pub mod account;
pub mod admin;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod i18n;
pub mod logout;
pub mod notify;
pub mod oauth;
pub mod oidc;
pub mod session;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod web;

#[cfg(test)]
mod layers;
#[cfg(test)]
mod proptests;
