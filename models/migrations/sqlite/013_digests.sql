CREATE TABLE digests (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  scope VARCHAR(40) NOT NULL,
  week VARCHAR(8) NOT NULL,
  status VARCHAR(16) NOT NULL,
  items TEXT NOT NULL,
  created_at DATETIME NOT NULL,
  claimed_at DATETIME NULL,
  sent_at DATETIME NULL,
  CONSTRAINT uq_digests_scope_week UNIQUE (scope, week),
  CONSTRAINT ck_digests_status CHECK (status IN ('pending','sending','sent','skipped'))
);
CREATE INDEX ix_digests_week_status ON digests (week, status);
