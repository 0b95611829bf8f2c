ALTER TABLE tips ADD COLUMN idempotency_request VARCHAR(64) NULL;
