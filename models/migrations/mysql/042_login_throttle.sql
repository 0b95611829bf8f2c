CREATE TABLE login_throttle (
  key_hash VARCHAR(64) NOT NULL PRIMARY KEY,
  window_start DATETIME(6) NOT NULL,
  failures INT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
