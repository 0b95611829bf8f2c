CREATE TABLE disposals (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  case_id BIGINT UNSIGNED NOT NULL,
  measure VARCHAR(32) NOT NULL,
  persons INT NOT NULL,
  units INT NOT NULL,
  note TEXT NOT NULL,
  created_by BIGINT UNSIGNED NOT NULL,
  created_at DATETIME(6) NOT NULL,
  KEY idx_disposals_case_id (case_id),
  KEY idx_disposals_created_at (created_at),
  CONSTRAINT fk_disposals_case FOREIGN KEY (case_id) REFERENCES cases (id),
  CONSTRAINT fk_disposals_user FOREIGN KEY (created_by) REFERENCES users (id),
  CONSTRAINT ck_disposals_counts CHECK (persons >= 0 AND units >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
