-- Administration (issue 13).
--
-- A role per account: 'admin' or NULL (none). Granted and revoked by `oneid admin grant|revoke`.
ALTER TABLE accounts ADD COLUMN role TEXT;
CREATE INDEX accounts_role ON accounts (role) WHERE role IS NOT NULL;
-- Set by an administrator: the next sign-in with the password is refused until the person
-- chooses a new one with a code (the reset flow clears it).
ALTER TABLE accounts ADD COLUMN must_reset_password BOOLEAN NOT NULL DEFAULT FALSE;
-- The display name in its search form (lower case, trimmed), so "name starts with" is a range
-- scan of one index on both backends. Written by every change of the name; existing rows are
-- filled here (SQL lower() folds ASCII only on SQLite; names change their key on next edit).
ALTER TABLE accounts ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE accounts SET name_key = lower(trim(display_name));
-- (its index, with the account ID for paging, is in 000019)
-- A disabled client: its token requests are refused and its authorizations show a page.
ALTER TABLE clients ADD COLUMN disabled_at TIMESTAMP;
-- Admin consent (a first-party client): who gave it on everyone's behalf, and when. Both NULL
-- for a client that was first-party before this migration or is not first-party.
ALTER TABLE clients ADD COLUMN first_party_by TEXT;
ALTER TABLE clients ADD COLUMN first_party_at TIMESTAMP;
-- Who did it: 'account:<id>' (an administrator in the console), 'client:<id>' (the admin
-- API), 'operator' (the command line); NULL for what people and apps do themselves.
ALTER TABLE audit_events ADD COLUMN actor TEXT;
-- The admin console's audit filters page newest first by id; each filter has an index that
-- serves that order.
CREATE INDEX audit_events_account_id ON audit_events (account_id, id);
CREATE INDEX audit_events_client_id ON audit_events (client_id, id);
CREATE INDEX audit_events_kind_id ON audit_events (kind, id);
CREATE INDEX audit_events_ip_id ON audit_events (ip, id);
-- Sessions by app: grants name their session.
CREATE INDEX grants_client_sid ON grants (client_id, sid);
-- Consent summary per app.
CREATE INDEX consents_client ON consents (client_id);
