CREATE TABLE verification_parts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  case_id INTEGER NOT NULL,
  unit_id INTEGER NOT NULL,
  finding VARCHAR(16) NOT NULL,
  report TEXT NOT NULL,
  created_by INTEGER NOT NULL,
  created_at DATETIME NOT NULL,
  CONSTRAINT uq_verification_parts_case_unit UNIQUE (case_id, unit_id),
  CONSTRAINT fk_verification_parts_case FOREIGN KEY (case_id) REFERENCES cases (id),
  CONSTRAINT fk_verification_parts_unit FOREIGN KEY (unit_id) REFERENCES units (id),
  CONSTRAINT fk_verification_parts_user FOREIGN KEY (created_by) REFERENCES users (id)
);
