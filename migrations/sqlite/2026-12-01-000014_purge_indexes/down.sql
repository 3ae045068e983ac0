DROP INDEX backchannel_deliveries_abandoned;
DROP INDEX backchannel_deliveries_delivered;
DROP INDEX sessions_ended;
DROP INDEX grants_revoked;
DROP INDEX grants_expires;
