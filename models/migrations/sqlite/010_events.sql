CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  case_id INTEGER NOT NULL,
  assignment_id INTEGER NULL,
  at DATETIME NOT NULL,
  kind VARCHAR(32) NOT NULL,
  actor_id INTEGER NULL,
  actor VARCHAR(100) NOT NULL,
  from_stage VARCHAR(16) NOT NULL DEFAULT '',
  to_stage VARCHAR(16) NOT NULL DEFAULT '',
  public BOOLEAN NOT NULL DEFAULT FALSE,
  body TEXT NOT NULL,
  data TEXT NOT NULL,
  CONSTRAINT fk_events_case FOREIGN KEY (case_id) REFERENCES cases (id),
  CONSTRAINT fk_events_assignment FOREIGN KEY (assignment_id) REFERENCES assignments (id),
  CONSTRAINT fk_events_actor FOREIGN KEY (actor_id) REFERENCES users (id)
);
CREATE INDEX ix_events_case ON events (case_id, id);
