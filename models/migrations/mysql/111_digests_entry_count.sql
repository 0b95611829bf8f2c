-- What a filer writes on the batch row, so that it and the batch's sender
-- conflict (on Galera too, where FOR UPDATE locks on one node only).
ALTER TABLE digests ADD COLUMN entry_count INT NOT NULL DEFAULT 0;
