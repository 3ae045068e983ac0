DROP TABLE backchannel_deliveries;
DROP INDEX grants_sid;
ALTER TABLE grants DROP COLUMN sid;
