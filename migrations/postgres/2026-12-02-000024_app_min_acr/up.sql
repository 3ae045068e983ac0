-- The weakest sign-in an app accepts (`urn:oneid:acr:1fa`, `2fa` or `phr`), set by an
-- administrator; NULL: any sign-in (an app may still ask for more with `acr_values`).
ALTER TABLE clients ADD COLUMN min_acr TEXT;
