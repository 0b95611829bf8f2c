CREATE TABLE assignments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  case_id INTEGER NOT NULL,
  unit_id INTEGER NOT NULL,
  role VARCHAR(16) NOT NULL,
  status VARCHAR(16) NOT NULL,
  due_from DATETIME NULL,
  due_at DATETIME NULL,
  due_version INT NOT NULL DEFAULT 0,
  timer_step INT NOT NULL DEFAULT 0,
  next_timer_at DATETIME NULL,
  report TEXT NOT NULL,
  review_comment TEXT NOT NULL,
  extension_days INT NOT NULL DEFAULT 0,
  extension_asked INT NOT NULL DEFAULT 0,
  extension_reason TEXT NOT NULL,
  extension_status VARCHAR(16) NOT NULL DEFAULT '',
  submitted_at DATETIME NULL,
  accepted_at DATETIME NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL,
  CONSTRAINT uq_assignments_case_unit UNIQUE (case_id, unit_id),
  CONSTRAINT fk_assignments_case FOREIGN KEY (case_id) REFERENCES cases (id),
  CONSTRAINT fk_assignments_unit FOREIGN KEY (unit_id) REFERENCES units (id),
  CONSTRAINT ck_assignments_role CHECK (role IN ('grassroots','county'))
);
CREATE INDEX ix_assignments_unit_status_due ON assignments (unit_id, status, due_at);
CREATE INDEX ix_assignments_next_timer ON assignments (next_timer_at);
