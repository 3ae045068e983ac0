//! Plain data read from and written to tables, and the queries over them.

pub mod account;
pub mod audit;
pub mod backchannel;
pub mod client;
pub mod connected_app;
pub mod grant;
pub mod passkey;
pub mod second_factor;
pub mod session;

pub mod signing_key;
