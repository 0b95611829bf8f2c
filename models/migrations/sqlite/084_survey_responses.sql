CREATE TABLE survey_responses (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  survey_id INTEGER NOT NULL,
  answered_on VARCHAR(10) NOT NULL,
  CONSTRAINT fk_survey_responses_survey FOREIGN KEY (survey_id) REFERENCES surveys (id)
);
CREATE INDEX ix_survey_responses_survey ON survey_responses (survey_id, answered_on);
