-- The algorithm a client's JWT access tokens are signed with (RFC 9068 §2.1 leaves it to the
-- server); NULL: the server's `oauth.access_token_alg`.
ALTER TABLE clients ADD COLUMN access_token_signed_response_alg TEXT;
