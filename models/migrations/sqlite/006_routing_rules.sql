CREATE TABLE routing_rules (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  category_id INTEGER NULL,
  township_id INTEGER NULL,
  keyword VARCHAR(64) NOT NULL DEFAULT '',
  unit_id INTEGER NOT NULL,
  role VARCHAR(16) NOT NULL,
  priority INT NOT NULL DEFAULT 0,
  active BOOLEAN NOT NULL DEFAULT TRUE,
  created_at DATETIME NOT NULL,
  CONSTRAINT fk_routing_rules_category FOREIGN KEY (category_id) REFERENCES categories (id),
  CONSTRAINT fk_routing_rules_township FOREIGN KEY (township_id) REFERENCES units (id),
  CONSTRAINT fk_routing_rules_unit FOREIGN KEY (unit_id) REFERENCES units (id),
  CONSTRAINT ck_routing_rules_role CHECK (role IN ('grassroots','county'))
);
