CREATE TABLE attachments (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  case_id BIGINT UNSIGNED NOT NULL,
  event_id BIGINT UNSIGNED NULL,
  assignment_id BIGINT UNSIGNED NULL,
  filename VARCHAR(255) NOT NULL,
  content_type VARCHAR(100) NOT NULL,
  size BIGINT NOT NULL,
  sha256 VARCHAR(64) NOT NULL,
  data LONGBLOB NOT NULL,
  created_at DATETIME(6) NOT NULL,
  KEY ix_attachments_case (case_id),
  CONSTRAINT fk_attachments_case FOREIGN KEY (case_id) REFERENCES cases (id),
  CONSTRAINT fk_attachments_event FOREIGN KEY (event_id) REFERENCES events (id),
  CONSTRAINT fk_attachments_assignment FOREIGN KEY (assignment_id) REFERENCES assignments (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
