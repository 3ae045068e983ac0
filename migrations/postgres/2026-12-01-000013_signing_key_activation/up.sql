-- A new signing key is published before it signs: it starts signing at `activates_at`, long
-- enough after it entered the JWKS that every instance and every relying party's cached JWKS
-- know it. The key it succeeds gets `retired_at` = that same moment (possibly in the future),
-- so exactly one key of an algorithm signs at any time, computed from these timestamps alone.
ALTER TABLE signing_keys ADD COLUMN activates_at TIMESTAMP;
-- Keys from before this change signed from their creation.
UPDATE signing_keys SET activates_at = created_at;
