DROP INDEX audit_events_outcome_id;
DROP INDEX accounts_status;
