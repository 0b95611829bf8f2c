-- A notice batch's notices move from the JSON array digests.items, which
-- every notice read and wrote whole (a busy day made filing quadratic), to a
-- row each. entry_count is what a filer writes on the batch row, so that it
-- and the batch's sender conflict (see the MySQL step).
CREATE TABLE notice_batch_entries (
  digest_id INTEGER NOT NULL,
  event_id INTEGER NOT NULL,
  assignment_id INTEGER NOT NULL,
  kind VARCHAR(32) NOT NULL,
  case_id INTEGER NOT NULL,
  PRIMARY KEY (digest_id, event_id, assignment_id),
  CONSTRAINT fk_notice_batch_entries_digest FOREIGN KEY (digest_id) REFERENCES digests (id)
);
INSERT OR IGNORE INTO notice_batch_entries (digest_id, event_id, assignment_id, kind, case_id)
  SELECT d.id, json_extract(j.value, '$.event_id'), COALESCE(json_extract(j.value, '$.assignment_id'), 0),
    json_extract(j.value, '$.kind'), json_extract(j.value, '$.case_id')
  FROM digests d, json_each(d.items) j
  WHERE d.scope LIKE 'notice:%' AND d.status IN ('pending', 'sending');
ALTER TABLE digests ADD COLUMN entry_count INTEGER NOT NULL DEFAULT 0;
UPDATE digests SET entry_count = (SELECT COUNT(*) FROM notice_batch_entries e WHERE e.digest_id = digests.id);
ALTER TABLE digests DROP COLUMN items;
