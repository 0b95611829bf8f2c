-- A notice batch's notices move from the JSON array digests.items, which
-- every notice read and wrote whole (a busy day made filing quadratic), to a
-- row each. entry_count is what a filer writes on the batch row, so that it
-- and the batch's sender conflict (on Galera too, where FOR UPDATE is local).
CREATE TABLE notice_batch_entries (
  digest_id BIGINT UNSIGNED NOT NULL,
  event_id BIGINT UNSIGNED NOT NULL,
  assignment_id BIGINT UNSIGNED NOT NULL,
  kind VARCHAR(32) NOT NULL,
  case_id BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (digest_id, event_id, assignment_id),
  CONSTRAINT fk_notice_batch_entries_digest FOREIGN KEY (digest_id) REFERENCES digests (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT IGNORE INTO notice_batch_entries (digest_id, event_id, assignment_id, kind, case_id)
  SELECT d.id, j.event_id, j.assignment_id, j.kind, j.case_id
  FROM digests d, JSON_TABLE(d.items, '$[*]' COLUMNS (
    kind VARCHAR(32) PATH '$.kind',
    case_id BIGINT UNSIGNED PATH '$.case_id',
    event_id BIGINT UNSIGNED PATH '$.event_id',
    assignment_id BIGINT UNSIGNED PATH '$.assignment_id' DEFAULT '0' ON EMPTY)) AS j
  WHERE d.scope LIKE 'notice:%' AND d.status IN ('pending', 'sending');
ALTER TABLE digests ADD COLUMN entry_count INT NOT NULL DEFAULT 0;
UPDATE digests SET entry_count = (SELECT COUNT(*) FROM notice_batch_entries e WHERE e.digest_id = digests.id);
ALTER TABLE digests DROP COLUMN items;
