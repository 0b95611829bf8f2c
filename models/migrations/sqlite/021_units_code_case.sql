-- One canonical spelling on every backend (models/keys.go). On SQLite two rows that differ only in case or spaces stop this step: rename one, then migrate again.
UPDATE units SET code = UPPER(TRIM(code));
