-- Data only, safe to run again: the notices of the batches not yet sent.
INSERT IGNORE INTO notice_batch_entries (digest_id, event_id, assignment_id)
  SELECT d.id, j.event_id, j.assignment_id
  FROM digests d, JSON_TABLE(d.items, '$[*]' COLUMNS (
    event_id BIGINT UNSIGNED PATH '$.event_id',
    assignment_id BIGINT UNSIGNED PATH '$.assignment_id' DEFAULT '0' ON EMPTY)) AS j
  WHERE d.scope LIKE 'notice:%' AND d.status IN ('pending', 'sending');
UPDATE digests SET entry_count = (SELECT COUNT(*) FROM notice_batch_entries e WHERE e.digest_id = digests.id);
