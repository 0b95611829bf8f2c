PRAGMA defer_foreign_keys = ON;
CREATE TABLE users_v1 AS SELECT * FROM users;
DROP TABLE users;
CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  username VARCHAR(64) NOT NULL,
  password_hash VARCHAR(255) NOT NULL,
  role VARCHAR(16) NOT NULL,
  unit_id INTEGER NULL,
  email VARCHAR(254) NOT NULL DEFAULT '',
  must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
  failed_logins INT NOT NULL DEFAULT 0,
  locked_until DATETIME NULL,
  disabled BOOLEAN NOT NULL DEFAULT FALSE,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL,
  CONSTRAINT uq_users_username UNIQUE (username),
  CONSTRAINT fk_users_unit FOREIGN KEY (unit_id) REFERENCES units (id),
  CONSTRAINT ck_users_role CHECK (role IN ('admin','office','leader','liaison','auditor')),
  CONSTRAINT ck_users_liaison_unit CHECK (role <> 'liaison' OR unit_id IS NOT NULL)
);
INSERT INTO users (id, username, password_hash, role, unit_id, email, must_change_password, failed_logins, locked_until, disabled, created_at, updated_at)
  SELECT id, username, password_hash, role, unit_id, email, must_change_password, failed_logins, locked_until, disabled, created_at, updated_at FROM users_v1;
DROP TABLE users_v1;
CREATE INDEX ix_users_unit ON users (unit_id)
