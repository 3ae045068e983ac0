-- Deleted accounts (issue 12): the row stays, with status 'deleted' and neither phone nor
-- email (both are erased, so they can sign up again), so the account ID and `sub` are never
-- given again. PostgreSQL twin of migrations/sqlite/2026-12-01-000016_deleted_accounts.
ALTER TABLE accounts DROP CONSTRAINT accounts_status_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_status_check
    CHECK (status IN ('active', 'locked', 'disabled', 'deleted'));
ALTER TABLE accounts DROP CONSTRAINT accounts_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_check
    CHECK (phone IS NOT NULL OR email IS NOT NULL OR status = 'deleted');
