-- The admin overview counts accounts by status: an index-only count per status.
CREATE INDEX accounts_status ON accounts (status);
-- The audit view's outcome filter: a rare outcome ('refused') would otherwise walk the whole
-- log newest first.
CREATE INDEX audit_events_outcome_id ON audit_events (outcome, id);
