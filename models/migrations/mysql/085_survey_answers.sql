CREATE TABLE survey_answers (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  response_id BIGINT UNSIGNED NOT NULL,
  question_id BIGINT UNSIGNED NOT NULL,
  choice INT NOT NULL,
  UNIQUE KEY uq_survey_answers_question (response_id, question_id),
  KEY ix_survey_answers_question (question_id, choice),
  CONSTRAINT fk_survey_answers_response FOREIGN KEY (response_id) REFERENCES survey_responses (id),
  CONSTRAINT fk_survey_answers_question FOREIGN KEY (question_id) REFERENCES survey_questions (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
