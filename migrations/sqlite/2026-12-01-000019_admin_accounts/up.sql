-- Admin console, accounts and sessions (issue 13).
--
-- Name search is a range `prefix <= name_key < prefix || U+10FFFF` (SQLite's BINARY collation
-- is code-point order); pages of a name search go by (name_key, account_id).
CREATE INDEX accounts_name_key_id ON accounts (name_key, account_id);
-- Live sessions newest first, for everyone or for one account, paged by (created_at, sid);
-- the latest sign-in of an account is the top of the per-account index.
CREATE INDEX sessions_live_created ON sessions (created_at, sid) WHERE ended_at IS NULL;
CREATE INDEX sessions_account_created ON sessions (account_id, created_at, sid);
