CREATE TABLE survey_codes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  survey_id INTEGER NOT NULL,
  code_hash CHAR(64) NOT NULL,
  used BOOLEAN NOT NULL,
  CONSTRAINT uq_survey_codes_hash UNIQUE (code_hash),
  CONSTRAINT fk_survey_codes_survey FOREIGN KEY (survey_id) REFERENCES surveys (id)
);
CREATE INDEX ix_survey_codes_survey ON survey_codes (survey_id, used);
