//! Integration tests: the real app over real HTTP on a random port, one database per test.

mod helpers;

mod cli;
mod codes;
mod lifecycle;
mod login;
mod notify;
mod oidc;
mod pages;
mod signup;
