-- Accounts. Rows are never deleted (a closed account is `disabled`), so an account ID and a
-- subject identifier, once given, are never given again.
-- PostgreSQL twin of migrations/sqlite/2026-11-24-000001_create_accounts: TIMESTAMP (without
-- time zone) because schema.rs says `Timestamp`; every value is UTC.
CREATE TABLE accounts (
    account_id    BIGINT PRIMARY KEY NOT NULL CHECK (account_id BETWEEN 100000000 AND 9999999999),
    sub           TEXT NOT NULL UNIQUE,
    phone         TEXT UNIQUE,
    email         TEXT UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'locked', 'disabled')),
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    CHECK (phone IS NOT NULL OR email IS NOT NULL)
);
