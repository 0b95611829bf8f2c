INSERT OR IGNORE INTO notice_batch_entries (digest_id, event_id, assignment_id)
  SELECT d.id, json_extract(j.value, '$.event_id'), COALESCE(json_extract(j.value, '$.assignment_id'), 0)
  FROM digests d, json_each(d.items) j
  WHERE d.scope LIKE 'notice:%' AND d.status IN ('pending', 'sending');
UPDATE digests SET entry_count = (SELECT COUNT(*) FROM notice_batch_entries e WHERE e.digest_id = digests.id);
