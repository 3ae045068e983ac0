//! The apps over real HTTP, against a fake OneID that speaks the protocol (no OneID needed).

mod backchannel;
mod helpers;
#[path = "../support/keys.rs"]
#[expect(
    dead_code,
    reason = "the unit tests use the whole of it, these tests part"
)]
mod keys;
mod pages;
mod signin;
