//! The integration suite on the embedded pair: SQLite + in-memory state. Runs everywhere.

#[path = "../suite/mod.rs"]
mod suite;
