CREATE TABLE digests (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  scope VARCHAR(40) NOT NULL,
  week VARCHAR(8) NOT NULL,
  status VARCHAR(16) NOT NULL,
  items MEDIUMTEXT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  claimed_at DATETIME(6) NULL,
  sent_at DATETIME(6) NULL,
  UNIQUE KEY uq_digests_scope_week (scope, week),
  KEY ix_digests_week_status (week, status),
  CONSTRAINT ck_digests_status CHECK (status IN ('pending','sending','sent','skipped'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
