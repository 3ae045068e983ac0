-- The admin overview counts accounts by status: an index-only count per status.
CREATE INDEX accounts_status ON accounts (status);
-- Name search pages "starts with" in (name_key, account_id) order: one range of this index,
-- no sort (on SQLite a BIGINT primary key is not the rowid, so `accounts_name_key` alone
-- leaves the tie-break to a sort of every match).
CREATE INDEX accounts_name_key_id ON accounts (name_key, account_id);
-- The audit view's outcome filter: a rare outcome ('refused') would otherwise walk the whole
-- log newest first.
CREATE INDEX audit_events_outcome_id ON audit_events (outcome, id);
