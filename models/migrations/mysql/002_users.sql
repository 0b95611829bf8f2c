CREATE TABLE users (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  username VARCHAR(64) NOT NULL,
  password_hash VARCHAR(255) NOT NULL,
  role VARCHAR(16) NOT NULL,
  unit_id BIGINT UNSIGNED NULL,
  email VARCHAR(254) NOT NULL DEFAULT '',
  must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
  failed_logins INT NOT NULL DEFAULT 0,
  locked_until DATETIME(6) NULL,
  disabled BOOLEAN NOT NULL DEFAULT FALSE,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_users_username (username),
  KEY ix_users_unit (unit_id),
  CONSTRAINT fk_users_unit FOREIGN KEY (unit_id) REFERENCES units (id),
  CONSTRAINT ck_users_role CHECK (role IN ('admin','office','leader','liaison')),
  CONSTRAINT ck_users_liaison_unit CHECK (role <> 'liaison' OR unit_id IS NOT NULL)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
