CREATE TABLE survey_questions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  survey_id INTEGER NOT NULL,
  position INTEGER NOT NULL,
  text VARCHAR(200) NOT NULL,
  options TEXT NOT NULL,
  effect BOOLEAN NOT NULL,
  positive INTEGER NOT NULL,
  CONSTRAINT uq_survey_questions_position UNIQUE (survey_id, position),
  CONSTRAINT fk_survey_questions_survey FOREIGN KEY (survey_id) REFERENCES surveys (id)
);
