CREATE TABLE disposals (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  case_id INTEGER NOT NULL,
  measure VARCHAR(32) NOT NULL,
  persons INTEGER NOT NULL,
  units INTEGER NOT NULL,
  note TEXT NOT NULL,
  created_by INTEGER NOT NULL,
  created_at DATETIME NOT NULL,
  CONSTRAINT fk_disposals_case FOREIGN KEY (case_id) REFERENCES cases (id),
  CONSTRAINT fk_disposals_user FOREIGN KEY (created_by) REFERENCES users (id),
  CONSTRAINT ck_disposals_counts CHECK (persons >= 0 AND units >= 0)
);
CREATE INDEX idx_disposals_case_id ON disposals (case_id);
CREATE INDEX idx_disposals_created_at ON disposals (created_at);
