-- A notice batch's notices, a row each (they were a JSON array in
-- digests.items, read and written whole by every filing: quadratic on a
-- busy day). Steps 111-113 move the notices of unsent batches over.
CREATE TABLE notice_batch_entries (
  digest_id BIGINT UNSIGNED NOT NULL,
  event_id BIGINT UNSIGNED NOT NULL,
  assignment_id BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (digest_id, event_id, assignment_id),
  CONSTRAINT fk_notice_batch_entries_digest FOREIGN KEY (digest_id) REFERENCES digests (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
