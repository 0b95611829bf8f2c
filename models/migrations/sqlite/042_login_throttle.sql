CREATE TABLE login_throttle (
  key_hash VARCHAR(64) NOT NULL PRIMARY KEY,
  window_start DATETIME NOT NULL,
  failures INT NOT NULL
)
