//! Integration tests: the real app over real HTTP on a random port, one database per test.

mod helpers;

mod backchannel;
mod cli;
mod codes;
mod consent;
mod lifecycle;
mod login;
mod notify;
mod oidc;
mod oidc_errors;
mod pages;
mod signup;
