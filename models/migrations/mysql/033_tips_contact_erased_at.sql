ALTER TABLE tips ADD COLUMN contact_erased_at DATETIME(6) NULL;
