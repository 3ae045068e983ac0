-- Failed sign-ins, counted on the account row (durable and shared by every instance, so neither
-- a restart nor another instance resets them). A run of failures is forgotten when its last
-- failure is older than the window; locked_until is a temporary lock, status 'locked' the
-- lasting one (after too many failures, or by an operator).
ALTER TABLE accounts ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN last_failed_at TIMESTAMP;
ALTER TABLE accounts ADD COLUMN locked_until TIMESTAMP;
