-- The OIDC session (sid) a grant was minted under: the clients holding grants of a sid are
-- the ones to tell when that session ends (Back-Channel Logout 1.0 §2.1).
ALTER TABLE grants ADD COLUMN sid TEXT;
CREATE INDEX grants_sid ON grants (sid);

-- Logout tokens waiting to be delivered, retried with backoff. A row is claimed by moving its
-- next_attempt_at forward in one conditional UPDATE, so several instances never send twice.
CREATE TABLE backchannel_deliveries (
    id              TEXT PRIMARY KEY NOT NULL,
    client_id       TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    logout_uri      TEXT NOT NULL,
    logout_token    TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    delivered_at    TIMESTAMP,
    abandoned_at    TIMESTAMP,
    last_error      TEXT
);
CREATE INDEX backchannel_deliveries_due ON backchannel_deliveries (next_attempt_at);
