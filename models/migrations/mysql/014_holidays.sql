CREATE TABLE holidays (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  day VARCHAR(10) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  name VARCHAR(64) NOT NULL,
  UNIQUE KEY uq_holidays_day (day),
  CONSTRAINT ck_holidays_kind CHECK (kind IN ('off','workday'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
