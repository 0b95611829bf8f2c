CREATE TABLE holidays (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  day VARCHAR(10) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  name VARCHAR(64) NOT NULL,
  CONSTRAINT uq_holidays_day UNIQUE (day),
  CONSTRAINT ck_holidays_kind CHECK (kind IN ('off','workday'))
);
