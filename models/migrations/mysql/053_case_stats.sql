CREATE TABLE case_stats (
  case_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  facts TEXT NOT NULL,
  CONSTRAINT fk_case_stats_case FOREIGN KEY (case_id) REFERENCES cases (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
