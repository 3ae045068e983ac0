ALTER TABLE accounts DROP COLUMN locked_until;
ALTER TABLE accounts DROP COLUMN last_failed_at;
ALTER TABLE accounts DROP COLUMN failed_logins;
