CREATE TABLE survey_answers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  response_id INTEGER NOT NULL,
  question_id INTEGER NOT NULL,
  choice INTEGER NOT NULL,
  CONSTRAINT uq_survey_answers_question UNIQUE (response_id, question_id),
  CONSTRAINT fk_survey_answers_response FOREIGN KEY (response_id) REFERENCES survey_responses (id),
  CONSTRAINT fk_survey_answers_question FOREIGN KEY (question_id) REFERENCES survey_questions (id)
);
CREATE INDEX ix_survey_answers_question ON survey_answers (question_id, choice);
