CREATE TABLE digests (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  scope VARCHAR(40) NOT NULL,
  week VARCHAR(8) NOT NULL,
  status VARCHAR(16) NOT NULL,
  claimed_at DATETIME NOT NULL,
  sent_at DATETIME NULL,
  CONSTRAINT uq_digests_scope_week UNIQUE (scope, week)
);
