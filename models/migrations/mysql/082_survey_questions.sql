CREATE TABLE survey_questions (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  survey_id BIGINT UNSIGNED NOT NULL,
  position INT NOT NULL,
  text VARCHAR(200) NOT NULL,
  options TEXT NOT NULL,
  effect TINYINT(1) NOT NULL,
  positive INT NOT NULL,
  UNIQUE KEY uq_survey_questions_position (survey_id, position),
  CONSTRAINT fk_survey_questions_survey FOREIGN KEY (survey_id) REFERENCES surveys (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
