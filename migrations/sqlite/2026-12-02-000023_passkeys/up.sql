-- Passkeys (WebAuthn credentials, issue 16): what an account may sign in with instead of a
-- password. `credential` is webauthn-rs's serialized credential (public key, algorithm,
-- signature counter, backup flags); `credential_id` (base64url, unique, at most 1023 bytes
-- before encoding: WebAuthn Level 3 §6.5.1) finds it when an authenticator answers;
-- `sign_count` repeats the counter so that a use can move it forward atomically (compare and
-- set) and a counter that went backwards is refused. `passkey_id` is random and names the
-- passkey in the account console's forms. `name` is what the person calls it (1-64 characters).
CREATE TABLE passkeys (
    passkey_id      TEXT PRIMARY KEY NOT NULL,
    account_id      BIGINT NOT NULL REFERENCES accounts (account_id),
    credential_id   TEXT NOT NULL UNIQUE CHECK (length(credential_id) <= 1364),
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    credential      TEXT NOT NULL,
    sign_count      BIGINT NOT NULL DEFAULT 0,
    backup_eligible BOOLEAN NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    last_used_at    TIMESTAMP
);
CREATE INDEX passkeys_account ON passkeys (account_id, created_at);
