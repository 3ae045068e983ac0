ALTER TABLE clients DROP COLUMN access_token_signed_response_alg;
