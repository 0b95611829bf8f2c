CREATE TABLE attachments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  case_id INTEGER NOT NULL,
  event_id INTEGER NULL,
  assignment_id INTEGER NULL,
  filename VARCHAR(255) NOT NULL,
  content_type VARCHAR(100) NOT NULL,
  size BIGINT NOT NULL,
  sha256 VARCHAR(64) NOT NULL,
  data BLOB NOT NULL,
  created_at DATETIME NOT NULL,
  CONSTRAINT fk_attachments_case FOREIGN KEY (case_id) REFERENCES cases (id),
  CONSTRAINT fk_attachments_event FOREIGN KEY (event_id) REFERENCES events (id),
  CONSTRAINT fk_attachments_assignment FOREIGN KEY (assignment_id) REFERENCES assignments (id)
);
CREATE INDEX ix_attachments_case ON attachments (case_id);
