CREATE TABLE case_stats (
  case_id INTEGER NOT NULL PRIMARY KEY,
  facts TEXT NOT NULL,
  CONSTRAINT fk_case_stats_case FOREIGN KEY (case_id) REFERENCES cases (id)
);
