CREATE TABLE routing_rules (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  category_id BIGINT UNSIGNED NULL,
  township_id BIGINT UNSIGNED NULL,
  keyword VARCHAR(64) NOT NULL DEFAULT '',
  unit_id BIGINT UNSIGNED NOT NULL,
  role VARCHAR(16) NOT NULL,
  priority INT NOT NULL DEFAULT 0,
  active BOOLEAN NOT NULL DEFAULT TRUE,
  created_at DATETIME(6) NOT NULL,
  CONSTRAINT fk_routing_rules_category FOREIGN KEY (category_id) REFERENCES categories (id),
  CONSTRAINT fk_routing_rules_township FOREIGN KEY (township_id) REFERENCES units (id),
  CONSTRAINT fk_routing_rules_unit FOREIGN KEY (unit_id) REFERENCES units (id),
  CONSTRAINT ck_routing_rules_role CHECK (role IN ('grassroots','county'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
