//! The integration suite: the real app over real HTTP on a random port, one database per test.
//! Two test binaries run it: `api` (tests/api) on SQLite + memory, `scale` (tests/scale) on
//! PostgreSQL + Redis; `helpers::on_scale_pair` tells them apart.

mod capture;
mod helpers;

mod admin_access;
mod admin_accounts;
mod admin_apps;
mod admin_audit;
mod admin_sessions;
mod audit;
mod authz;
mod backchannel;
mod bench_driver;
mod botcheck;
mod cli;
mod codes;
mod consent;
mod console_apps;
mod console_contacts;
mod console_delete;
mod console_password;
mod console_profile;
mod console_reauth;
mod console_sessions;
mod continue_with;
mod delivery;
mod fuzz;
mod key_rollover;
mod lifecycle;
mod limits;
mod lockout;
mod login;
mod metrics;
mod notify;
mod oidc;
mod oidc_errors;
mod pages;
mod passkeys;
mod proxies;
mod purge;
mod recovery;
mod scale_out;
mod second_factor;
mod secrets;
mod security_headers;
mod signup;
mod single_logout;
mod step_up;
mod token_grants;
