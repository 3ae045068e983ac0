DROP INDEX sessions_account_created;
DROP INDEX sessions_live_created;
DROP INDEX accounts_name_key_id;
ALTER TABLE accounts ALTER COLUMN name_key TYPE TEXT;
