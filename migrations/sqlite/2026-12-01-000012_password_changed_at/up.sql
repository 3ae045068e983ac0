-- When the password hash was last replaced (NULL: never, since the account was created). Codes
-- and refresh tokens from a sign-in older than this give nothing more (issue 10, point 5): the
-- password that proved them is no longer the account's.
ALTER TABLE accounts ADD COLUMN password_changed_at TIMESTAMP;
