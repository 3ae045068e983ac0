-- A grant: what one authorization (one code redemption, or one client_credentials request)
-- allowed. Every access and refresh token issued from it carries its id, so revoking the grant
-- revokes them all (code replay, refresh-token reuse, sign-out, revocation).
CREATE TABLE grants (
    grant_id    TEXT PRIMARY KEY NOT NULL,
    client_id   TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    account_id  BIGINT REFERENCES accounts (account_id),
    scope       TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    -- The absolute end of the refresh-token family.
    expires_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP
);
CREATE INDEX grants_account ON grants (account_id);

-- Refresh tokens, stored as SHA-256. Rotated on every use: the used one gets `used_at`, and
-- presenting a used one again revokes the whole grant (RFC 9700 §4.14.2).
CREATE TABLE refresh_tokens (
    token_sha256 TEXT PRIMARY KEY NOT NULL,
    grant_id     TEXT NOT NULL REFERENCES grants (grant_id) ON DELETE CASCADE,
    created_at   TIMESTAMP NOT NULL,
    used_at      TIMESTAMP
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);

-- Consent a person gave a (third-party) client, per scope set.
CREATE TABLE consents (
    account_id  BIGINT NOT NULL REFERENCES accounts (account_id),
    client_id   TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope       TEXT NOT NULL,
    granted_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, client_id)
);
