-- Relying parties. A client is public exactly when it authenticates with `none`, and only
-- confidential clients have a secret, stored as its SHA-256 (the secret is 256 random bits,
-- so a fast hash is as strong as a slow one and keeps the token endpoint fast).
CREATE TABLE clients (
    client_id                    TEXT PRIMARY KEY NOT NULL,
    name                         TEXT NOT NULL,
    logo_url                     TEXT,
    secret_sha256                TEXT,
    redirect_uris                TEXT NOT NULL, -- JSON array of exact strings
    post_logout_redirect_uris    TEXT NOT NULL, -- JSON array of exact strings
    backchannel_logout_uri       TEXT,
    scopes                       TEXT NOT NULL, -- space-separated
    grant_types                  TEXT NOT NULL, -- space-separated
    token_endpoint_auth_method   TEXT NOT NULL CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'none')),
    first_party                  BOOLEAN NOT NULL DEFAULT FALSE,
    id_token_signed_response_alg TEXT NOT NULL DEFAULT 'RS256' CHECK (id_token_signed_response_alg IN ('RS256', 'ES256', 'EdDSA')),
    created_at                   TIMESTAMP NOT NULL,
    updated_at                   TIMESTAMP NOT NULL,
    CHECK ((token_endpoint_auth_method = 'none') = (secret_sha256 IS NULL))
);
