DROP TABLE consents;
DROP TABLE refresh_tokens;
DROP TABLE grants;
