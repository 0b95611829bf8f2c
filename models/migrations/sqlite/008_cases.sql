CREATE TABLE cases (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tip_id INTEGER NOT NULL,
  category_id INTEGER NOT NULL,
  township_id INTEGER NULL,
  stage VARCHAR(16) NOT NULL,
  stage_entered_at DATETIME NOT NULL,
  due_at DATETIME NULL,
  due_version INT NOT NULL DEFAULT 0,
  timer_step INT NOT NULL DEFAULT 0,
  next_timer_at DATETIME NULL,
  finding VARCHAR(16) NOT NULL DEFAULT '',
  transfer_to_discipline BOOLEAN NOT NULL DEFAULT FALSE,
  merged_into_id INTEGER NULL,
  reject_reason TEXT NOT NULL,
  reopen_count INT NOT NULL DEFAULT 0,
  replied_at DATETIME NULL,
  rating VARCHAR(24) NOT NULL DEFAULT '',
  rated_at DATETIME NULL,
  suggestions TEXT NOT NULL,
  verify_team TEXT NOT NULL,
  closed_at DATETIME NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL,
  CONSTRAINT uq_cases_tip UNIQUE (tip_id),
  CONSTRAINT fk_cases_tip FOREIGN KEY (tip_id) REFERENCES tips (id),
  CONSTRAINT fk_cases_category FOREIGN KEY (category_id) REFERENCES categories (id),
  CONSTRAINT fk_cases_township FOREIGN KEY (township_id) REFERENCES units (id),
  CONSTRAINT fk_cases_merged FOREIGN KEY (merged_into_id) REFERENCES cases (id),
  CONSTRAINT ck_cases_stage CHECK (stage IN ('collect','assign','verify','rectify','feedback','closed'))
);
CREATE INDEX ix_cases_stage_due ON cases (stage, due_at);
CREATE INDEX ix_cases_created ON cases (created_at);
CREATE INDEX ix_cases_next_timer ON cases (next_timer_at);
