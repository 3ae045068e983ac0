//! OneID: one account for every app, over OAuth 2.0 and OpenID Connect.
//!
//! Dependencies point one way: `web` → `account` → `db` / `store` / `notify`, with `domain`
//! types shared by all.

pub mod account;
pub mod admin;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod i18n;
pub mod notify;
pub mod oauth;
pub mod oidc;
pub mod session;
pub mod startup;
pub mod state;
pub mod store;
pub mod web;

#[cfg(test)]
mod proptests;
