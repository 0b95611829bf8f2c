CREATE TABLE registry_entries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind VARCHAR(16) NOT NULL,
  unit_id INTEGER NOT NULL,
  number VARCHAR(64) NOT NULL,
  title VARCHAR(200) NOT NULL,
  level VARCHAR(16) NOT NULL,
  starts_on VARCHAR(10) NOT NULL,
  ends_on VARCHAR(10) NOT NULL,
  minutes INTEGER NOT NULL,
  video BOOLEAN NOT NULL,
  targets VARCHAR(500) NOT NULL,
  planned BOOLEAN NOT NULL,
  merged BOOLEAN NOT NULL,
  owner VARCHAR(100) NOT NULL,
  status VARCHAR(16) NOT NULL,
  demands VARCHAR(64) NOT NULL,
  created_by INTEGER NOT NULL,
  created_at DATETIME NOT NULL,
  CONSTRAINT fk_registry_entries_unit FOREIGN KEY (unit_id) REFERENCES units (id),
  CONSTRAINT fk_registry_entries_user FOREIGN KEY (created_by) REFERENCES users (id)
);
CREATE INDEX ix_registry_entries_kind_start ON registry_entries (kind, starts_on, id);
CREATE INDEX ix_registry_entries_unit_kind ON registry_entries (unit_id, kind, starts_on);
