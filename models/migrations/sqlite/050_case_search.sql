CREATE TABLE case_search (
  case_id INTEGER NOT NULL PRIMARY KEY,
  terms TEXT NOT NULL,
  CONSTRAINT fk_case_search_case FOREIGN KEY (case_id) REFERENCES cases (id)
);
