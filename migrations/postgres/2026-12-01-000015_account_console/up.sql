-- The account console (issue 12).
--
-- Sessions and devices: what the person sees of each sign-in. The user agent and address are
-- those of the sign-in; last_active_at moves at most once a minute (when the browser's session
-- is checked against this row); device_sha256 names the browser (a digest of its long-lived
-- device cookie), so a sign-in from a browser this account has not used before can be noticed.
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN last_active_at TIMESTAMP;
ALTER TABLE sessions ADD COLUMN device_sha256 TEXT;
CREATE INDEX sessions_account_device ON sessions (account_id, device_sha256);
-- The person's preferred language (en, hi); NULL: never chosen.
ALTER TABLE accounts ADD COLUMN locale TEXT;
-- Every app an account has signed in to, first-party or not: what "Connected apps" lists.
-- Grants come and go (and are purged); this row stays until the person revokes the app or the
-- account is deleted.
CREATE TABLE connected_apps (
    account_id    BIGINT NOT NULL REFERENCES accounts (account_id),
    client_id     TEXT NOT NULL,
    first_used_at TIMESTAMP NOT NULL,
    last_used_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, client_id)
);
