-- Back to no deleted accounts (fails while a deleted account exists: it has no contact).
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE accounts_before_000016 AS SELECT * FROM accounts;
DROP TABLE accounts;
CREATE TABLE accounts (
    account_id          BIGINT PRIMARY KEY NOT NULL CHECK (account_id BETWEEN 100000000 AND 9999999999),
    sub                 TEXT NOT NULL UNIQUE,
    phone               TEXT UNIQUE,
    email               TEXT UNIQUE,
    display_name        TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'locked', 'disabled')),
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    failed_logins       INTEGER NOT NULL DEFAULT 0,
    last_failed_at      TIMESTAMP,
    locked_until        TIMESTAMP,
    password_changed_at TIMESTAMP,
    locale              TEXT,
    CHECK (phone IS NOT NULL OR email IS NOT NULL)
);
INSERT INTO accounts (account_id, sub, phone, email, display_name, password_hash, status,
                      created_at, updated_at, failed_logins, last_failed_at, locked_until,
                      password_changed_at, locale)
SELECT account_id, sub, phone, email, display_name, password_hash, status,
       created_at, updated_at, failed_logins, last_failed_at, locked_until,
       password_changed_at, locale
FROM accounts_before_000016;
DROP TABLE accounts_before_000016;
