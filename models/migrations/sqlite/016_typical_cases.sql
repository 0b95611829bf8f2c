CREATE TABLE typical_cases (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  case_id INTEGER NOT NULL,
  title VARCHAR(100) NOT NULL,
  summary TEXT NOT NULL,
  published_at DATETIME NOT NULL,
  published_by INTEGER NOT NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL,
  CONSTRAINT uq_typical_cases_case UNIQUE (case_id),
  CONSTRAINT fk_typical_cases_case FOREIGN KEY (case_id) REFERENCES cases (id),
  CONSTRAINT fk_typical_cases_user FOREIGN KEY (published_by) REFERENCES users (id)
);
CREATE INDEX ix_typical_cases_published ON typical_cases (published_at, id);
