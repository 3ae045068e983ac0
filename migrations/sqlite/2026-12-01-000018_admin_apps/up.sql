-- Admin apps: what an app's consent summary and a revoke-all or removal touch, found by
-- client; the app list searched by name prefix.
CREATE INDEX connected_apps_client ON connected_apps (client_id);
CREATE INDEX clients_name ON clients (name, client_id);
