CREATE TABLE registry_quotas (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  year INT NOT NULL,
  kind VARCHAR(16) NOT NULL,
  scope VARCHAR(32) NOT NULL,
  unit_id BIGINT UNSIGNED NULL,
  max_count INT NOT NULL,
  reduction_pct INT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_registry_quotas_year_kind_scope (year, kind, scope),
  CONSTRAINT fk_registry_quotas_unit FOREIGN KEY (unit_id) REFERENCES units (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
