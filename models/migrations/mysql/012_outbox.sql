CREATE TABLE outbox (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  type VARCHAR(64) NOT NULL,
  payload BLOB NOT NULL,
  queue VARCHAR(32) NOT NULL,
  run_at DATETIME(6) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  enqueued_at DATETIME(6) NULL,
  done_at DATETIME(6) NULL,
  KEY ix_outbox_pending (done_at, enqueued_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
