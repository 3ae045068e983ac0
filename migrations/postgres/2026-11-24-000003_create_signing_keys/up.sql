-- Token signing keys. The private key is PKCS#8 DER sealed with AES-256-GCM under the key
-- encryption key from settings (nonce || ciphertext || tag); the public half is a JWK.
CREATE TABLE signing_keys (
    kid           TEXT PRIMARY KEY NOT NULL,
    alg           TEXT NOT NULL CHECK (alg IN ('RS256', 'ES256', 'EdDSA')),
    public_jwk    TEXT NOT NULL,
    sealed_private BYTEA NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    -- Set when a newer key of the same algorithm takes over signing.
    retired_at    TIMESTAMP,
    -- After this the key is no longer published in the JWKS: every token it signed has expired.
    unpublish_at  TIMESTAMP
);
CREATE INDEX signing_keys_alg_created ON signing_keys (alg, created_at);
