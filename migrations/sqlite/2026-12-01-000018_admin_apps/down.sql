DROP INDEX clients_name;
DROP INDEX connected_apps_client;
