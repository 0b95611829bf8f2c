CREATE TABLE events (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  case_id BIGINT UNSIGNED NOT NULL,
  assignment_id BIGINT UNSIGNED NULL,
  at DATETIME(6) NOT NULL,
  kind VARCHAR(32) NOT NULL,
  actor_id BIGINT UNSIGNED NULL,
  actor VARCHAR(100) NOT NULL,
  from_stage VARCHAR(16) NOT NULL DEFAULT '',
  to_stage VARCHAR(16) NOT NULL DEFAULT '',
  public BOOLEAN NOT NULL DEFAULT FALSE,
  body TEXT NOT NULL,
  data TEXT NOT NULL,
  KEY ix_events_case (case_id, id),
  CONSTRAINT fk_events_case FOREIGN KEY (case_id) REFERENCES cases (id),
  CONSTRAINT fk_events_assignment FOREIGN KEY (assignment_id) REFERENCES assignments (id),
  CONSTRAINT fk_events_actor FOREIGN KEY (actor_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
