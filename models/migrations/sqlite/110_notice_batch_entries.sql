-- A notice batch's notices, a row each (see the MySQL step).
CREATE TABLE notice_batch_entries (
  digest_id INTEGER NOT NULL,
  event_id INTEGER NOT NULL,
  assignment_id INTEGER NOT NULL,
  PRIMARY KEY (digest_id, event_id, assignment_id),
  CONSTRAINT fk_notice_batch_entries_digest FOREIGN KEY (digest_id) REFERENCES digests (id)
);
