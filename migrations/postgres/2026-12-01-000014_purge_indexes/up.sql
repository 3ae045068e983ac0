-- The hourly purge of finished rows (db::purge) finds them by these columns; without indexes
-- each batch would scan the whole table. Partial where the column is mostly NULL.
CREATE INDEX grants_expires ON grants (expires_at);
CREATE INDEX grants_revoked ON grants (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX sessions_ended ON sessions (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX backchannel_deliveries_delivered ON backchannel_deliveries (delivered_at) WHERE delivered_at IS NOT NULL;
CREATE INDEX backchannel_deliveries_abandoned ON backchannel_deliveries (abandoned_at) WHERE abandoned_at IS NOT NULL;
