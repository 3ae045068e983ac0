-- The audit log: what happened to which account, through which app, from where. Append-only:
-- a row is written once and deleted only when it is older than `[audit] retention_days`.
-- No foreign keys: a row must outlive the account or client it names. `detail` is short and
-- machine-written (a code's purpose, a scope list, a limit's name) and never holds a secret.
-- PostgreSQL twin of migrations/sqlite/2026-11-24-000007_audit_events: an identity BIGINT
-- where SQLite has its 64-bit rowid; schema.rs reads both as BigInt.
CREATE TABLE audit_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         TIMESTAMP NOT NULL,
    kind       TEXT NOT NULL,
    account_id BIGINT,
    client_id  TEXT,
    ip         TEXT,
    user_agent TEXT,
    outcome    TEXT NOT NULL CHECK (outcome IN ('ok', 'failed', 'refused')),
    detail     TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_account_at ON audit_events (account_id, at);
