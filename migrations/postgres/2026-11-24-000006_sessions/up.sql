-- The durable index of OneID sign-ins. The browser's session data lives in the ephemeral store
-- and vanishes when it expires; this row outlives it, so that an expired session still tells
-- its apps (Back-Channel Logout 1.0 §2.1), and an admin or a password reset can end every
-- session of an account from any process.
CREATE TABLE sessions (
    sid        TEXT PRIMARY KEY NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (account_id),
    created_at TIMESTAMP NOT NULL,
    -- The session is certainly over by then; pushed forward (lazily) while it is in use.
    expires_at TIMESTAMP NOT NULL,
    ended_at   TIMESTAMP,
    end_reason TEXT
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expiring ON sessions (expires_at) WHERE ended_at IS NULL;
