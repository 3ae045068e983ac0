-- Back to no deleted accounts (fails while a deleted account exists: it has no contact).
ALTER TABLE accounts DROP CONSTRAINT accounts_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_check CHECK (phone IS NOT NULL OR email IS NOT NULL);
ALTER TABLE accounts DROP CONSTRAINT accounts_status_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_status_check
    CHECK (status IN ('active', 'locked', 'disabled'));
