//! One module per page or group of pages.

pub mod account;
pub mod assets;
pub mod lang;
pub mod login;
pub mod recover;
pub mod signup;
