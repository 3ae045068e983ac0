DROP TABLE remembered_browsers;
DROP TABLE recovery_codes;
DROP TABLE totp_authenticators;
