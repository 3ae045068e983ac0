-- The admin overview counts accounts by status: an index-only count per status.
CREATE INDEX accounts_status ON accounts (status);
