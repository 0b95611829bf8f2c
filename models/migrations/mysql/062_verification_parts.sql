CREATE TABLE verification_parts (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  case_id BIGINT UNSIGNED NOT NULL,
  unit_id BIGINT UNSIGNED NOT NULL,
  finding VARCHAR(16) NOT NULL,
  report TEXT NOT NULL,
  created_by BIGINT UNSIGNED NOT NULL,
  created_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_verification_parts_case_unit (case_id, unit_id),
  CONSTRAINT fk_verification_parts_case FOREIGN KEY (case_id) REFERENCES cases (id),
  CONSTRAINT fk_verification_parts_unit FOREIGN KEY (unit_id) REFERENCES units (id),
  CONSTRAINT fk_verification_parts_user FOREIGN KEY (created_by) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
