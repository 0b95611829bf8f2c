CREATE TABLE registry_quotas (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  year INTEGER NOT NULL,
  kind VARCHAR(16) NOT NULL,
  scope VARCHAR(32) NOT NULL,
  unit_id INTEGER NULL,
  max_count INTEGER NOT NULL,
  reduction_pct INTEGER NOT NULL,
  created_at DATETIME NOT NULL,
  CONSTRAINT uq_registry_quotas_year_kind_scope UNIQUE (year, kind, scope),
  CONSTRAINT fk_registry_quotas_unit FOREIGN KEY (unit_id) REFERENCES units (id)
);
