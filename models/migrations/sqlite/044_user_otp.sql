CREATE TABLE user_otp (
  user_id INTEGER NOT NULL PRIMARY KEY,
  secret_enc BLOB NOT NULL,
  confirmed_at DATETIME NULL,
  last_step BIGINT NOT NULL DEFAULT 0,
  created_at DATETIME NOT NULL,
  CONSTRAINT fk_user_otp_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
)
