DROP INDEX accounts_status;
