-- Second factors (issue 16): an authenticator app (TOTP), recovery codes, and browsers
-- remembered for the second factor.
--
-- The account's authenticator app: one per account. The RFC 6238 secret is sealed with
-- AES-256-GCM under a key derived from the key encryption key for this purpose alone, the
-- account bound in as associated data (see account::second_factor::totp), so a dump of the
-- database yields no secret. Until confirmed_at is set the row is an enrolment in progress,
-- good until expires_at; last_step is the last accepted time step (RFC 6238 §5.2: a code is
-- accepted once), moved forward by one conditional UPDATE so one code cannot pass twice.
CREATE TABLE totp_authenticators (
    account_id    BIGINT PRIMARY KEY REFERENCES accounts (account_id),
    sealed_secret BYTEA NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP,
    confirmed_at  TIMESTAMP,
    last_step     BIGINT
);
-- Single-use recovery codes, stored as an HMAC under a server key (never the code itself);
-- used_at is set by one conditional UPDATE, so a code works once.
CREATE TABLE recovery_codes (
    account_id  BIGINT NOT NULL REFERENCES accounts (account_id),
    code_digest TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP,
    PRIMARY KEY (account_id, code_digest)
);
-- Browsers that skip the second-factor prompt ("remember this browser"): mark_digest is an
-- HMAC of the digest of the browser's device cookie for this account, so the row matches one
-- browser and one account, and a dump of the database gives no cookie to plant.
CREATE TABLE remembered_browsers (
    id           TEXT PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (account_id),
    mark_digest  TEXT NOT NULL,
    user_agent   TEXT,
    ip           TEXT,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);
CREATE INDEX remembered_browsers_account ON remembered_browsers (account_id, mark_digest);
