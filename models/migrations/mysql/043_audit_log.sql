CREATE TABLE audit_log (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  at DATETIME(6) NOT NULL,
  actor VARCHAR(64) NOT NULL,
  actor_role VARCHAR(16) NOT NULL,
  client VARCHAR(64) NOT NULL,
  action VARCHAR(48) NOT NULL,
  target VARCHAR(200) NOT NULL,
  outcome VARCHAR(16) NOT NULL,
  detail VARCHAR(500) NOT NULL,
  KEY ix_audit_log_at (at, id),
  KEY ix_audit_log_actor (actor, at),
  KEY ix_audit_log_action (action, at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
