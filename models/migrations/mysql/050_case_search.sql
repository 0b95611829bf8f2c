CREATE TABLE case_search (
  case_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  terms MEDIUMTEXT NOT NULL,
  CONSTRAINT fk_case_search_case FOREIGN KEY (case_id) REFERENCES cases (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
