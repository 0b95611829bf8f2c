CREATE TABLE service_evaluations (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  unit_id BIGINT UNSIGNED NOT NULL,
  rating VARCHAR(32) NOT NULL,
  comment TEXT NOT NULL,
  rated_on VARCHAR(10) NOT NULL,
  KEY ix_service_evaluations_day (rated_on, unit_id),
  CONSTRAINT fk_service_evaluations_unit FOREIGN KEY (unit_id) REFERENCES units (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
