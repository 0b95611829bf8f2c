CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at DATETIME NOT NULL,
  actor VARCHAR(64) NOT NULL,
  actor_role VARCHAR(16) NOT NULL,
  client VARCHAR(64) NOT NULL,
  action VARCHAR(48) NOT NULL,
  target VARCHAR(200) NOT NULL,
  outcome VARCHAR(16) NOT NULL,
  detail VARCHAR(500) NOT NULL
);
CREATE INDEX ix_audit_log_at ON audit_log (at, id);
CREATE INDEX ix_audit_log_actor ON audit_log (actor, at);
CREATE INDEX ix_audit_log_action ON audit_log (action, at)
