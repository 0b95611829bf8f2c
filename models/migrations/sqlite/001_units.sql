CREATE TABLE units (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  code VARCHAR(32) NOT NULL,
  name VARCHAR(100) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  active BOOLEAN NOT NULL DEFAULT TRUE,
  created_at DATETIME NOT NULL,
  CONSTRAINT uq_units_code UNIQUE (code),
  CONSTRAINT ck_units_kind CHECK (kind IN ('township','county'))
);
