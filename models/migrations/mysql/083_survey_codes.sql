CREATE TABLE survey_codes (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  survey_id BIGINT UNSIGNED NOT NULL,
  code_hash CHAR(64) NOT NULL,
  used TINYINT(1) NOT NULL,
  UNIQUE KEY uq_survey_codes_hash (code_hash),
  KEY ix_survey_codes_survey (survey_id, used),
  CONSTRAINT fk_survey_codes_survey FOREIGN KEY (survey_id) REFERENCES surveys (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
