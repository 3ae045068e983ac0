DROP TABLE connected_apps;
ALTER TABLE accounts DROP COLUMN locale;
DROP INDEX sessions_account_device;
ALTER TABLE sessions DROP COLUMN device_sha256;
ALTER TABLE sessions DROP COLUMN last_active_at;
ALTER TABLE sessions DROP COLUMN ip;
ALTER TABLE sessions DROP COLUMN user_agent;
