CREATE TABLE typical_cases (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  case_id BIGINT UNSIGNED NOT NULL,
  title VARCHAR(100) NOT NULL,
  summary TEXT NOT NULL,
  published_at DATETIME(6) NOT NULL,
  published_by BIGINT UNSIGNED NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_typical_cases_case (case_id),
  KEY ix_typical_cases_published (published_at, id),
  CONSTRAINT fk_typical_cases_case FOREIGN KEY (case_id) REFERENCES cases (id),
  CONSTRAINT fk_typical_cases_user FOREIGN KEY (published_by) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
